//! The member index, built once from the directory: an inverted index from
//! vocabulary concepts to the members whose skills or bio name them, and a
//! lexical (BM25) index over profile tokens. Scoring a request touches only
//! the postings of its own concepts and tokens, not every member.

use std::collections::HashMap;

use super::former::is_former;
use super::terms::{self, Via};
use super::text::{normalize, tokens};
use super::vocabulary::{Kind, Target, Vocabulary};
use crate::domain::Member;

/// A skill the member lists says more than a word in the bio.
pub const SKILLS_STRENGTH: f32 = 1.0;
pub const BIO_STRENGTH: f32 = 0.6;
/// A sports pharmacist is a pharmacist, almost as well as one who lists it.
const BROADER_FACTOR: f32 = 0.9;
/// Lexical weight of a skills token relative to a bio token.
const SKILLS_TOKEN_BOOST: f32 = 2.0;

/// Where in the profile a concept was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Index into `Member::skills`.
    Skill(u16),
    Bio,
}

#[derive(Debug, Clone, Copy)]
pub struct Posting {
    pub member: u32,
    pub strength: f32,
    pub field: Field,
}

/// A member holding an open-vocabulary term under some key.
#[derive(Debug, Clone, Copy)]
pub struct TermPosting {
    pub member: u32,
    pub field: Field,
    pub via: Via,
    /// The member's word is Latin script (sound keys match only across scripts).
    pub latin: bool,
    /// The word is context in the member's own text ("catering for
    /// parties": parties), not what they do.
    pub context: bool,
    /// The word only qualifies another in the member's skill item (ピアノ
    /// of ピアノ調律, bicycle of "bicycle mechanic"): not what they do.
    pub modifier: bool,
    /// The last word of the member's phrase when it is another word, generic
    /// or not (修理 of ピアノ修理): index into `Index::tails`, or `NO_TAIL`.
    pub tail: u32,
}

pub const NO_TAIL: u32 = u32::MAX;

/// The last word of a member's phrase: its match keys and kinds.
#[derive(Debug, Clone)]
pub struct Tail {
    pub keys: Vec<String>,
    /// The kinds of service the curated vocabulary files it under (教室:
    /// teaching), when it is a generic word.
    pub kinds: Vec<u32>,
}

impl TermPosting {
    /// Skills before bio, heads before modifiers, the word itself before a
    /// translation.
    fn rank(&self) -> (bool, u8, bool, Via) {
        (
            self.context,
            u8::from(self.field == Field::Bio),
            self.modifier,
            self.via,
        )
    }
}

/// What the matcher needs to know about a member besides the postings.
#[derive(Debug, Clone)]
pub struct Entry {
    pub places: Vec<u32>,
    pub areas: Vec<String>,
    pub online: bool,
    pub languages: Vec<String>,
    /// Languages the member names in their skills or bio (for language pairs).
    pub named_languages: Vec<String>,
    pub lexical_len: f32,
    /// What the bio says the member does not do (see [`declined_things`]).
    pub declined: Vec<Declined>,
}

#[derive(Debug, Clone)]
pub struct Index {
    pub vocab: Vocabulary,
    pub members: Vec<Member>,
    /// Whether each member is active, by member index (read for every
    /// posting a request walks; the `Member` records are large and scattered).
    pub active: Vec<bool>,
    pub entries: Vec<Entry>,
    pub concepts: HashMap<u32, Vec<Posting>>,
    pub lexicon: HashMap<String, Vec<(u32, f32)>>,
    /// Open-vocabulary keys (see `terms`) to the members whose words have them.
    /// Every posting list here and in `concepts` is sorted by member (members
    /// are added in order), so the ranker can look members up in it.
    pub terms: HashMap<String, Vec<TermPosting>>,
    /// The match keys of the phrase tails postings name (see `TermPosting::tail`).
    pub tails: Vec<Tail>,
    tail_ids: HashMap<String, u32>,
    pub avg_lexical_len: f32,
}

impl Index {
    pub fn build(mut vocab: Vocabulary, members: Vec<Member>) -> Self {
        // A member's own skill items become matchable phrases, so a request
        // quoting a trade the vocabulary lacks still finds its owner.
        // (adding a phrase again changes nothing, so each is offered once)
        let mut offered = std::collections::HashSet::new();
        for m in &members {
            for skill in &m.skills {
                let phrase = normalize(skill);
                if !offered.contains(&phrase) {
                    vocab.add_phrase(&phrase);
                    offered.insert(phrase);
                }
            }
        }
        drop(offered);
        let mut index = Self {
            vocab,
            members: Vec::new(),
            active: members.iter().map(Member::is_active).collect(),
            entries: Vec::with_capacity(members.len()),
            concepts: HashMap::new(),
            lexicon: HashMap::new(),
            terms: HashMap::new(),
            tails: Vec::new(),
            tail_ids: HashMap::new(),
            avg_lexical_len: 0.0,
        };
        let mut memo = Memo::default();
        for (i, m) in members.iter().enumerate() {
            index.add_member(i as u32, m, &mut memo);
        }
        let total: f32 = index.entries.iter().map(|e| e.lexical_len).sum();
        index.avg_lexical_len = (total / members.len().max(1) as f32).max(1.0);
        index.members = members;
        index
    }

    fn add_member(&mut self, id: u32, member: &Member, memo: &mut Memo) {
        let mut hits = Hits::default();
        for (i, skill) in member.skills.iter().enumerate() {
            let field = Field::Skill(i.min(u16::MAX as usize) as u16);
            let strength = SKILLS_STRENGTH * former_factor(skill);
            self.collect(skill, field, strength, id, &mut hits, memo);
        }
        for clause in affirmed_clauses(&member.bio) {
            let strength = BIO_STRENGTH * former_factor(clause);
            self.collect(clause, Field::Bio, strength, id, &mut hits, memo);
        }
        let Hits {
            found,
            mut places,
            mut online,
        } = hits;
        // The region field is the member's own statement of where they work.
        for &target in self.scan_targets(&member.region, memo).iter() {
            if let Target::Place(p) = target {
                if self.vocab.places[p as usize].area == "online" {
                    online = true;
                } else if !places.contains(&p) {
                    places.push(p);
                }
            }
        }
        for (concept, posting) in found {
            self.concepts.entry(concept).or_default().push(posting);
        }
        let areas = places
            .iter()
            .map(|&p| self.vocab.places[p as usize].area.clone())
            .collect();
        let lexical_len = self.add_tokens(id, member);
        self.add_terms(id, member, memo);
        let named_languages = super::request::languages_named(&format!(
            "{}\n{}",
            member.skills.join("\n"),
            affirmed_clauses(&member.bio).collect::<Vec<_>>().join("\n")
        ));
        self.entries.push(Entry {
            places,
            areas,
            online,
            languages: member
                .languages
                .iter()
                .map(|l| l.as_str().to_string())
                .collect(),
            named_languages,
            lexical_len,
            declined: declined_things(&member.bio),
        });
    }

    fn collect(
        &self,
        text: &str,
        field: Field,
        strength: f32,
        member: u32,
        hits: &mut Hits,
        memo: &mut Memo,
    ) {
        let Hits {
            found,
            places,
            online,
        } = hits;
        let mut keep = |concept: u32, strength: f32| {
            let slot = found.entry(concept).or_insert(Posting {
                member,
                strength: 0.0,
                field,
            });
            if strength > slot.strength {
                *slot = Posting {
                    member,
                    strength,
                    field,
                };
            }
        };
        for &target in self.scan_targets(text, memo).iter() {
            match target {
                Target::Concept(c) => {
                    keep(c, strength);
                    for &b in &self.vocab.concepts[c as usize].broader {
                        keep(b, strength * BROADER_FACTOR);
                    }
                }
                // Places in the bio ("sessions in Tokyo", "全国オンライン対応")
                // count as where the member works too.
                Target::Place(p) if self.vocab.places[p as usize].area == "online" => {
                    *online = true
                }
                Target::Place(p) if !places.contains(&p) => places.push(p),
                _ => {}
            }
        }
    }

    /// What the vocabulary finds in a text (worked out once per text).
    fn scan_targets(&self, text: &str, memo: &mut Memo) -> std::rc::Rc<[Target]> {
        if let Some(targets) = memo.scans.get(text) {
            return targets.clone();
        }
        let targets: std::rc::Rc<[Target]> = self
            .vocab
            .scan(text, false)
            .into_iter()
            .map(|h| h.target)
            .collect();
        memo.keep_scan(text, &targets);
        targets
    }

    /// Indexes every word of the member's skills and (affirmed) bio under
    /// its keys, one posting per member and key: the best field and route.
    fn add_terms(&mut self, id: u32, member: &Member, memo: &mut Memo) {
        let mut best: HashMap<String, TermPosting> = HashMap::new();
        let mut offer = |index: &mut Self, text: &str, field: Field| {
            for (key, p) in index.text_terms(text, field == Field::Bio, memo).iter() {
                let p = TermPosting {
                    member: id,
                    field,
                    ..*p
                };
                match best.get_mut(key) {
                    Some(slot) if p.rank() < slot.rank() => *slot = p,
                    Some(_) => {}
                    None => {
                        best.insert(key.clone(), p);
                    }
                }
            }
        };
        for (i, skill) in member.skills.iter().enumerate() {
            offer(self, skill, Field::Skill(i.min(u16::MAX as usize) as u16));
        }
        for clause in affirmed_clauses(&member.bio) {
            offer(self, clause, Field::Bio);
        }
        for (key, p) in best {
            self.terms.entry(key).or_default().push(p);
        }
    }

    /// The keys of every word of one skill item or bio clause, with the
    /// posting each would make (member and field filled in by the caller);
    /// the same text (a skill many members list) is worked out once.
    fn text_terms(&mut self, text: &str, bio: bool, memo: &mut Memo) -> TextTerms {
        // a former trade (元看護師) is context: it orders near-misses only
        let former = is_former(text);
        let norm = normalize(text);
        if let Some(found) = memo.terms.get(&(norm.clone(), bio, former)) {
            return found.clone();
        }
        let chars: Vec<char> = norm.chars().collect();
        let context = super::request::context_spans(&chars, false);
        let all = terms::terms(&norm, 0).0;
        // the head of a phrase is its last specific word
        let head_of = |phrase: u32| all.iter().rposition(|u| u.phrase == phrase && !u.generic);
        let mut out = Vec::new();
        for (i, t) in all.iter().enumerate() {
            let in_context = former || context.iter().any(|&(s, e)| t.start >= s && t.end <= e);
            let last = all.iter().rposition(|u| u.phrase == t.phrase);
            // in a bio only an activity qualifying another word, generic
            // or not, is marked ("singing workshops"): bio phrases run long
            let modifier = if bio {
                is_gerund(t) && last.is_some_and(|l| l != i)
            } else {
                head_of(t.phrase).is_some_and(|h| h != i)
            };
            let tail = match last {
                Some(l) if l != i => self.intern_tail(&all[l]),
                _ => NO_TAIL,
            };
            for (key, via) in t.keys.iter().cloned() {
                let p = TermPosting {
                    member: 0,
                    field: Field::Bio,
                    via,
                    latin: t.latin,
                    context: in_context,
                    modifier,
                    tail,
                };
                out.push((key, p));
            }
        }
        let out: TextTerms = out.into();
        memo.keep_terms((norm, bio, former), &out);
        out
    }

    /// The tail's id in `tails`, added on first sight.
    fn intern_tail(&mut self, t: &terms::Term) -> u32 {
        let keys: Vec<String> = t
            .keys
            .iter()
            .filter(|(_, via)| *via != Via::Sound)
            .map(|(k, _)| k.clone())
            .collect();
        let Some(first) = keys.first().cloned() else {
            return NO_TAIL;
        };
        let (tails, vocab) = (&mut self.tails, &self.vocab);
        *self.tail_ids.entry(first).or_insert_with(|| {
            tails.push(Tail {
                keys,
                kinds: service_kinds(vocab, &t.surface),
            });
            (tails.len() - 1) as u32
        })
    }

    fn add_tokens(&mut self, id: u32, member: &Member) -> f32 {
        let mut tf: HashMap<String, f32> = HashMap::new();
        for skill in &member.skills {
            for t in tokens(&normalize(skill)) {
                *tf.entry(t).or_default() += SKILLS_TOKEN_BOOST;
            }
        }
        for t in tokens(&normalize(&member.bio)) {
            *tf.entry(t).or_default() += 1.0;
        }
        let len = tf.values().sum();
        for (token, count) in tf {
            self.lexicon.entry(token).or_default().push((id, count));
        }
        len
    }
}

/// What a trade the member no longer practises (元看護師, "retired
/// paramedic") is worth next to a current one: below the abstain threshold,
/// so it can make a near-miss for the admins, never a candidate.
const FORMER_FACTOR: f32 = 0.35;

fn former_factor(text: &str) -> f32 {
    if is_former(text) { FORMER_FACTOR } else { 1.0 }
}

/// Words that turn a clause of a profile into what the member does not do
/// (「グループレッスンはお受けしていません」, "no longer taking weddings").
const NEGATIONS: &[&str] = &[
    "ません",
    "ていない",
    "でいない",
    "ではない",
    "じゃない",
    "しない",
    "できない",
    "不可",
    "お断り",
    "対象外",
    " not ",
    "n't ",
    " never ",
    " no ",
    " except ",
];

fn clauses(bio: &str) -> impl Iterator<Item = &str> {
    bio.split(['\n', '。', '！', '？', '!', '?', '、', ',', ';', '；', '．'])
        .flat_map(|s| s.split(". ").flat_map(|s| s.split(" but ")))
}

fn is_negated(clause: &str) -> bool {
    let lower = format!(" {} ", clause.to_lowercase());
    NEGATIONS.iter().any(|n| lower.contains(n))
}

/// The clauses of a bio, minus those that say what the member does not do.
pub fn affirmed_clauses(bio: &str) -> impl Iterator<Item = &str> {
    clauses(bio).filter(|c| !is_negated(c))
}

/// Words of a negated clause that only say "not", not what is declined.
const DECLINE_STOP: &[&str] = &[
    "don't",
    "doesn't",
    "won't",
    "not",
    "never",
    "any",
    "more",
    "anymore",
    "longer",
    "take",
    "taking",
    "accept",
    "accepting",
    "offer",
    "offering",
    "doing",
    "handle",
    "provide",
    "currently",
    "sorry",
    "unfortunately",
    "except",
    "also",
];

/// One thing a member's bio declines.
#[derive(Debug, Clone)]
pub struct Declined {
    /// The match keys of each of its words.
    pub words: Vec<Vec<String>>,
    /// For translation, the language declined as the target (日本語→英語).
    pub target: Option<String>,
}

/// What a bio says the member does not do (「グループレッスンはお受けして
/// いません」, "I don't do weddings"): per declined thing (the parts of a
/// negated clause joined by ・, "and", "or"), the match keys of each of its
/// words; generic words are left out, so a thing with none is dropped
/// unless it names a job (`DECLINED_JOBS`).
pub fn declined_things(bio: &str) -> Vec<Declined> {
    let mut out = Vec::new();
    for clause in clauses(bio).filter(|c| is_negated(c)) {
        let norm = normalize(clause);
        for part in norm
            .split(['・', '/'])
            .flat_map(|p| p.split(" and "))
            .flat_map(|p| p.split(" or "))
        {
            let (words, generic): (Vec<_>, Vec<_>) = terms::terms(part, 0)
                .0
                .into_iter()
                .filter(|t| !t.fragment && !DECLINE_STOP.contains(&t.surface.as_str()))
                .partition(|t| !t.generic);
            let words: Vec<Vec<String>> = if words.is_empty() {
                // a job declined alone still says what is turned down
                generic
                    .into_iter()
                    .filter(|t| DECLINED_JOBS.contains(&t.surface.as_str()))
                    .map(match_keys)
                    .collect()
            } else {
                words.into_iter().map(match_keys).collect()
            };
            if !words.is_empty() {
                let target = super::request::target_language(part);
                out.push(Declined { words, target });
            }
        }
    }
    out
}

/// The kinds of service the curated vocabulary files a word under: its
/// generic concepts (先生 and lessons: teaching). 方 or "person" has none.
pub fn service_kinds(vocab: &Vocabulary, text: &str) -> Vec<u32> {
    vocab
        .scan(text, false)
        .into_iter()
        .filter_map(|hit| match hit.target {
            Target::Concept(c) if vocab.concepts[c as usize].kind == Kind::Generic => Some(c),
            _ => None,
        })
        .collect()
}

/// The jobs done to a thing are generic words, but declining one alone
/// ("I don't do repairs", 「修理はしていません」) says which requests the
/// member turns down; other generic words alone ("not a company") do not.
const DECLINED_JOBS: &[&str] = &[
    "repair",
    "repairs",
    "repairing",
    "fixing",
    "maintenance",
    "installation",
    "install",
    "restoration",
    "replacement",
    "修理",
    "修繕",
    "補修",
    "交換",
    "設置",
    "メンテナンス",
    "施工",
    "工事",
    "張り替え",
];

/// A term's keys that meet by meaning (a sound-alike says nothing of what
/// is declined).
fn match_keys(t: terms::Term) -> Vec<String> {
    t.keys
        .into_iter()
        .filter(|(_, via)| *via != Via::Sound)
        .map(|(k, _)| k)
        .collect()
}

/// Work the index build does once per distinct text (the same skill item
/// in many profiles): what the vocabulary finds in it, and its terms. Kept
/// only while building, and only up to `MEMO_LIMIT` texts of each kind.
#[derive(Default)]
struct Memo {
    scans: HashMap<String, std::rc::Rc<[Target]>>,
    /// By normalised text, whether it is a bio clause, whether it is a former trade.
    terms: HashMap<(String, bool, bool), TextTerms>,
}

const MEMO_LIMIT: usize = 50_000;

/// A text's terms: each key with the posting it makes (see `Index::text_terms`).
type TextTerms = std::rc::Rc<[(String, TermPosting)]>;

impl Memo {
    fn keep_scan(&mut self, text: &str, targets: &std::rc::Rc<[Target]>) {
        if self.scans.len() < MEMO_LIMIT {
            self.scans.insert(text.to_string(), targets.clone());
        }
    }

    fn keep_terms(&mut self, key: (String, bool, bool), found: &TextTerms) {
        if self.terms.len() < MEMO_LIMIT {
            self.terms.insert(key, found.clone());
        }
    }
}

/// What [`Index::collect`] finds in a member's fields: concept
/// postings, places and whether they work online.
#[derive(Default)]
struct Hits {
    found: HashMap<u32, Posting>,
    places: Vec<u32>,
    online: bool,
}

/// An English -ing word (singing, cooking): an activity, not a person.
fn is_gerund(t: &terms::Term) -> bool {
    t.latin && t.surface.len() > 5 && t.surface.ends_with("ing")
}
