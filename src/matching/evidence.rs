//! Open-vocabulary evidence (a request's own words meeting a member's own
//! words, BM25F-style: skills above bio, the word itself above a
//! translation), whether it qualifies, and the structured explanation each
//! candidate carries.

use std::collections::HashMap;

use super::index::{Field, Index, TermPosting, affirmed_clauses};
use super::rank::{MemberMap, Tally, language_factor, region_factor};
use super::request::Query;
use super::terms::{self, Via};
use super::text::normalize;
use super::vocabulary::{Kind, Target};
use super::{Candidate, Evidence, How, Source};

/// What a full open-vocabulary match on the request's need is worth, next
/// to a named trade in the curated vocabulary (3.0).
pub const UNIT_WEIGHT: f32 = 3.0;
const BIO_FIELD: f32 = 0.6;
/// A word in the context part of a member's own text ("for parties").
const MEMBER_CONTEXT: f32 = 0.4;
const SKILL_FIELD: f32 = 1.0;
/// Words outside the stated need, generic words: they order, never carry.
const CONTEXT_FACTOR: f32 = 0.3;
/// Below this a hit is too weak to be direct evidence (a sound-alike in a
/// bio's context, a translation in a member's context words).
const DIRECT_STRENGTH: f32 = 0.5;
/// Share of an asked phrase's weight a member must cover: with its head
/// ("wedding photographer" → photographer), or without it.
const HEAD_COVERAGE: f32 = 0.5;
const PHRASE_COVERAGE: f32 = 0.6;
/// Share of all the request's asked words (by weight) a member qualifying
/// on open-vocabulary evidence alone must have.
const NEED_COVERAGE: f32 = 0.25;

/// Which asked-for thing a candidate answers (for spreading over alternatives).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Concept(u32),
    /// The asked word: the first request term with the same first key, so
    /// the word is one group wherever in the request it was named (a
    /// number, as every member judged gets one).
    Word(u32),
}

/// A term's word: its first key, or its surface.
fn group_word(t: &terms::Term) -> &str {
    t.keys.first().map_or(t.surface.as_str(), |k| k.0.as_str())
}

/// The group of an asked term: its own word.
pub fn word_group(query: &Query, ti: usize) -> Group {
    let own = group_word(&query.terms[ti].term);
    let first = query.terms[..ti]
        .iter()
        .position(|qt| group_word(&qt.term) == own)
        .unwrap_or(ti);
    Group::Word(first as u32)
}

/// A member's best hit on one request term.
#[derive(Debug, Clone, Copy)]
pub struct TermHit {
    pub term: u32,
    pub key: u16,
    pub via: Via,
    pub field: Field,
    pub strength: f32,
    /// On a modifier of the member's skill item, not its head.
    pub modifier: bool,
    /// The last word of the member's phrase, if another (`Index::tails`).
    pub tail: u32,
}

#[derive(Debug, Clone, Default)]
pub struct UnitTally {
    pub hits: smallvec::SmallVec<[TermHit; 3]>,
}

impl UnitTally {
    fn offer(&mut self, h: TermHit) {
        // a direct hit under one of the term's keys (a head, or a bio
        // word) beats a stronger one under another key that only
        // qualifies the member's skill item: it can carry a match
        let direct = |x: &TermHit| !x.modifier && x.strength >= DIRECT_STRENGTH;
        match self.hits.iter_mut().find(|x| x.term == h.term) {
            Some(x) if direct(&h) && !direct(x) => *x = h,
            Some(x) if direct(x) && !direct(&h) => {}
            Some(x) if x.strength < h.strength => *x = h,
            Some(_) => {}
            None => self.hits.push(h),
        }
    }
}

fn via_factor(v: Via) -> f32 {
    match v {
        Via::Same => 1.0,
        Via::Translation | Via::Sense => 0.9,
        // a loanword the lexicon lacks, met by sound, in a bio is just
        // direct evidence (「…のルシアーです」 for a luthier); in a related
        // or context role it stays below that
        Via::Sound => 0.85,
    }
}

/// IDF of each request term over the directory (by its own word's key).
pub fn term_weights(index: &Index, query: &Query) -> Vec<f32> {
    let n = index.members.len() as f32;
    query
        .terms
        .iter()
        .map(|t| {
            let df = t
                .term
                .keys
                .first()
                .and_then(|(k, _)| index.terms.get(k))
                .map_or(0.0, |p| p.len() as f32);
            ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
        })
        .collect()
}

fn context_factor(query: &Query, ti: usize) -> f32 {
    if query.terms[ti].opens() {
        1.0
    } else {
        CONTEXT_FACTOR
    }
}

/// A curated concept named inside a longer asked phrase ("sushi chef":
/// chef is known, sushi is not) qualifies only when the member also has
/// enough of the rest of the phrase: a caterer who was a hotel chef is a
/// near-miss, not a sushi chef.
pub fn concept_phrase_ok(
    query: &Query,
    idf: &[f32],
    unit: &UnitTally,
    held: &[u32],
    concept: u32,
) -> bool {
    let own = query
        .terms
        .iter()
        .filter(|t| t.concept == Some(concept) && t.need && t.primary && !t.background);
    let mut any = false;
    for t in own {
        any = true;
        let phrase = t.term.phrase;
        let (mut total, mut got) = (0.0, 0.0);
        for (j, u) in query.terms.iter().enumerate() {
            // a word of another curated concept in the phrase (home visit of
            // "vet home visit") is weighed as that concept, not as the rest
            let other = u.concept.is_some_and(|c| c != concept);
            if u.term.phrase != phrase || u.term.generic || other {
                continue;
            }
            total += idf[j];
            if u.concept.is_some_and(|c| held.contains(&c)) {
                got += idf[j];
            } else if let Some(h) = unit.hits.iter().find(|h| h.term as usize == j) {
                got += idf[j] * h.strength;
            }
        }
        if total <= 0.0 || got / total >= HEAD_COVERAGE {
            return true;
        }
    }
    !any
}

/// A broad trade (one the curated vocabulary has narrower kinds of:
/// coaching, a doctor, a music teacher) named with words of its own
/// (「英語学習を伴走してくれるコーチ」, "a coach for my career change")
/// asks for that specialty: the member must have direct evidence on at
/// least one of those words, else they are a near-miss. A specific trade's
/// words describe the task (「手続きをお願いできる通関士」: any customs
/// broker does the procedure) and only order. Curated breadth, not how many
/// members share the word: in a circle of customs brokers 通関士 is common
/// and still specific.
///
/// The asked words depend only on the request and the trade, so they are
/// worked out once per trade and request ([`Specialties`]), not per member.
#[derive(Default)]
pub struct Specialties(HashMap<u32, Option<Vec<Asked>>>);

/// One word asked beside a broad trade: the query term's index, and its
/// curated concept when the word is one.
pub struct Asked {
    term: usize,
    concept: Option<u32>,
    covered: bool,
}

impl Specialties {
    /// Whether the member (`unit`, `held` concepts) has evidence for the
    /// specialty asked of `concept`, if any is asked.
    pub fn ok(
        &mut self,
        index: &Index,
        query: &Query,
        unit: &UnitTally,
        held: &[u32],
        concept: u32,
    ) -> bool {
        let asked = self
            .0
            .entry(concept)
            .or_insert_with(|| specialty_asks(index, query, concept));
        let Some(asked) = asked else { return true };
        asked.is_empty()
            || asked.iter().any(|a| match a.concept {
                Some(c) if a.covered => held.contains(&c),
                _ => unit
                    .hits
                    .iter()
                    .any(|h| h.term as usize == a.term && h.strength >= DIRECT_STRENGTH),
            })
    }
}

/// The words asked beside `concept`, or None when it is no broad trade (or
/// the request names alternatives) and nothing more is asked.
fn specialty_asks(index: &Index, query: &Query, concept: u32) -> Option<Vec<Asked>> {
    let concepts = &index.vocab.concepts;
    let broad = concepts.iter().any(|c| c.broader.contains(&concept));
    if !broad || query.alternatives {
        return None;
    }
    let segments: Vec<u32> = query
        .terms
        .iter()
        .filter(|t| t.concept == Some(concept) && t.need && !t.background)
        .map(|t| t.segment)
        .collect();
    // a word of its own, or a curated skill (public speaking); another
    // trade named beside it (コーチかカウンセラー) is a coordinated ask
    let skill = |c: u32| c != concept && concepts[c as usize].kind == Kind::Skill;
    let asked = query
        .terms
        .iter()
        .enumerate()
        .filter(|(_, t)| segments.contains(&t.segment) && t.need && !t.background)
        .filter(|(_, t)| !t.term.generic && !t.is_fragment())
        .filter(|(_, t)| !t.covered || t.concept.is_some_and(skill))
        .map(|(term, t)| Asked {
            term,
            concept: t.concept,
            covered: t.covered,
        })
        .collect();
    Some(asked)
}

/// Walks the postings of the request's terms: terms that can open a
/// candidate first, then the others for members already found.
pub fn gather_terms(
    index: &Index,
    query: &Query,
    eligible: &dyn Fn(u32) -> bool,
    concept_tallies: &MemberMap<Tally>,
) -> MemberMap<UnitTally> {
    let mut tallies: MemberMap<UnitTally> = MemberMap::default();
    for opening in [true, false] {
        if !opening {
            // the second pass adds to everyone found so far
            for m in concept_tallies.keys() {
                tallies.entry(*m).or_default();
            }
        }
        for (ti, qt) in query.terms.iter().enumerate() {
            if qt.covered || qt.opens() != opening {
                continue;
            }
            for (ki, (key, via)) in qt.term.keys.iter().enumerate() {
                let postings = index.terms.get(key).map_or(&[][..], Vec::as_slice);
                let hit = |p: &TermPosting| term_hit(query, ti, ki, *via, p);
                let compound = compound_modifier(query, ti, key);
                let offer = |t: &mut UnitTally, h: TermHit| {
                    t.offer(h);
                    if let Some(mi) = compound {
                        t.offer(TermHit { term: mi, ..h });
                    }
                };
                if opening {
                    for p in postings.iter().filter(|p| eligible(p.member)) {
                        if let Some(h) = hit(p) {
                            offer(tallies.entry(p.member).or_default(), h);
                        }
                    }
                } else {
                    super::rank::for_members(
                        postings,
                        |p| p.member,
                        &mut tallies,
                        |t, p| {
                            if let Some(h) = hit(p) {
                                offer(t, h);
                            }
                        },
                    );
                }
            }
        }
    }
    tallies
}

/// A two-word key ("machine learning" on learning) met as a whole covers
/// the word before the head too: 機械学習 is machine learning, not only
/// learning.
fn compound_modifier(query: &Query, ti: usize, key: &str) -> Option<u32> {
    let phrase = query.terms[ti].term.phrase;
    (ti > 0 && key.contains(' ') && query.terms[ti - 1].term.phrase == phrase)
        .then(|| (ti - 1) as u32)
}

/// A member's posting met by the request's term `ti` under its key `ki`.
fn term_hit(query: &Query, ti: usize, ki: usize, via: Via, p: &TermPosting) -> Option<TermHit> {
    let qt = &query.terms[ti];
    // sound-alikes meet only across scripts (バリスタ, barista)
    if via == Via::Sound && p.latin == qt.term.latin {
        return None;
    }
    let route = via.max(p.via);
    // two Japanese words meet by their own form or their first sense,
    // not through any English gloss they happen to share (申請, エントリーシート)
    if !matches!(route, Via::Same | Via::Sense) && !qt.term.latin && !p.latin {
        return None;
    }
    let field = if p.field == Field::Bio {
        BIO_FIELD
    } else {
        SKILL_FIELD
    };
    Some(TermHit {
        modifier: p.modifier,
        tail: p.tail,
        term: ti as u32,
        key: ki as u16,
        via: route,
        field: p.field,
        strength: field * via_factor(route) * if p.context { MEMBER_CONTEXT } else { 1.0 },
    })
}

/// The weight of the request's words a member has (each by its IDF and role).
fn matched_weight(query: &Query, weights: &[f32], tally: &UnitTally) -> f32 {
    let weight = |h: &TermHit| weights[h.term as usize] * context_factor(query, h.term as usize);
    tally.hits.iter().map(|h| weight(h) * h.strength).sum()
}

/// The weight of the request's words that can open a need (what a member's
/// matched words are a share of).
fn opening_total(query: &Query, weights: &[f32]) -> f32 {
    query
        .terms
        .iter()
        .zip(weights)
        .filter(|(t, _)| t.opens())
        .map(|(_, w)| *w)
        .sum()
}

/// The open-vocabulary score of [`unit_standing`] alone, without working out
/// whether it qualifies (the ranker orders members by it before judging them).
pub fn unit_score(query: &Query, weights: &[f32], tally: &UnitTally) -> f32 {
    let opening_total = opening_total(query, weights);
    if tally.hits.is_empty() || opening_total <= 0.0 {
        return 0.0;
    }
    UNIT_WEIGHT * (matched_weight(query, weights, tally) / opening_total).min(1.0)
}

/// Score, whether it qualifies, and the phrase it answers: direct evidence
/// on the head of an asked phrase (its last specific word: "headshot
/// photographer" → photographer), or on most of the phrase's weight.
pub fn unit_standing(
    index: &Index,
    query: &Query,
    weights: &[f32],
    (m, tally): (u32, &UnitTally),
) -> (f32, bool, Option<Group>) {
    let opening_total = opening_total(query, weights);
    let weight = |h: &TermHit| weights[h.term as usize] * context_factor(query, h.term as usize);
    if tally.hits.is_empty() || opening_total <= 0.0 {
        return (0.0, false, None);
    }
    let matched = matched_weight(query, weights, tally);
    let score = unit_score(query, weights, tally);
    let best = tally
        .hits
        .iter()
        .filter(|h| h.strength >= DIRECT_STRENGTH && query.terms[h.term as usize].opens())
        .filter(|h| !lone_kanji_stretched(query, h))
        .filter(|h| !modifier_only(query, h) || job_asked(index, query, h))
        .filter(|h| !tails_differ(index, query, h))
        .filter(|h| {
            let ti = governing_term(query, h.term as usize);
            let covered = coverage(query, weights, tally, ti);
            covered >= PHRASE_COVERAGE || covered >= HEAD_COVERAGE && is_head(query, ti)
        })
        // last: it reads the member's skill item again
        .filter(|h| !specialty_differs(index, query, (m, tally), h))
        .max_by(|a, b| (weight(a) * a.strength).total_cmp(&(weight(b) * b.strength)));
    // one word among many asked ones (the party, not the sushi chef) is
    // not enough: the member must cover a share of all that is asked
    // (when the request names alternatives, each is a whole need)
    let best = best.filter(|_| query.alternatives || matched / opening_total >= NEED_COVERAGE);
    let group = best.map(|h| word_group(query, h.term as usize));
    (score, best.is_some(), group)
}

/// A word that only qualifies the member's phrase is no direct evidence:
/// in a skill item (ピアノ of ピアノ修理); in a bio, an activity qualifying
/// another word ("singing workshops") when the request asks for the person
/// who does it (a singer, 歌手): who runs singing workshops teaches, and is
/// not thereby a singer. A request for the activity itself still meets it.
fn modifier_only(query: &Query, h: &TermHit) -> bool {
    h.modifier && (h.field != Field::Bio || names_agent(&query.terms[h.term as usize].term.surface))
}

/// A member's skill item whose head is also asked for (掛け軸の修復 for
/// "restoring a scroll", 味噌作り教室 for "someone to teach miso making"):
/// the thing it qualifies is then what is asked, and the job done to it too.
fn job_asked(index: &Index, query: &Query, h: &TermHit) -> bool {
    if h.field == Field::Bio || h.tail == super::index::NO_TAIL {
        return false;
    }
    let theirs = &index.tails[h.tail as usize];
    query.terms.iter().enumerate().any(|(i, t)| {
        i != h.term as usize
            && t.need
            && !t.background
            && (t.term.keys.iter().any(|(k, _)| theirs.keys.contains(k))
                // or the same kind of service (teach, 教室)
                || t.concept.is_some_and(|c| theirs.kinds.contains(&c)))
    })
}

/// Whether a request word names a person by what they do: English agent
/// suffixes, a katakana loan of one (シンガー, アーティスト), or a Japanese
/// agent suffix (歌手, 演奏者, 写真家, 調律師).
fn names_agent(surface: &str) -> bool {
    let w = surface.to_lowercase();
    let latin = ["er", "or", "ist", "ian"];
    let kana = ["ー", "スト", "ニスト", "アン"];
    let kanji = ['手', '者', '家', '師', '士', '員'];
    (w.is_ascii() && w.len() > 4 && latin.iter().any(|s| w.ends_with(s)))
        || (!w.is_ascii() && w.chars().count() > 2 && kana.iter().any(|s| w.ends_with(s)))
        || (w.chars().count() >= 2 && w.chars().last().is_some_and(|c| kanji.contains(&c)))
}

/// A request phrase ending in a generic word names the kind of service
/// (ピアノの先生: a teacher); a member's phrase ending in another kind of
/// word names another (ピアノ修理: a repairer), so the shared word is not
/// direct evidence. Tails of one kind share a key or a curated concept
/// (先生, 講師, teacher); a tail the vocabulary does not file (方) says nothing.
fn tails_differ(index: &Index, query: &Query, h: &TermHit) -> bool {
    let ti = h.term as usize;
    let phrase = query.terms[ti].term.phrase;
    let Some(last) = query.terms.iter().rposition(|t| t.term.phrase == phrase) else {
        return false;
    };
    let asked = &query.terms[last].term;
    if last == ti || !asked.generic || h.tail == super::index::NO_TAIL {
        return false;
    }
    let theirs = &index.tails[h.tail as usize];
    if asked.keys.iter().any(|(k, _)| theirs.keys.contains(k)) {
        return false;
    }
    // only a generic word the curated vocabulary files under a kind of
    // service names one (先生, lessons); 方 or "person" names nobody's trade
    let mine = super::index::service_kinds(&index.vocab, &asked.surface);
    !mine.is_empty() && !theirs.kinds.iter().any(|c| mine.contains(c))
}

/// The directory's own words say which trades come in kinds: a request
/// phrase that names its head with words of its own (「輸入車の車検」, "a
/// Python developer") asks for that kind, and a member's skill item that
/// names the same head with other words (「オートバイの車検」, "Go backend
/// developer") is another kind of it. Without evidence anywhere in their
/// profile for one of the request's own words, the shared head is no
/// direct evidence (a near-miss). A member whose item is the bare head
/// ("developer") still has it. Curated or not, the words decide.
fn specialty_differs(
    index: &Index,
    query: &Query,
    (m, tally): (u32, &UnitTally),
    h: &TermHit,
) -> bool {
    let Field::Skill(i) = h.field else {
        return false;
    };
    if h.modifier {
        return false;
    }
    let ti = h.term as usize;
    let phrase = query.terms[ti].term.phrase;
    let own: Vec<usize> = (0..query.terms.len())
        .filter(|&j| j != ti && query.terms[j].term.phrase == phrase && query.terms[j].opens())
        .collect();
    if own.is_empty() || tally.hits.iter().any(|x| own.contains(&(x.term as usize))) {
        return false;
    }
    let Some((key, _)) = query.terms[ti].term.keys.get(h.key as usize) else {
        return false;
    };
    let Some(skill) = index.members[m as usize].skills.get(i as usize) else {
        return false;
    };
    ITEM_KINDS.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some(&known) = memo
            .get(key.as_str())
            .and_then(|items| items.get(skill.as_str()))
        {
            return known;
        }
        let kind = names_a_kind(skill, key);
        // bounds, not a cache policy: the answer is a pure function of the
        // text, and items repeat within a request and across them
        if memo.len() > 4096 {
            memo.clear();
        }
        let items = memo.entry(key.clone()).or_default();
        if items.len() > 65_536 {
            items.clear();
        }
        items.insert(skill.clone(), kind);
        kind
    })
}

thread_local! {
    /// Whether a skill item names the head under a key with words of its
    /// own: many members share an item ("Go developer"), so it is read once.
    static ITEM_KINDS: std::cell::RefCell<HashMap<String, HashMap<String, bool>>> =
        std::cell::RefCell::new(HashMap::new());
}

/// Whether the skill item's phrase holding `key` has other specific words.
fn names_a_kind(skill: &str, key: &str) -> bool {
    let theirs = terms::terms(&normalize(skill), 0).0;
    let Some(head) = theirs.iter().find(|t| t.keys.iter().any(|(k, _)| k == key)) else {
        return false;
    };
    theirs
        .iter()
        .any(|t| t.phrase == head.phrase && t.start != head.start && !t.generic && !t.fragment)
}

/// The same for a member's own skill item taken as a phrase of the
/// directory (someone's item "developer" met inside the asked "Haskell
/// developer"): whoever it reaches needs evidence for the request's own
/// words beside it, unless their item is that bare phrase itself.
pub fn phrase_concept_ok(
    index: &Index,
    query: &Query,
    (m, unit): (u32, &UnitTally),
    concept: u32,
) -> bool {
    if index.vocab.concepts[concept as usize].kind != Kind::Phrase {
        return true;
    }
    let Some(qc) = query.concepts.iter().find(|q| q.concept == concept) else {
        return true;
    };
    let inside = normalize(&qc.surface);
    let phrases: Vec<u32> = query
        .terms
        .iter()
        .filter(|t| t.need && inside.contains(&t.term.surface))
        .map(|t| t.term.phrase)
        .collect();
    let own: Vec<usize> = (0..query.terms.len())
        .filter(|&j| {
            let t = &query.terms[j];
            phrases.contains(&t.term.phrase)
                && !inside.contains(&t.term.surface)
                && t.need
                && t.primary
                && !t.background
                && !t.term.generic
                && !t.is_fragment()
        })
        .collect();
    own.is_empty()
        || unit.hits.iter().any(|h| own.contains(&(h.term as usize)))
        || index.members[m as usize]
            .skills
            .iter()
            .any(|s| normalize(s) == inside)
}

/// A one-kanji word (庭, 家) has many senses: it is direct evidence only
/// in its own form in a skill item (庭 → 庭師), never through one of its
/// glosses (家 → house cleaning) or a word somewhere in a bio.
fn lone_kanji_stretched(query: &Query, h: &TermHit) -> bool {
    let t = &query.terms[h.term as usize].term;
    !t.latin && t.surface.chars().count() < 2 && (h.via != Via::Same || h.field == Field::Bio)
}

fn is_head(query: &Query, ti: usize) -> bool {
    let phrase = query.terms[ti].term.phrase;
    let last = query
        .terms
        .iter()
        .enumerate()
        .filter(|(_, t)| t.term.phrase == phrase && !t.term.generic)
        .map(|(i, _)| i)
        .next_back();
    last == Some(ti)
}

/// Where an asked word is named bare in one asked phrase (a subject
/// "Mechanic") and with more words in another ("a car mechanic"), the
/// fuller one says what is wanted. A phrase with a word of its own
/// (「家具職人」, 「家具の修理」) is its own need.
fn governing_term(query: &Query, ti: usize) -> usize {
    let key = |i: usize| query.terms[i].term.keys.first().map(|k| &k.0);
    let words = |i: usize| {
        let phrase = query.terms[i].term.phrase;
        // an asking word, a place or a language ("wanted", "Tokyo") is not part of what is asked
        (0..query.terms.len())
            .filter(|&j| query.terms[j].term.phrase == phrase)
            .filter(|&j| !query.terms[j].covered || query.terms[j].concept.is_some())
            .filter_map(key)
            .collect::<Vec<_>>()
    };
    let own = words(ti);
    (0..query.terms.len())
        .filter(|&j| query.terms[j].opens() && key(j) == key(ti))
        .map(|j| (j, words(j)))
        .filter(|(_, w)| own.iter().all(|k| w.contains(k)))
        .max_by_key(|(j, w)| (w.len(), *j == ti))
        .map_or(ti, |(j, _)| j)
}

/// The share of an asked term's phrase (its specific words, by weight) the member has.
fn coverage(query: &Query, weights: &[f32], tally: &UnitTally, ti: usize) -> f32 {
    let phrase = query.terms[ti].term.phrase;
    let in_phrase = |i: usize| {
        let t = &query.terms[i];
        t.term.phrase == phrase && !t.term.generic
    };
    let total: f32 = (0..query.terms.len())
        .filter(|&i| in_phrase(i))
        .map(|i| weights[i])
        .sum();
    let got: f32 = tally
        .hits
        .iter()
        .filter(|x| in_phrase(x.term as usize))
        .map(|x| weights[x.term as usize] * x.strength)
        .sum();
    if total > 0.0 { got / total } else { 0.0 }
}

/// A candidate with its evidence and readable reasons.
pub fn candidate(
    index: &Index,
    query: &Query,
    m: u32,
    score: f32,
    concepts: &Tally,
    units: &UnitTally,
) -> Candidate {
    let member = &index.members[m as usize];
    let mut weighed: Vec<(f32, Evidence)> = concepts
        .evidence
        .iter()
        .map(|e| {
            let qc = &query.concepts[e.query_index];
            (qc.weight * e.strength, concept_evidence(index, m, qc, e))
        })
        .collect();
    weighed.extend(units.hits.iter().filter_map(|h| {
        let ev = unit_evidence(index, query, m, h)?;
        Some((UNIT_WEIGHT * h.strength / 2.0, ev))
    }));
    weighed.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut evidence: Vec<Evidence> = Vec::new();
    for (_, e) in weighed {
        if !evidence
            .iter()
            .any(|x| x.request == e.request && x.member == e.member)
        {
            evidence.push(e);
        }
    }
    let mut reasons: Vec<String> = evidence.iter().map(Evidence::reason).collect();
    reasons.extend(region_factor(index, query, m).1);
    reasons.extend(language_factor(index, query, m).1);
    Candidate {
        member_id: member.id,
        email: member.email.as_str().to_string(),
        name: member.name.clone(),
        score: (score.clamp(0.0, 1.0) * 1000.0).round() / 1000.0,
        reasons,
        evidence,
    }
}

fn is_latin(s: &str) -> bool {
    s.chars()
        .filter(|c| c.is_alphabetic())
        .all(|c| c.is_ascii())
}

fn concept_evidence(
    index: &Index,
    m: u32,
    qc: &super::request::QueryConcept,
    e: &super::rank::Evidence,
) -> Evidence {
    let member = &index.members[m as usize];
    // the member's own skill item with the request's words (就業規則) says
    // more than the one the concept was indexed under (社会保険労務士)
    let asked = normalize(&qc.surface);
    let own = (!e.related)
        .then(|| member.skills.iter().find(|s| normalize(s).contains(&asked)))
        .flatten();
    let (source, words) = match (own, e.field) {
        (Some(skill), _) => (Source::Skill, skill.clone()),
        (None, Field::Skill(i)) => (
            Source::Skill,
            member.skills.get(i as usize).cloned().unwrap_or_default(),
        ),
        (None, Field::Bio) => (Source::Profile, bio_phrase(index, m, qc.concept)),
    };
    let how = if e.related {
        How::Related
    } else if normalize(&words).contains(&normalize(&qc.surface)) {
        How::SameWord
    } else if is_latin(&words) != is_latin(&qc.surface) {
        How::Translation
    } else {
        How::Synonym
    };
    Evidence {
        request: qc.surface.clone(),
        member: words,
        source,
        how,
    }
}

/// The words of the bio that named a concept (or the clause, if only a
/// broader concept was found there).
fn bio_phrase(index: &Index, m: u32, concept: u32) -> String {
    let member = &index.members[m as usize];
    let mut fallback = None;
    for clause in affirmed_clauses(&member.bio) {
        for hit in index.vocab.scan(clause, false) {
            if let Target::Concept(c) = hit.target {
                let broader = &index.vocab.concepts[c as usize].broader;
                if c == concept {
                    return hit.surface;
                }
                if broader.contains(&concept) {
                    fallback.get_or_insert(hit.surface);
                }
            }
        }
    }
    fallback.unwrap_or_else(|| member.bio.chars().take(40).collect())
}

/// The member's own word behind a term hit, found again in their profile.
fn unit_evidence(index: &Index, query: &Query, m: u32, h: &TermHit) -> Option<Evidence> {
    let member = &index.members[m as usize];
    let qt = &query.terms[h.term as usize];
    let (key, _) = qt.term.keys.get(h.key as usize)?;
    let texts: Vec<&str> = match h.field {
        Field::Skill(i) => vec![member.skills.get(i as usize)?.as_str()],
        Field::Bio => affirmed_clauses(&member.bio).collect(),
    };
    let word = texts.iter().find_map(|text| {
        terms::terms(&normalize(text), 0)
            .0
            .into_iter()
            .find(|t| t.keys.iter().any(|(k, _)| k == key))
            .map(|t| t.surface)
    })?;
    let (source, words) = match h.field {
        Field::Skill(i) => (Source::Skill, member.skills.get(i as usize)?.clone()),
        Field::Bio => (Source::Profile, word),
    };
    let how = match h.via {
        Via::Same => How::SameWord,
        Via::Sense => How::Synonym,
        Via::Translation | Via::Sound => How::Translation,
    };
    Some(Evidence {
        request: qt.term.surface.clone(),
        member: words,
        source,
        how,
    })
}
