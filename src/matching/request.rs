//! Understanding a request: which concepts it asks for (weighted by what
//! kind of word names them and by whether they sit in the subject or a
//! sentence that states the need), where, in which language, plus lexical
//! tokens for tie-breaking.

use super::negation::negated_spans;
use super::terms::{self, Term};
use super::text::{is_word, normalize, tokens};
use super::vocabulary::{Hit, Kind, Target, Vocabulary};

/// Background mentions ("our zeirishi does the filing, but we need a
/// bookkeeper") count half as much as the sentence that states the need.
const BACKGROUND_FACTOR: f32 = 0.5;

#[derive(Debug, Clone, PartialEq)]
pub struct QueryConcept {
    pub concept: u32,
    pub weight: f32,
    /// The request's own words, for reasons.
    pub surface: String,
    pub generic: bool,
    /// Named in the subject or a sentence stating the need.
    pub need: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub concepts: Vec<QueryConcept>,
    /// Places named (index into `Vocabulary::places`), online excluded.
    pub places: Vec<u32>,
    /// The request says online or remote is fine.
    pub online_ok: bool,
    /// Language codes asked for; any one of them satisfies.
    pub languages: Vec<String>,
    pub tokens: Vec<String>,
    /// Open-vocabulary terms of the request, in order.
    pub terms: Vec<QueryTerm>,
    /// The request names alternatives ("A, or B also fine", 「AまたはB」).
    pub alternatives: bool,
    /// The request asks for translation or interpretation.
    pub translation: bool,
    /// Languages named where the need is stated: for translation, a hard pair.
    pub pair: Vec<String>,
    /// The language asked to translate into, when the request says.
    pub target: Option<String>,
}

/// A request word with its role.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryTerm {
    pub term: Term,
    /// In the subject or a sentence that asks.
    pub need: bool,
    /// Context, not what is wanted: "for our shop", "we already have a photographer".
    pub background: bool,
    /// Inside a term the curated vocabulary knows (it speaks for this word).
    pub covered: bool,
    /// The curated concept it is part of, if any.
    pub concept: Option<u32>,
    /// In the phrase the asking words point at (「Xの方を探しています」,
    /// "looking for X"), not in a clause that only describes it.
    pub primary: bool,
    /// Which segment (0 the subject, then the body's sentences) it is in.
    pub segment: u32,
}

impl QueryTerm {
    /// Whether a member's own word for this term can make them a candidate.
    pub fn opens(&self) -> bool {
        self.need
            && self.primary
            && !self.background
            && !self.covered
            && !self.term.generic
            && !self.is_fragment()
    }

    /// The stem of an inflected word (直 of 直して): too ambiguous to name
    /// a trade on its own.
    pub fn is_fragment(&self) -> bool {
        self.term.fragment
    }
}

impl Query {
    /// The weight of the strongest specific (non-generic) concept: the unit
    /// in which a member's evidence is measured for abstaining.
    pub fn max_specific_weight(&self) -> f32 {
        self.concepts
            .iter()
            .filter(|c| !c.generic)
            .map(|c| c.weight)
            .fold(0.0, f32::max)
    }
}

/// Splits text into sentences (lines and 。！？.!? ends).
fn sentences(text: &str) -> Vec<&str> {
    text.split(['\n', '。', '！', '？', '!', '?'])
        .flat_map(|s| s.split(". "))
        .flat_map(clauses)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Main clauses joined in one sentence ("We have a brochure, and we need a
/// translator"): what the requester has and what they ask are judged apart.
fn clauses(sentence: &str) -> Vec<&str> {
    const JOINS: &[&str] = &[", and ", ", but ", ", so "];
    const SUBJECTS: &[&str] = &[
        "we ", "i ", "we'd ", "i'd ", "we’d ", "i’d ", "we're ", "i'm ",
    ];
    let lower = sentence.to_ascii_lowercase();
    let mut cuts: Vec<usize> = JOINS
        .iter()
        .flat_map(|j| lower.match_indices(j).map(move |(b, _)| (b, b + j.len())))
        .filter(|&(_, rest)| SUBJECTS.iter().any(|w| lower[rest..].starts_with(w)))
        .map(|(b, _)| b + 1)
        .chain(lower.match_indices("; ").map(|(b, _)| b + 1))
        .collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for cut in cuts {
        out.push(&sentence[from..cut]);
        from = cut;
    }
    out.push(&sentence[from..]);
    out
}

/// Closing lines after which only the sender's name and address follow.
const CLOSINGS: &[&str] = &[
    "thanks",
    "thank you",
    "many thanks",
    "best",
    "regards",
    "kind regards",
    "best regards",
    "cheers",
    "sincerely",
    "yours",
    "merci",
    "よろしくお願い",
    "宜しくお願い",
    "以上",
    "敬具",
];

/// The body up to its closing line: the name under "Thanks," (a Peter, a
/// 三浦) is the sender, not a word of the request.
fn without_signature(body: &str) -> &str {
    let mut offset = 0;
    let mut cut = signed_name(body).unwrap_or(body.len());
    for line in body.split_inclusive('\n') {
        let t = normalize(line.trim());
        let t = t.trim_end_matches([',', '.', '!', '。', '、', ' ']);
        if t.chars().count() <= 24 && CLOSINGS.iter().any(|c| t.starts_with(c)) {
            cut = offset + line.len();
        }
        offset += line.len();
    }
    // a signature is a few short lines; more after a closing word is the text
    let tail: Vec<&str> = body[cut..]
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if tail.len() > 4 || tail.iter().any(|l| l.chars().count() > 40) {
        return body;
    }
    &body[..cut]
}

/// Where a last line that is only a name (one to three words after a
/// blank line, no sentence in it: "Peter", 「松本」) starts.
fn signed_name(body: &str) -> Option<usize> {
    let trimmed = body.trim_end();
    let start = trimmed.rfind('\n')? + 1;
    let last = trimmed[start..].trim();
    let before = trimmed[..start].trim_end_matches([' ', '\t', '\r']);
    let blank_before = before.ends_with("\n\n") || before.ends_with("\n\r\n");
    let words = last.split_whitespace().count();
    let sentence = last.chars().any(|c| ".!?:;,。、！？".contains(c));
    // a name: capitalised words ("Hiroshi Mori"), or a few kanji and katakana
    let name = if last.is_ascii() {
        last.split_whitespace()
            .all(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
    } else {
        last.chars().count() <= 8 && !last.chars().any(|c| ('\u{3041}'..='\u{309F}').contains(&c))
    };
    (blank_before && name && words <= 3 && last.chars().count() <= 24 && !sentence).then_some(start)
}

/// Mail clients wrap long lines: a sentence that runs on to the next line
/// ("We are looking for a" / "machine learning engineer") is one sentence.
/// A line runs on when it does not end a sentence and the next line goes on
/// in lower case, or when it ends in a Japanese particle or a comma (、).
fn join_wrapped_lines(body: &str) -> String {
    const RUNS_ON: &[char] = &[
        'を', 'に', 'が', 'は', 'で', 'と', 'の', 'や', 'も', 'へ', '、', '，',
    ];
    let mut out = String::with_capacity(body.len());
    let mut lines = body.lines().map(str::trim_end).peekable();
    while let Some(line) = lines.next() {
        out.push_str(line);
        let Some(next) = lines.peek() else { break };
        let last = line.chars().last();
        let ends = last.is_none_or(|c| ".!?:;。！？".contains(c));
        let lower_next = next
            .trim_start()
            .starts_with(|c: char| c.is_ascii_lowercase());
        let particle = last.is_some_and(|c| RUNS_ON.contains(&c));
        let latin_end = last.is_some_and(|c| c.is_ascii_alphanumeric() || c == ',');
        if ends || next.trim().is_empty() {
            out.push('\n');
        } else if particle {
            // Japanese runs on without a space
        } else if latin_end && lower_next {
            out.push(' ');
        } else {
            out.push('\n');
        }
    }
    out
}

/// Sentences that describe what the requester already has or brings.
const BACKGROUND_CUES: &[&str] = &[
    "already have",
    "already has",
    "we have a",
    "we have an",
    "our own",
    "we will bring",
    "we'll bring",
    "we will also bring",
    "i have a",
    "既に",
    "すでに",
    "自前",
    "こちらで用意",
    "手配済み",
    "おります。",
    "いつもお世話",
];
/// Words that offer alternatives in what is asked, and on which side of
/// them the alternative things stand: an alternative needs an asked thing
/// (a trade word or a curated concept) on each such side, so 「東京か、郵送で」
/// (a place or the post) and "Could you...? or..." are not alternatives.
const ALTERNATIVE_CUES: &[(&str, Sides)] = &[
    (" or ", Sides::Both),
    ("alternatively", Sides::After),
    ("also fine", Sides::Before),
    ("also welcome", Sides::Before),
    ("also ok", Sides::Before),
    ("または", Sides::Both),
    ("もしくは", Sides::Both),
    ("あるいは", Sides::Both),
    ("の方でも", Sides::Before),
    ("でも大丈夫", Sides::Before),
    ("でも構", Sides::Before),
    ("でも結構", Sides::Before),
    ("でも可", Sides::Before),
    ("でも歓迎", Sides::Before),
    ("でもいい", Sides::Before),
    ("か、", Sides::Both),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sides {
    Before,
    After,
    Both,
}

/// Sentences that add an alternative are part of the need even without a cue.
const ALTERNATIVE_NEEDS: &[&str] = &[
    "also fine",
    "also welcome",
    "also ok",
    "are welcome",
    "is welcome",
    "would also",
    "の方でも",
    "でも大丈夫",
    "でも構",
    "でも結構",
    "でも可",
    "でも歓迎",
    "でもいい",
    "も歓迎",
    "もok",
];

/// Reads a request's subject and body (greeting and signature may remain:
/// they rarely name a trade).
pub fn understand(vocab: &Vocabulary, subject: &str, body: &str) -> Query {
    let joined = join_wrapped_lines(without_signature(body));
    let mut segments: Vec<(&str, bool)> = vec![(subject, true)];
    segments.extend(sentences(&joined).into_iter().map(|s| (s, false)));
    let (seg_terms, scans) = read_segments(vocab, &segments);
    let roles = segment_roles(&segments, &scans, &seg_terms);

    let mut query = Query::default();
    let mut need_text = String::new();
    for (i, (hits, _)) in scans.iter().enumerate() {
        let (need, background) = roles[i];
        let factor = if need && !background {
            1.0
        } else {
            BACKGROUND_FACTOR
        };
        if need && !background {
            need_text.push_str(segments[i].0);
            need_text.push('\n');
            query.alternatives |= names_alternatives(vocab, segments[i].0, hits, &seg_terms[i]);
        }
        // only what the requester has ("our new website") is background for
        // a curated word; "a cleaner for move-out cleaning" names the service
        let chars: Vec<char> = normalize(segments[i].0).chars().collect();
        let after_for = context_spans(&chars, false);
        let context: Vec<(usize, usize)> = context_spans(&chars, true)
            .into_iter()
            .filter(|s| !after_for.contains(s))
            .chain(setting_spans(&chars))
            .collect();
        add_hits(vocab, &mut query, hits, factor, &context);
        add_terms(
            vocab,
            &mut query,
            (i as u32, segments[i].0),
            hits,
            &seg_terms[i],
            (need, background),
        );
    }
    query.translation = asks_translation(&query);
    if query.translation {
        demote_language_names(&mut query);
    }
    query.pair = languages_named(&need_text);
    query.target = target_language(&format!("{subject}\n{body}"));
    query.tokens = tokens(&normalize(&format!("{subject}\n{body}")));
    query
}

/// A segment's curated hits, and whether it is the subject.
type SegmentHits = (Vec<Hit>, bool);

/// Each segment's terms and curated hits, without what the segment says it
/// does not want (「ペンキの塗装ではなく」 names no need).
fn read_segments(
    vocab: &Vocabulary,
    segments: &[(&str, bool)],
) -> (Vec<Vec<Term>>, Vec<SegmentHits>) {
    let inside = |spans: &[(usize, usize)], start: usize, end: usize| {
        spans.iter().any(|&(s, e)| start >= s && end <= e)
    };
    segments
        .iter()
        .map(|&(s, is_subject)| {
            let norm = normalize(s);
            let denied = negated_spans(&norm.chars().collect::<Vec<_>>());
            let mut terms = terms::terms(&norm, 0).0;
            terms.retain(|t| !inside(&denied, t.start, t.end));
            let mut hits = outside_loanwords(vocab.scan(s, true), &terms);
            hits.retain(|h| h.start == usize::MAX || !inside(&denied, h.start, h.end));
            (terms, (hits, is_subject))
        })
        .unzip()
}

/// Whether a needed word asks for translation or interpreting.
fn asks_translation(query: &Query) -> bool {
    query.terms.iter().any(|t| {
        t.need
            && (t.term.surface.contains("翻訳")
                || t.term.surface.contains("通訳")
                || t.term
                    .keys
                    .iter()
                    .any(|(k, _)| k == "w:transl" || k == "w:interpret"))
    })
}

/// In a request for translation or interpreting, a curated concept named
/// only by a language ("korean", 韓国語) is the pair, which is checked as a
/// hard constraint, not the trade (a Korean teacher or a Korean interpreter
/// for a Korean translation).
fn demote_language_names(query: &mut Query) {
    let is_language = |surface: &str| {
        let norm = normalize(surface);
        LANGUAGE_NAMES
            .iter()
            .any(|(_, names)| names.contains(&norm.as_str()))
    };
    for c in query
        .concepts
        .iter_mut()
        .filter(|c| is_language(&c.surface))
    {
        c.need = false;
        c.weight = c.weight.min(Kind::Generic.weight());
        c.generic = true;
    }
}

/// Whether a need sentence offers alternatives: a cue with an asked thing
/// on the side (or sides) where its alternatives stand.
fn names_alternatives(vocab: &Vocabulary, segment: &str, hits: &[Hit], seg_terms: &[Term]) -> bool {
    let text = format!(" {} ", normalize(segment));
    // spans of asked things, in the char offsets of the normalised segment
    let asked: Vec<(usize, usize)> = seg_terms
        .iter()
        .filter(|t| !t.generic && !t.fragment)
        // a place, a language or an asking word is not an asked thing
        .filter(|t| {
            !hits.iter().any(|h| {
                !matches!(h.target, Target::Concept(_)) && h.start < t.end && t.start < h.end
            })
        })
        .map(|t| (t.start, t.end))
        .chain(
            hits.iter()
                .filter(|h| h.start != usize::MAX)
                .filter(|h| matches!(h.target, Target::Concept(c) if vocab.concepts[c as usize].kind != Kind::Generic))
                .map(|h| (h.start, h.end)),
        )
        .collect();
    ALTERNATIVE_CUES.iter().any(|&(cue, sides)| {
        text.match_indices(cue).any(|(b, m)| {
            // the leading space shifts offsets by one
            let start = text[..b].chars().count().saturating_sub(1);
            let end = start + m.chars().count();
            let before = asked.iter().any(|&(_, e)| e <= start + 1);
            let after = asked.iter().any(|&(s, _)| s + 1 >= end);
            match sides {
                Sides::Before => before,
                Sides::After => after,
                Sides::Both => before && after,
            }
        })
    })
}

/// (need, background) per segment. The subject and the sentences with a
/// need cue state the need; without any cue, the subject and the first
/// sentence that names anything.
fn segment_roles(
    segments: &[(&str, bool)],
    scans: &[SegmentHits],
    seg_terms: &[Vec<Term>],
) -> Vec<(bool, bool)> {
    let cue = |hits: &[Hit]| hits.iter().any(|h| h.target == Target::Need);
    let alternative = |text: &str| {
        let t = format!(" {} ", normalize(text));
        ALTERNATIVE_NEEDS.iter().any(|c| t.contains(c))
    };
    let who: Vec<bool> = segments.iter().map(|(text, _)| asks_who(text)).collect();
    let any_need = scans
        .iter()
        .zip(&who)
        .any(|((hits, subj), &who)| !subj && (cue(hits) || who));
    let first_content = (1..segments.len()).find(|&i| {
        !seg_terms[i].is_empty()
            || scans[i]
                .0
                .iter()
                .any(|h| matches!(h.target, Target::Concept(_)))
    });
    segments
        .iter()
        .enumerate()
        .map(|(i, (text, is_subject))| {
            let need = *is_subject
                || if any_need {
                    cue(&scans[i].0) || alternative(text) || who[i]
                } else {
                    Some(i) == first_content
                };
            let lower = normalize(text);
            let background = BACKGROUND_CUES.iter().any(|c| lower.contains(c));
            (need, background && !*is_subject)
        })
        .collect()
}

/// A sentence that opens with "who" asks who does it ("Who repairs old
/// dolls?"); inside a sentence, "who" only describes someone.
fn asks_who(sentence: &str) -> bool {
    let lower = normalize(sentence);
    lower.trim_start().strip_prefix("who ").is_some_and(|rest| {
        let next = rest.split_whitespace().next().unwrap_or("");
        !matches!(next, "i" | "we" | "am") // "Who I am", "Who we are"
    })
}

/// Drops a curated word found only inside a longer katakana word the
/// lexicon knows (ライター in ゴーストライター): the longer word is what is
/// asked, and it is matched by its own meaning, not as any writer.
fn outside_loanwords(hits: Vec<Hit>, terms: &[Term]) -> Vec<Hit> {
    let inside = |h: &Hit| {
        terms.iter().any(|t| {
            h.start != usize::MAX
                && h.start >= t.start
                && h.end <= t.end
                && h.end - h.start < t.end - t.start
                && t.surface.chars().all(terms::is_katakana)
                && super::lexicon::lookup(&t.surface).is_some()
        })
    };
    hits.into_iter()
        .filter(|h| !matches!(h.target, Target::Concept(_)) || !inside(h))
        .collect()
}

/// Adds a segment's curated hits; a concept named inside a context phrase
/// ("for our new website") is background, not the need.
fn add_hits(
    vocab: &Vocabulary,
    query: &mut Query,
    hits: &[Hit],
    factor: f32,
    context: &[(usize, usize)],
) {
    for hit in hits {
        match hit.target {
            Target::Concept(id) => {
                let kind = vocab.concepts[id as usize].kind;
                let in_context = hit.start != usize::MAX
                    && context.iter().any(|&(s, e)| hit.start >= s && hit.end <= e);
                let factor = if in_context {
                    factor.min(BACKGROUND_FACTOR)
                } else {
                    factor
                };
                add_concept(query, id, kind, factor, &hit.surface);
            }
            Target::Place(p) if vocab.places[p as usize].area == "online" => {
                query.online_ok = true;
            }
            Target::Place(p) => {
                if !query.places.contains(&p) {
                    query.places.push(p);
                }
            }
            Target::Language(l) => {
                let code = &vocab.languages[l as usize];
                if !query.languages.contains(code) {
                    query.languages.push(code.clone());
                }
            }
            Target::Need => {}
        }
    }
}

/// Adds a segment's open terms with their roles: a word inside a vocabulary
/// hit is the vocabulary's; a phrase after "for" (not "looking for") or
/// "our"/"my" is context.
fn add_terms(
    vocab: &Vocabulary,
    query: &mut Query,
    (seg, segment): (u32, &str),
    hits: &[Hit],
    seg_terms: &[Term],
    (need, background): (bool, bool),
) {
    let chars: Vec<char> = normalize(segment).chars().collect();
    let context = context_spans(&chars, true);
    let phrase_base = query.terms.last().map_or(0, |t| t.term.phrase + 1);
    let primary = primary_phrases(&chars, hits, seg_terms, &context);
    for t in seg_terms {
        // members' own skill items (phrases) are not the curated layer
        let over: Vec<&Hit> = hits
            .iter()
            .filter(|h| h.start != usize::MAX && h.start < t.end && t.start < h.end)
            // an asking phrase that only begins in a word's okurigana
            // (仕立て直|してくださる) does not cover the word
            .filter(|h| h.target != Target::Need || h.start <= t.start && t.end <= h.end)
            .filter(|h| !matches!(h.target, Target::Concept(c) if vocab.concepts[c as usize].kind == Kind::Phrase))
            .collect();
        let concept = over.iter().find_map(|h| match h.target {
            Target::Concept(c) => Some(c),
            _ => None,
        });
        let in_context = context.iter().any(|&(s, e)| t.start >= s && t.end <= e);
        let mut term = t.clone();
        term.phrase += phrase_base;
        // a word the curated vocabulary files as generic ("licensed", 資格)
        // says little about the trade, whatever the directory holds
        // and so does a word of a place, a language or an asking phrase
        // ("English-speaking", "Tokyo-based"): it is no part of the trade
        term.generic |= !over.is_empty()
            && concept.is_none_or(|c| vocab.concepts[c as usize].kind == Kind::Generic);
        query.terms.push(QueryTerm {
            term,
            need,
            background: background || in_context,
            covered: !over.is_empty(),
            concept,
            primary: primary.as_ref().is_none_or(|p| p.contains(&t.phrase)),
            segment: seg,
        });
    }
}

/// The phrases the asking words point at: after an English cue ("looking
/// for X"), before a Japanese one (「Xを探しています」). `None` when the
/// segment has no cue: then every phrase counts (a subject, an alternative).
fn primary_phrases(
    chars: &[char],
    hits: &[Hit],
    seg_terms: &[Term],
    context: &[(usize, usize)],
) -> Option<Vec<u32>> {
    let is_latin = |h: &&Hit| h.surface.chars().any(|c| c.is_ascii_alphabetic());
    let need_cues = || {
        hits.iter()
            .filter(|h| h.target == Target::Need && h.start != usize::MAX)
    };
    // The first English cue and the last Japanese one are the main verb;
    // a Japanese cue before another is a relative clause
    // (「手続きをお願いできる通関士の方を探しています」).
    let cues: Vec<&Hit> = need_cues()
        .find(is_latin)
        .into_iter()
        .chain(need_cues().rfind(|h| !is_latin(h)))
        .collect();
    if cues.is_empty() {
        return None;
    }
    // a lone kanji (録 of 録って) cannot name the trade: look past it
    let usable = |t: &&Term| {
        !t.generic && !t.fragment && !context.iter().any(|&(s, e)| t.start >= s && t.end <= e)
    };
    let mut out = Vec::new();
    for cue in cues {
        let latin = cue.surface.chars().any(|c| c.is_ascii_alphabetic());
        let after = next_usable(seg_terms, &usable, cue.end);
        let before = seg_terms
            .iter()
            .filter(usable)
            .rev()
            .find(|t| t.end <= cue.start);
        let pick = if latin {
            after.or(before)
        } else {
            before.or(after)
        };
        out.extend(pick.map(|t| t.phrase));
        out.extend(
            pick.and_then(|t| of_complement(chars, seg_terms, &usable, t))
                .map(|t| t.phrase),
        );
        // "would love to book a tandem flight": after "to" comes a verb, and
        // what it is done to is asked too
        if latin && let Some(verb) = after.filter(|t| infinitive(chars, cue, t)) {
            out.extend(objects(chars, seg_terms, &usable, verb));
        }
    }
    Some(out)
}

/// The phrases an infinitive is done to: the first after the verb, and
/// after each "and" of its clause ("to trace the family and make a family
/// tree").
fn objects(
    chars: &[char],
    seg_terms: &[Term],
    usable: &dyn Fn(&&Term) -> bool,
    verb: &Term,
) -> Vec<u32> {
    let next_after = |at: usize| next_usable(seg_terms, usable, at);
    let object = next_after(verb.end).filter(|t| t.phrase != verb.phrase);
    let of_what = object.and_then(|o| of_complement(chars, seg_terms, usable, o));
    let joined = coordinated(chars, verb.end)
        .into_iter()
        .filter_map(|and| next_after(and).filter(|t| t.start < clause_end(chars, and)));
    object
        .into_iter()
        .chain(of_what)
        .chain(joined)
        .map(|t| t.phrase)
        .collect()
}

/// What an asked word's "of" names: "a taste of kyudo", "a set of
/// portraits" ask for kyudo and portraits too.
fn of_complement<'t>(
    chars: &[char],
    seg_terms: &'t [Term],
    usable: &dyn Fn(&&Term) -> bool,
    asked: &Term,
) -> Option<&'t Term> {
    let next = next_usable(seg_terms, usable, asked.end)?;
    let gap: String = chars.get(asked.end..next.start)?.iter().collect();
    let words: Vec<&str> = gap.split_whitespace().collect();
    let only_of =
        words.first() == Some(&"of") && words[1..].iter().all(|w| matches!(*w, "a" | "an" | "the"));
    only_of.then_some(next)
}

/// The first usable term that starts at or after `at`.
fn next_usable<'t>(
    seg_terms: &'t [Term],
    usable: &dyn Fn(&&Term) -> bool,
    at: usize,
) -> Option<&'t Term> {
    seg_terms.iter().filter(usable).find(|t| t.start >= at)
}

/// Where each " and " after `from` ends, up to the end of its clause.
fn coordinated(chars: &[char], from: usize) -> Vec<usize> {
    let end = clause_end(chars, from);
    let text: String = chars[from..end].iter().collect();
    text.match_indices(" and ")
        .map(|(b, m)| from + text[..b + m.len()].chars().count())
        .collect()
}

/// The end of the English clause that `from` is in.
fn clause_end(chars: &[char], from: usize) -> usize {
    (from..chars.len())
        .find(|&i| matches!(chars[i], '.' | ',' | ';' | ':' | '!' | '?' | '\n'))
        .unwrap_or(chars.len())
}

/// Whether the word after an English cue is a verb: the cue ends in "to"
/// ("want to") or in the one asked ("could someone"), or between them
/// stands only "to" or the person asked for ("looking for someone to").
fn infinitive(chars: &[char], cue: &Hit, t: &Term) -> bool {
    let gap: String = chars
        .get(cue.end..t.start)
        .map_or_else(String::new, |g| g.iter().collect());
    let gap = gap.trim();
    let cue = cue.surface.to_lowercase();
    let bare_verb_next = cue.ends_with(" to") || MODAL_CUES.contains(&cue.as_str());
    bare_verb_next && gap.is_empty() || VERB_GAPS.contains(&gap)
}

/// Cues a bare verb follows: "could someone check…", "who can tune…".
const MODAL_CUES: &[&str] = &[
    "could someone",
    "can someone",
    "can anyone",
    "could anyone",
    "who can",
    "who could",
];

/// What may stand between a cue and the verb asked: "looking for someone
/// to write…", "is there anyone who can fix…".
const VERB_GAPS: &[&str] = &[
    "to",
    "someone to",
    "somebody to",
    "anyone to",
    "anybody to",
    "a person to",
    "people to",
    "who can",
    "who could",
];

/// Char spans of context phrases in a normalised English sentence: from
/// "for" (unless it follows a verb of looking or asking) or "our"/"my" to
/// the end of the clause.
/// `possessive`: "our"/"my" start context too (in requests; in a profile
/// "my own bakery" is what the member does).
pub(super) fn context_spans(chars: &[char], possessive: bool) -> Vec<(usize, usize)> {
    let mut spans = english_context_spans(chars, possessive);
    // 「飲食店向けの」「子ども向け」「店舗のための」: the audience, not the trade
    for marker in [['向', 'け'], ['の', 'た']] {
        for k in 0..chars.len().saturating_sub(1) {
            if chars[k] == marker[0] && chars[k + 1] == marker[1] {
                let mut s = k;
                while s > 0 && super::text::is_cjk(chars[s - 1]) && !is_kana_particle(chars[s - 1])
                {
                    s -= 1;
                }
                if s < k {
                    spans.push((s, k));
                }
            }
        }
    }
    if possessive {
        spans.extend(beneficiary_spans(chars));
    }
    spans
}

/// People a request is for, not kinds of the job (「友人の旅行の計画」: the
/// friend is who it is for): a closed class, the words of kin and of the
/// people one works or lives with.
const PEOPLE_JA: &[&str] = &[
    "友人",
    "友達",
    "友だち",
    "知人",
    "知り合い",
    "家族",
    "両親",
    "親",
    "父",
    "母",
    "父親",
    "母親",
    "子ども",
    "子供",
    "こども",
    "息子",
    "娘",
    "妻",
    "夫",
    "主人",
    "嫁",
    "祖父",
    "祖母",
    "孫",
    "兄",
    "姉",
    "弟",
    "妹",
    "親戚",
    "親族",
    "同僚",
    "上司",
    "部下",
    "社員",
    "従業員",
    "生徒",
    "学生",
    "恋人",
    "彼女",
    "彼氏",
    "義母",
    "義父",
    "知人家族",
    "友人家族",
    // and the homes they live in (「実家のお墓」: whose grave, not the job)
    "実家",
    "自宅",
    "我が家",
];

/// 「友人の」「母の」: a person word that qualifies the next noun with の.
fn beneficiary_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for k in 1..chars.len() {
        if chars[k] != 'の' {
            continue;
        }
        let found = PEOPLE_JA.iter().find(|w| {
            let n = w.chars().count();
            k >= n
                && chars[k - n..k].iter().copied().eq(w.chars())
                // the whole word, not the tail of one (父 of 神父, 親 of 両親)
                && (k == n || !super::text::is_cjk(chars[k - n - 1]) || is_kana_particle(chars[k - n - 1]))
        });
        if let Some(w) = found {
            spans.push((k - w.chars().count(), k));
        }
    }
    spans
}

fn is_kana_particle(c: char) -> bool {
    ('\u{3041}'..='\u{309F}').contains(&c)
}

/// Words after "for" that make it who or what the job is for, not the task.
const FOR_WHOM: &[&str] = &[
    "a",
    "an",
    "the",
    "our",
    "my",
    "your",
    "his",
    "her",
    "their",
    "this",
    "that",
    "these",
    "those",
    "us",
    "me",
    "him",
    "them",
    "it",
    "kids",
    "children",
    "adults",
    "beginners",
    "seniors",
    "students",
    "people",
    "everyone",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "several",
    "about",
    "around",
    "up",
    "at",
    "least",
    "half",
    "next",
    "some",
];

/// Subjects that start a main clause after a fronted "For our …" phrase.
const MAIN_CLAUSE: &[&str] = &["we", "we'd", "we're", "we'll", "i", "i'd", "i'm", "i'll"];

/// The verb after a context that is its sentence's subject ("Our care home
/// in Kobe is looking for …"): what follows is the sentence's own.
const CONTEXT_VERBS: &[&str] = &[
    "is", "are", "was", "were", "needs", "wants", "would", "will", "seeks",
];

/// Words before "for" that make it part of the asking ("looking for a …"),
/// not the start of a context.
const LOOKING: &[&str] = &[
    "look",
    "looking",
    "search",
    "searching",
    "ask",
    "asking",
    "hunt",
    "hunting",
    "call",
    "calling",
    "seek",
    "seeking",
    "thanks",
    "thank",
    "you",
    "hoping",
    "hope",
    "wish",
    "wishing",
    // "someone for piano tuning": what the person is wanted for
    "someone",
    "somebody",
    "anyone",
    "anybody",
];

/// Where and when it is for ("near Mt Fuji", "before a long tour"), not
/// what is wanted; "look after" is the asking.
fn is_setting(chars: &[char], words: &[(usize, usize)], wi: usize) -> bool {
    let word = |i: usize| -> String { chars[words[i].0..words[i].1].iter().collect() };
    match word(wi).as_str() {
        "near" | "around" | "before" | "during" => true,
        "after" => wi == 0 || !word(wi - 1).starts_with("look"),
        _ => false,
    }
}

/// The spans of setting phrases alone: background for a curated word too
/// (a "tour" in "before a long tour" is not asked for).
fn setting_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let text: String = chars.iter().collect();
    let words = word_spans(chars);
    (0..words.len())
        .filter(|&wi| is_setting(chars, &words, wi))
        .map(|wi| {
            let e = words[wi].1;
            (e, context_end(chars, &text, &words[wi + 1..], e))
        })
        .collect()
}

fn english_context_spans(chars: &[char], possessive: bool) -> Vec<(usize, usize)> {
    let text: String = chars.iter().collect();
    let words: Vec<(usize, usize)> = word_spans(chars);
    let mut spans = Vec::new();
    for (wi, &(s, e)) in words.iter().enumerate() {
        let w: String = chars[s..e].iter().collect();
        let starts = match w.as_str() {
            "for" => {
                let word = |i: usize| -> String { chars[words[i].0..words[i].1].iter().collect() };
                let after_looking = wi > 0 && LOOKING.contains(&word(wi - 1).as_str());
                // "a technician for cell culture": a bare noun after "for"
                // is the task; "for our shop", "for a wedding", "for kids" is context
                let task = wi > 0
                    && words.get(wi + 1).is_some_and(|_| {
                        let next = word(wi + 1);
                        !FOR_WHOM.contains(&next.as_str())
                            && !next.starts_with(|c: char| c.is_ascii_digit())
                    })
                    && chars[words[wi - 1].1..words[wi].0]
                        .iter()
                        .all(|c| *c == ' ');
                !after_looking && !task
            }
            "our" | "my" => possessive,
            _ => is_setting(chars, &words, wi),
        };
        if starts {
            spans.push((e, context_end(chars, &text, &words[wi + 1..], e)));
        } else if possessive && runs_own_business(chars, &words, wi) {
            // "we run a cooking school and would like …": theirs, up to
            // the clause that asks
            let rest = &words[wi + 1..];
            let and = rest
                .iter()
                .find(|&&(s, e)| {
                    matches!(
                        chars[s..e].iter().collect::<String>().as_str(),
                        "and" | "but"
                    )
                })
                .map_or(chars.len(), |&(s, _)| s);
            spans.push((e, context_end(chars, &text, rest, e).min(and)));
        }
    }
    spans
}

/// "We run", "I own", "we manage": what follows is the requester's own.
fn runs_own_business(chars: &[char], words: &[(usize, usize)], wi: usize) -> bool {
    let word = |i: usize| -> String { chars[words[i].0..words[i].1].iter().collect() };
    wi > 0
        && matches!(word(wi).as_str(), "run" | "own" | "manage" | "operate")
        && matches!(word(wi - 1).as_str(), "we" | "i")
}

/// Where a context that starts at char `start` ends: at the next
/// punctuation, or where a main clause's subject begins ("For our new
/// website we'd like drone footage").
fn context_end(chars: &[char], text: &str, rest: &[(usize, usize)], start: usize) -> usize {
    let punct = text
        .char_indices()
        .skip_while(|(b, _)| text[..*b].chars().count() < start)
        .find(|(_, c)| matches!(c, ',' | ';' | ':' | '(' | ')' | '/'))
        .map_or(chars.len(), |(b, _)| text[..b].chars().count());
    let clause = rest
        .iter()
        .find(|&&(s, e)| {
            let w: String = chars[s..e].iter().collect();
            MAIN_CLAUSE.contains(&w.as_str()) || CONTEXT_VERBS.contains(&w.as_str())
        })
        .map_or(chars.len(), |&(s, _)| s);
    punct.min(clause)
}

fn word_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_word(chars[i]) {
            let s = i;
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            out.push((s, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Language names, by code, in English and Japanese.
const LANGUAGE_NAMES: &[(&str, &[&str])] = &[
    ("en", &["english", "英語"]),
    ("ja", &["japanese", "日本語"]),
    (
        "zh",
        &[
            "chinese",
            "mandarin",
            "cantonese",
            "中国語",
            "北京語",
            "広東語",
        ],
    ),
    ("ko", &["korean", "韓国語", "朝鮮語"]),
    ("es", &["spanish", "スペイン語"]),
    ("fr", &["french", "フランス語"]),
    ("de", &["german", "ドイツ語"]),
    ("pt", &["portuguese", "ポルトガル語"]),
    ("it", &["italian", "イタリア語"]),
    ("ru", &["russian", "ロシア語"]),
    ("vi", &["vietnamese", "ベトナム語"]),
    ("th", &["thai", "タイ語"]),
    ("tl", &["tagalog", "filipino", "タガログ語", "フィリピン語"]),
    ("id", &["indonesian", "インドネシア語"]),
    ("ne", &["nepali", "ネパール語"]),
    ("ar", &["arabic", "アラビア語"]),
    ("hi", &["hindi", "ヒンディー語"]),
    ("nl", &["dutch", "オランダ語"]),
];

/// The language a text asks to translate into: a language name followed by
/// に/へ (「日本語に翻訳」) or after "into", "to", →.
pub fn target_language(text: &str) -> Option<String> {
    let norm = normalize(text);
    let mut best: Option<(usize, &str)> = None;
    for (code, names) in LANGUAGE_NAMES {
        for n in names.iter() {
            for (b, _) in norm.match_indices(n) {
                let after = norm[b + n.len()..].trim_start();
                let before = norm[..b].trim_end();
                let target = if n.is_ascii() {
                    before.ends_with(" into")
                        || before.ends_with(" to")
                        || before.ends_with('→')
                        || before.ends_with("->")
                } else {
                    after.starts_with('に') || after.starts_with('へ') || before.ends_with('→')
                };
                if target && best.is_none_or(|(p, _)| b < p) {
                    best = Some((b, code));
                }
            }
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Language names a text mentions (language codes): for language pairs in
/// translation requests and in translators' profiles.
pub fn languages_named(text: &str) -> Vec<String> {
    let norm = normalize(text);
    let words: Vec<&str> = norm.split(|c: char| !c.is_alphanumeric()).collect();
    LANGUAGE_NAMES
        .iter()
        .filter(|(_, names)| {
            names.iter().any(|n| {
                if n.is_ascii() {
                    words.contains(n)
                } else {
                    norm.contains(n)
                }
            })
        })
        .map(|(code, _)| code.to_string())
        .collect()
}

fn add_concept(query: &mut Query, id: u32, kind: Kind, factor: f32, surface: &str) {
    let weight = kind.weight() * factor;
    match query.concepts.iter_mut().find(|c| c.concept == id) {
        Some(existing) if existing.weight < weight => {
            existing.weight = weight;
            existing.surface = surface.to_string();
            existing.need = true;
        }
        Some(_) => {}
        None => query.concepts.push(QueryConcept {
            concept: id,
            weight,
            surface: surface.to_string(),
            generic: kind == Kind::Generic,
            need: factor >= 1.0,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocabulary {
        Vocabulary::embedded().expect("the embedded vocabulary parses")
    }

    fn ids(v: &Vocabulary, q: &Query) -> Vec<String> {
        q.concepts
            .iter()
            .map(|c| v.concepts[c.concept as usize].id.clone())
            .collect()
    }

    #[test]
    fn a_sentence_wrapped_over_lines_is_one_sentence() {
        let v = vocab();
        let body = "We make lamps in Nara. We are looking for a\nglassblower who could make shades.\n\nThanks,\nAnn";
        let q = understand(&v, "Hello", body);
        let term = |w: &str| q.terms.iter().find(|t| t.term.surface == w);
        assert!(
            term("glassblower").is_some_and(QueryTerm::opens),
            "{:?}",
            q.terms
        );
        let joined = join_wrapped_lines(
            "ランプの工房です。吹きガラスの職人と\n一緒に作れる方を探しています。\n\nAnn\nNara",
        );
        assert_eq!(
            joined,
            "ランプの工房です。吹きガラスの職人と一緒に作れる方を探しています。\n\nAnn\nNara"
        );
    }

    #[test]
    fn what_an_infinitive_is_done_to_is_asked_too() {
        let v = vocab();
        let q = understand(
            &v,
            "Hello",
            "I would love to book a guided glacier walk near Mt Tsurugi.",
        );
        let term = |w: &str| q.terms.iter().find(|t| t.term.surface == w);
        assert!(
            term("glacier").is_some_and(QueryTerm::opens),
            "{:?}",
            q.terms
        );
        // where it is, is no part of what is asked
        assert!(
            term("tsurugi").is_some_and(|t| t.background),
            "{:?}",
            q.terms
        );
        let q = understand(&v, "Van service before a long road trip", "");
        assert!(term_in(&q, "van").is_some_and(QueryTerm::opens));
        assert!(term_in(&q, "trip").is_some_and(|t| !t.opens()));
        // a curated word there is background too: the trip is no need
        let q = understand(&v, "Van service before a guided tour", "");
        let tour = q
            .concepts
            .iter()
            .find(|c| v.concepts[c.concept as usize].id == "tour_guide");
        assert!(tour.is_some_and(|c| !c.need), "{:?}", q.concepts);
    }

    fn term_in<'q>(q: &'q Query, w: &str) -> Option<&'q QueryTerm> {
        q.terms.iter().find(|t| t.term.surface == w)
    }

    #[test]
    fn what_the_requester_has_and_what_they_ask_are_apart() {
        let v = vocab();
        let body =
            "We have a paper lantern from a shrine, and we need a glassblower to make a new globe.";
        let q = understand(&v, "Hello", body);
        assert!(
            term_in(&q, "glassblower").is_some_and(QueryTerm::opens),
            "{:?}",
            q.terms
        );
        assert!(term_in(&q, "lantern").is_some_and(|t| t.background));
    }

    #[test]
    fn each_verb_joined_by_and_asks_for_its_object() {
        let v = vocab();
        let body = "I would love to trace the family back and make a family tree from old records.";
        let q = understand(&v, "Hello", body);
        let opens = |w: &str| q.terms.iter().any(|t| t.term.surface == w && t.opens());
        assert!(opens("family") && opens("tree"), "{:?}", q.terms);
        assert!(!opens("records"), "past the second object: {:?}", q.terms);
    }

    #[test]
    fn the_business_a_requester_runs_is_context() {
        let v = vocab();
        let body = "We run a cooking school and would like someone to teach a miso workshop.";
        let q = understand(&v, "Hello", body);
        assert!(
            term_in(&q, "school").is_some_and(|t| t.background),
            "{:?}",
            q.terms
        );
        assert!(
            term_in(&q, "miso").is_some_and(|t| !t.background),
            "{:?}",
            q.terms
        );
        assert!(
            q.concepts.iter().all(|c| c.surface != "cooking" || !c.need),
            "{:?}",
            q.concepts
        );
    }

    #[test]
    fn a_context_that_is_the_subject_ends_at_its_verb() {
        let v = vocab();
        let body = "Our care home in Kobe is looking for someone to lead gentle tai chi sessions.";
        let q = understand(&v, "Hello", body);
        assert!(
            term_in(&q, "home").is_some_and(|t| t.background),
            "{:?}",
            q.terms
        );
        assert!(
            term_in(&q, "sessions").is_some_and(|t| !t.background),
            "{:?}",
            q.terms
        );
    }

    #[test]
    fn what_the_person_asked_for_is_to_do_is_asked_too() {
        let v = vocab();
        let q = understand(
            &v,
            "Hello",
            "The tune is finished. We are looking for someone to write the verses.",
        );
        assert!(
            term_in(&q, "verses").is_some_and(QueryTerm::opens),
            "{:?}",
            q.terms
        );
        let q = understand(&v, "Hello", "Could someone restring the harp for us?");
        assert!(
            term_in(&q, "harp").is_some_and(QueryTerm::opens),
            "{:?}",
            q.terms
        );
        // "I'd love" asks as "would love" does
        let q = understand(
            &v,
            "Hello",
            "We moved here last year. I'd love to learn weaving.",
        );
        assert!(
            term_in(&q, "weaving").is_some_and(QueryTerm::opens),
            "{:?}",
            q.terms
        );
    }

    #[test]
    fn a_question_that_opens_with_who_asks() {
        let v = vocab();
        let q = understand(
            &v,
            "Hello",
            "Our marionettes are very old. Who restores marionettes like these?",
        );
        let asked = q.terms.iter().filter(|t| t.term.surface == "marionettes");
        assert!(asked.clone().any(QueryTerm::opens), "{:?}", q.terms);
        // a "who" inside a sentence only describes someone
        assert!(!asks_who("My aunt, who restores marionettes, is away"));
        assert!(asks_who("Who restores marionettes"));
        assert!(!asks_who("Who we are"));
    }

    #[test]
    fn what_the_requester_has_ends_at_but_wed_love() {
        let v = vocab();
        let q = understand(
            &v,
            "Hello",
            "The canapés are sorted, but we'd love a harpist for the evening.",
        );
        assert!(
            term_in(&q, "harpist").is_some_and(QueryTerm::opens),
            "{:?}",
            q.terms
        );
        assert!(
            term_in(&q, "canapés").is_some_and(|t| !t.need),
            "{:?}",
            q.terms
        );
    }

    #[test]
    fn who_can_asks_like_can_anyone() {
        let v = vocab();
        let q = understand(
            &v,
            "Hello",
            "We have an old organ. Who can tune the harmonium?",
        );
        assert!(
            term_in(&q, "harmonium").is_some_and(|t| t.need),
            "{:?}",
            q.terms
        );
        assert!(
            term_in(&q, "organ").is_some_and(|t| !t.need),
            "{:?}",
            q.terms
        );
    }

    #[test]
    fn whose_home_it_is_and_how_far_name_no_trade() {
        let v = vocab();
        let q = understand(
            &v,
            "実家のお墓について",
            "近くの納骨堂に移したいのですが、どなたに相談すればよいでしょうか。",
        );
        assert!(
            term_in(&q, "実家").is_some_and(|t| t.background),
            "{:?}",
            q.terms
        );
        assert!(term_in(&q, "近く").is_none(), "{:?}", q.terms);
        assert!(
            term_in(&q, "墓").is_some_and(QueryTerm::opens),
            "{:?}",
            q.terms
        );
    }

    #[test]
    fn the_people_a_request_is_for_are_context() {
        let v = vocab();
        let q = understand(
            &v,
            "留学中の姉の切り絵の額装",
            "額装をお願いできたら嬉しいです。",
        );
        assert!(term_in(&q, "姉").is_some_and(|t| t.background && !t.opens()));
        assert!(term_in(&q, "切り絵").is_some_and(|t| !t.background));
        // a person word as the head is what is asked, and 神父 is no 父
        let q = understand(&v, "神父の肖像画", "友人を探しています。");
        assert!(term_in(&q, "神父").is_some_and(|t| !t.background));
        assert!(term_in(&q, "友人").is_some_and(|t| !t.background));
    }

    #[test]
    fn a_bare_noun_after_for_is_the_task() {
        let v = vocab();
        let q = understand(&v, "Technician for glass annealing, two weeks", "");
        assert!(
            term_in(&q, "annealing").is_some_and(QueryTerm::opens),
            "{:?}",
            q.terms
        );
        let q = understand(&v, "Technician for our glass studio", "");
        assert!(
            term_in(&q, "glass").is_some_and(|t| t.background),
            "{:?}",
            q.terms
        );
        let q = understand(&v, "Glass lessons for kids", "");
        assert!(
            term_in(&q, "kids").is_none_or(|t| t.background),
            "{:?}",
            q.terms
        );
    }

    #[test]
    fn a_real_word_one_letter_from_a_trade_is_no_typo_of_it() {
        let v = vocab();
        let q = understand(&v, "Help", "The plan is written; it needs shaping.");
        assert!(
            !ids(&v, &q).contains(&"barber".to_string()),
            "{:?}",
            q.concepts
        );
    }

    #[test]
    fn the_name_under_the_closing_line_is_no_word_of_the_request() {
        let v = vocab();
        let q = understand(
            &v,
            "Hello",
            "We need a glassblower.\n\nThanks,\nCarpenter Smith\n",
        );
        assert!(term_in(&q, "carpenter").is_none(), "{:?}", q.terms);
        let q = understand(
            &v,
            "こんにちは",
            "吹きガラスの職人を探しています。\nよろしくお願いいたします。\n大工\n",
        );
        assert!(term_in(&q, "大工").is_none(), "{:?}", q.terms);
        let q = understand(&v, "Hello", "We need a glassblower.\n\nCarpenter\n");
        assert!(term_in(&q, "carpenter").is_none(), "{:?}", q.terms);
        // a terse last line is the request, not a name
        let q = understand(&v, "Hello", "Hi,\n\nglassblower wanted\n");
        assert!(term_in(&q, "glassblower").is_some_and(QueryTerm::opens));
        // a closing word inside the text is no closing line
        let q = understand(
            &v,
            "Hello",
            "Thanks to a grant, we need a glassblower for our studio.",
        );
        assert!(term_in(&q, "glassblower").is_some_and(QueryTerm::opens));
    }

    #[test]
    fn longest_term_wins_over_its_parts() {
        let v = vocab();
        let q = understand(&v, "社会保険労務士を探しています", "");
        assert_eq!(ids(&v, &q), vec!["labour_consultant"]);
    }

    #[test]
    fn full_width_and_abbreviations_are_found() {
        let v = vocab();
        let q = understand(&v, "", "Looking for an RN. ＰＴの方でも");
        let found = ids(&v, &q);
        assert!(found.contains(&"nurse".to_string()), "{found:?}");
        assert!(found.contains(&"physiotherapist".to_string()), "{found:?}");
        // "it" in ordinary text is not the abbreviation IT
        let q = understand(&v, "", "it would be great");
        assert!(ids(&v, &q).is_empty());
    }

    #[test]
    fn need_sentences_outweigh_background() {
        let v = vocab();
        let q = understand(
            &v,
            "Hello",
            "Our zeirishi handles the filing.\nWe need a bookkeeper.",
        );
        let w = |id: &str| {
            q.concepts
                .iter()
                .find(|c| v.concepts[c.concept as usize].id == id)
                .map(|c| c.weight)
        };
        assert!(w("bookkeeping") > w("tax_accountant"));
    }

    #[test]
    fn someone_for_a_job_names_the_need_not_its_context() {
        let v = vocab();
        let q = understand(
            &v,
            "Hello",
            "Could anyone recommend someone for harpsichord voicing? It is for our school.",
        );
        let term = |w: &str| q.terms.iter().find(|t| t.term.surface == w);
        assert!(term("harpsichord").is_some_and(QueryTerm::opens));
        assert!(term("voicing").is_some_and(QueryTerm::opens));
        // "for our school" is still what it is for, not what is wanted
        assert!(term("school").is_some_and(|t| t.background));
    }

    #[test]
    fn a_fronted_for_phrase_ends_where_the_main_clause_starts() {
        let v = vocab();
        let q = understand(
            &v,
            "Hello",
            "For our new brewery we would like hop-garden consulting.",
        );
        let term = |w: &str| q.terms.iter().find(|t| t.term.surface == w);
        assert!(term("brewery").is_some_and(|t| t.background));
        assert!(term("hop").is_some_and(|t| !t.background));
    }

    #[test]
    fn a_curated_word_in_a_context_phrase_is_background() {
        let v = vocab();
        let q = understand(
            &v,
            "Hello",
            "For our new website we would like hop-garden consulting.",
        );
        let web = q
            .concepts
            .iter()
            .find(|c| v.concepts[c.concept as usize].id == "web_development");
        assert!(web.is_some_and(|c| !c.need), "{:?}", q.concepts);
    }

    #[test]
    fn a_service_after_for_stays_the_need() {
        let v = vocab();
        let q = understand(&v, "English-speaking assistant for bookkeeping", "");
        assert!(
            q.concepts.iter().any(|c| c.need && !c.generic),
            "{:?}",
            q.concepts
        );
        let speaking = q.terms.iter().find(|t| t.term.surface == "speaking");
        assert!(speaking.is_some_and(|t| t.term.generic), "{speaking:?}");
    }

    #[test]
    fn a_language_name_is_the_pair_of_a_translation_not_its_trade() {
        let v = vocab();
        let q = understand(
            &v,
            "Korean to Japanese translation",
            "We need a translator.",
        );
        assert!(q.translation);
        assert!(q.pair.contains(&"ko".to_string()), "{:?}", q.pair);
        let korean = q
            .concepts
            .iter()
            .find(|c| c.surface.to_lowercase() == "korean");
        assert!(korean.is_none_or(|c| !c.need && c.generic), "{korean:?}");
        // outside translation, the language still names lessons
        let q = understand(&v, "Korean lessons", "Looking for Korean lessons.");
        assert!(q.concepts.iter().any(|c| c.need && !c.generic));
    }

    #[test]
    fn places_languages_and_typos() {
        let v = vocab();
        let q = understand(
            &v,
            "Headshot photografer in Tokyo?",
            "English-speaking, or online",
        );
        assert!(ids(&v, &q).contains(&"photography".to_string()));
        assert_eq!(q.languages, vec!["en"]);
        assert!(q.online_ok);
        assert_eq!(q.places.len(), 1);
    }
}
