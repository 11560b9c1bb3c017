//! The bilingual skill vocabulary (`data/skills.toml`, embedded in the
//! binary): canonical concepts with their Japanese and English names,
//! places, language cues and the words that mark a sentence as "what is
//! wanted". Text is matched against it with a character trie, so Japanese
//! needs no word boundaries and English terms respect them.

use std::collections::HashMap;

use serde::Deserialize;

use super::MatchError;
use super::lexicon;
use super::text::{bounded_levenshtein, is_word, normalize};

/// The vocabulary shipped with circle-relay.
pub const DEFAULT_VOCABULARY: &str = include_str!("../../data/skills.toml");

/// How much a concept says about who is wanted (see `Kind::weight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Licence,
    Role,
    Skill,
    Topic,
    Generic,
    /// A member's own skill item, added from the directory at index time.
    #[serde(skip)]
    Phrase,
}

impl Kind {
    /// A named licence or trade pins down the person; a topic narrows it; a
    /// generic word ("lecturer", "研修") says little on its own.
    pub fn weight(self) -> f32 {
        match self {
            Self::Licence | Self::Role => 3.0,
            Self::Skill => 2.0,
            Self::Phrase => 1.8,
            Self::Topic => 1.5,
            Self::Generic => 0.5,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConcept {
    id: String,
    kind: Kind,
    #[serde(default)]
    ja: Vec<String>,
    #[serde(default)]
    en: Vec<String>,
    #[serde(default)]
    abbr: Vec<String>,
    #[serde(default)]
    broader: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlace {
    id: String,
    area: String,
    names: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLanguage {
    code: String,
    cues: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCues {
    #[serde(default)]
    need: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVocabulary {
    #[serde(default)]
    cues: RawCues,
    #[serde(default)]
    concept: Vec<RawConcept>,
    #[serde(default)]
    place: Vec<RawPlace>,
    #[serde(default)]
    language: Vec<RawLanguage>,
}

#[derive(Debug, Clone)]
pub struct Concept {
    pub id: String,
    pub kind: Kind,
    pub broader: Vec<u32>,
    pub related: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct Place {
    pub id: String,
    pub area: String,
}

/// What a matched stretch of text stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Concept(u32),
    Place(u32),
    /// A language the request asks for (index into `Vocabulary::languages`).
    Language(u32),
    /// A word that marks the sentence as stating the need.
    Need,
}

/// One match: char offsets into the normalised text and what it means.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub target: Target,
    pub surface: String,
}

#[derive(Debug, Clone, Default)]
struct Trie {
    edges: HashMap<(u32, char), u32>,
    terminals: Vec<Vec<Target>>,
}

impl Trie {
    fn insert(&mut self, term: &str, target: Target) {
        if self.terminals.is_empty() {
            self.terminals.push(Vec::new());
        }
        let mut node = 0u32;
        for c in term.chars() {
            let next = self.terminals.len() as u32;
            node = *self.edges.entry((node, c)).or_insert(next);
            if node == next {
                self.terminals.push(Vec::new());
            }
        }
        let slot = &mut self.terminals[node as usize];
        if !slot.contains(&target) {
            slot.push(target);
        }
    }
}

#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub concepts: Vec<Concept>,
    pub places: Vec<Place>,
    pub languages: Vec<String>,
    trie: Trie,
    /// Case-sensitive abbreviations (`RN`, `PT`, `IT`) matched as whole words.
    abbreviations: HashMap<String, u32>,
    /// Long single English words, for one-typo matching in requests.
    fuzzy: Vec<(Vec<char>, u32)>,
    phrases: HashMap<String, u32>,
}

impl Vocabulary {
    pub fn embedded() -> Result<Self, MatchError> {
        Self::parse(DEFAULT_VOCABULARY)
    }

    pub fn parse(source: &str) -> Result<Self, MatchError> {
        let raw: RawVocabulary =
            toml::from_str(source).map_err(|e| MatchError::Vocabulary(e.to_string()))?;
        Self::build(raw)
    }

    /// The embedded vocabulary with an admin's file (`[matching] vocabulary`,
    /// same format) on top: its concepts are added, a concept with a known
    /// id gets the file's names and links added to it. Errors name the file
    /// and, from the TOML parser, the line and key.
    pub fn with_extension(path: &std::path::Path) -> Result<Self, MatchError> {
        let file = |message: String| MatchError::VocabularyFile {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file(e.to_string()))?;
        let extra: RawVocabulary = toml::from_str(&text).map_err(|e| file(e.to_string()))?;
        let mut raw: RawVocabulary = toml::from_str(DEFAULT_VOCABULARY)
            .map_err(|e| MatchError::Vocabulary(e.to_string()))?;
        raw.cues.need.extend(extra.cues.need);
        for c in extra.concept {
            match raw.concept.iter_mut().find(|k| k.id == c.id) {
                Some(known) => {
                    known.ja.extend(c.ja);
                    known.en.extend(c.en);
                    known.abbr.extend(c.abbr);
                    known.broader.extend(c.broader);
                    known.related.extend(c.related);
                }
                None => raw.concept.push(c),
            }
        }
        raw.place.extend(extra.place);
        raw.language.extend(extra.language);
        Self::build(raw).map_err(|e| file(e.to_string()))
    }

    /// The embedded vocabulary, or with the file `path` on top when given.
    pub fn load(path: Option<&std::path::Path>) -> Result<Self, MatchError> {
        match path {
            Some(p) => Self::with_extension(p),
            None => Self::embedded(),
        }
    }

    fn build(raw: RawVocabulary) -> Result<Self, MatchError> {
        let mut vocab = Self {
            concepts: Vec::new(),
            places: Vec::new(),
            languages: Vec::new(),
            trie: Trie::default(),
            abbreviations: HashMap::new(),
            fuzzy: Vec::new(),
            phrases: HashMap::new(),
        };
        vocab.add_concepts(&raw.concept)?;
        for (i, p) in raw.place.iter().enumerate() {
            for name in &p.names {
                vocab.add_term(name, Target::Place(i as u32));
            }
            vocab.places.push(Place {
                id: p.id.clone(),
                area: p.area.clone(),
            });
        }
        for (i, l) in raw.language.iter().enumerate() {
            for cue in &l.cues {
                vocab.add_term(cue, Target::Language(i as u32));
            }
            vocab.languages.push(l.code.to_ascii_lowercase());
        }
        for cue in &raw.cues.need {
            vocab.add_term(cue, Target::Need);
        }
        Ok(vocab)
    }

    /// The concepts with their names, abbreviations and links; "related" is
    /// made symmetric, whichever side declared it.
    fn add_concepts(&mut self, raw: &[RawConcept]) -> Result<(), MatchError> {
        let ids: HashMap<&str, u32> = raw
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i as u32))
            .collect();
        if ids.len() != raw.len() {
            return Err(MatchError::Vocabulary(
                "concept: the same id is used twice".into(),
            ));
        }
        let lookup = |from: &str, list: &[String]| -> Result<Vec<u32>, MatchError> {
            list.iter()
                .map(|id| {
                    ids.get(id.as_str()).copied().ok_or_else(|| {
                        MatchError::Vocabulary(format!(
                            "concept {from:?}: broader/related names an unknown concept {id:?}"
                        ))
                    })
                })
                .collect()
        };
        for (i, c) in raw.iter().enumerate() {
            let target = Target::Concept(i as u32);
            for name in c.ja.iter().chain(&c.en) {
                self.add_term(name, target);
            }
            for a in &c.abbr {
                self.abbreviations.insert(a.clone(), i as u32);
            }
            self.concepts.push(Concept {
                id: c.id.clone(),
                kind: c.kind,
                broader: lookup(&c.id, &c.broader)?,
                related: lookup(&c.id, &c.related)?,
            });
        }
        for i in 0..self.concepts.len() {
            for r in self.concepts[i].related.clone() {
                let back = &mut self.concepts[r as usize].related;
                if !back.contains(&(i as u32)) {
                    back.push(i as u32);
                }
            }
        }
        Ok(())
    }

    fn add_term(&mut self, term: &str, target: Target) {
        let norm = normalize(term.trim());
        if norm.is_empty() {
            return;
        }
        if let Target::Concept(id) = target {
            let chars: Vec<char> = norm.chars().collect();
            if chars.len() >= 7 && chars.iter().all(|c| c.is_ascii_alphabetic()) {
                self.fuzzy.push((chars, id));
            }
        }
        self.trie.insert(&norm, target);
    }

    /// Adds a member's own skill item as a matchable phrase, unless the
    /// vocabulary already knows it. Returns its concept id.
    pub fn add_phrase(&mut self, normalized: &str) -> Option<u32> {
        let chars = normalized.chars().count();
        let latin = normalized
            .chars()
            .all(|c| c.is_ascii() || !c.is_alphanumeric());
        if (latin && chars < 4) || (!latin && chars < 3) {
            return None;
        }
        if let Some(&id) = self.phrases.get(normalized) {
            return Some(id);
        }
        let known = self
            .scan(normalized, false)
            .iter()
            .any(|h| h.start == 0 && h.end == chars);
        if known {
            return None;
        }
        let id = self.concepts.len() as u32;
        self.concepts.push(Concept {
            id: format!("phrase:{normalized}"),
            kind: Kind::Phrase,
            broader: Vec::new(),
            related: Vec::new(),
        });
        self.trie.insert(normalized, Target::Concept(id));
        self.phrases.insert(normalized.to_string(), id);
        Some(id)
    }

    /// Every vocabulary term found in `original` (NFKC'd and lowercased
    /// here), minus terms inside a longer vocabulary term (社会保険労務士
    /// is not also 社会保険). `fuzzy` also accepts one or two typos in long
    /// English words, for requests.
    pub fn scan(&self, original: &str, fuzzy: bool) -> Vec<Hit> {
        let text = normalize(original);
        let chars: Vec<char> = text.chars().collect();
        let mut hits = self.trie_hits(&chars);
        self.abbreviation_hits(original, &mut hits);
        if fuzzy {
            self.fuzzy_hits(&chars, &mut hits);
        }
        self.drop_contained(hits)
    }

    fn trie_hits(&self, chars: &[char]) -> Vec<Hit> {
        let mut hits = Vec::new();
        if self.trie.terminals.is_empty() {
            return hits;
        }
        for start in 0..chars.len() {
            if is_word(chars[start]) && start > 0 && is_word(chars[start - 1]) {
                continue; // English terms start at a word boundary
            }
            let mut node = 0u32;
            for end in start + 1..=chars.len() {
                match self.trie.edges.get(&(node, chars[end - 1])) {
                    Some(&next) => node = next,
                    None => break,
                }
                let targets = &self.trie.terminals[node as usize];
                if targets.is_empty() {
                    continue;
                }
                if inside_other_word(chars, start, end) {
                    continue;
                }
                if let Some(stop) = word_end(chars, end) {
                    for &target in targets {
                        hits.push(Hit {
                            start,
                            end: stop,
                            target,
                            surface: chars[start..end].iter().collect(),
                        });
                    }
                }
            }
        }
        hits
    }

    fn abbreviation_hits(&self, original: &str, hits: &mut Vec<Hit>) {
        if self.abbreviations.is_empty() {
            return;
        }
        // Offsets are approximate here (NFKC may change lengths); abbreviations
        // only need to be found, not to suppress other terms.
        let nfkc: String = unicode_normalization::UnicodeNormalization::nfkc(original).collect();
        for word in nfkc.split(|c: char| !is_word(c)).filter(|w| !w.is_empty()) {
            if let Some(&id) = self.abbreviations.get(word) {
                hits.push(Hit {
                    start: usize::MAX,
                    end: usize::MAX,
                    target: Target::Concept(id),
                    surface: word.to_string(),
                });
            }
        }
    }

    fn fuzzy_hits(&self, chars: &[char], hits: &mut Vec<Hit>) {
        let mut i = 0;
        while i < chars.len() {
            if !chars[i].is_ascii_alphabetic() {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            let word = &chars[start..i];
            if word.len() < 7 || hits.iter().any(|h| h.start <= start && h.end >= i) {
                continue;
            }
            // Longer words tolerate two slips ("photografer"), shorter ones one.
            let max = if word.len() >= 9 { 2 } else { 1 };
            // but one letter swapped for another in a shorter word is more
            // often another word than a slip ("shaping" is not "shaving")
            let best = self
                .fuzzy
                .iter()
                .filter(|(term, _)| max > 1 || term.len() != word.len())
                .map(|(term, id)| (bounded_levenshtein(word, term, max), *id))
                .filter(|(d, _)| *d <= max)
                .min_by_key(|(d, _)| *d);
            if let Some((_, id)) = best {
                hits.push(Hit {
                    start,
                    end: i,
                    target: Target::Concept(id),
                    surface: word.iter().collect(),
                });
            }
        }
    }

    fn drop_contained(&self, hits: Vec<Hit>) -> Vec<Hit> {
        let suppresses = |outer: &Hit, inner: &Hit| {
            outer.start != usize::MAX
                && outer.start <= inner.start
                && outer.end >= inner.end
                && outer.end - outer.start > inner.end - inner.start
                && !matches!(outer.target, Target::Concept(id) if self.concepts[id as usize].kind == Kind::Phrase)
                && !matches!(outer.target, Target::Need)
        };
        hits.iter()
            .filter(|h| !hits.iter().any(|o| suppresses(o, h)))
            .cloned()
            .collect()
    }
}

/// A Japanese term that runs on into a longer lexicon word meaning
/// something else (歯科医 in 歯科医院, a dental clinic) is not that term;
/// one whose longer word shares a gloss word stays (看護師 in 看護師長).
fn inside_other_word(chars: &[char], start: usize, end: usize) -> bool {
    let kanji = |c: char| super::text::is_cjk(c) && !('\u{3041}'..='\u{309F}').contains(&c);
    if end >= chars.len() || !kanji(chars[end - 1]) || !kanji(chars[end]) {
        return false;
    }
    let short: String = chars[start..end].iter().collect();
    let Some(own) = lexicon::lookup(&short) else {
        return false;
    };
    let words = |e: &lexicon::Entry| -> Vec<String> {
        e.glosses()
            .flat_map(|g| g.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| w.len() >= 3)
            .map(str::to_lowercase)
            .collect()
    };
    let own_words = words(&own);
    (end + 1..=chars.len().min(end + 3)).rev().any(|j| {
        if !chars[end..j].iter().all(|&c| kanji(c)) {
            return false;
        }
        let long: String = chars[start..j].iter().collect();
        lexicon::lookup(&long).is_some_and(|e| !words(&e).iter().any(|w| own_words.contains(w)))
    })
}

/// Where a term ending at `end` really ends, if that is a valid end: CJK
/// terms may end anywhere; an English term must end at a word boundary,
/// allowing a plural `s`/`es` ("nurses").
fn word_end(chars: &[char], end: usize) -> Option<usize> {
    let last = chars[end - 1];
    if !is_word(last) {
        return Some(end);
    }
    let boundary = |i: usize| i >= chars.len() || !is_word(chars[i]);
    if boundary(end) {
        return Some(end);
    }
    if chars[end] == 's' && boundary(end + 1) {
        return Some(end + 1);
    }
    if chars[end] == 'e' && chars.get(end + 1) == Some(&'s') && boundary(end + 2) {
        return Some(end + 2);
    }
    None
}
