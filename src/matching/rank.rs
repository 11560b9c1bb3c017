//! Ranking: concept evidence (skills above bio, related trades far below a
//! real match), a lexical tie-breaker, soft region and language
//! constraints, fairness, exclusions, and the abstain rule.

use std::collections::{HashMap, HashSet};

use super::evidence::{self, Group, UnitTally};
use super::index::{Field, Index, Posting};
use super::request::{Query, QueryConcept};
use super::{MatchContext, RankPath, Ranked};

/// A neighbouring trade (税理士 for a bookkeeping request) earns this share
/// of a real match: enough to order near-misses, never enough to beat one.
const RELATED_FACTOR: f32 = 0.35;
/// The lexical score (normalised to the best candidate) adds at most this,
/// about a third of a licence: it orders members with equal concepts.
pub(super) const LEXICAL_WEIGHT: f32 = 1.0;
/// Abstain threshold, in units of the request's strongest specific concept.
///
/// A member qualifies when the weighted concept evidence they hold is at
/// least half of what one full match on the request's main need would earn:
/// e.g. the licence asked for, listed in their skills (1.0); or a listed
/// skill that the request also names (2/3); or the main trade only in the
/// bio (0.6). A related trade alone (0.35) or a generic word ("講師",
/// "training") never qualifies. The measure depends only on the request and
/// the member's own profile, never on how many members the circle has or on
/// corpus statistics, so the same threshold holds for 10 or 10,000 members.
pub const ABSTAIN_THRESHOLD: f32 = 0.5;
const REGION_SAME_AREA: f32 = 0.9;
const REGION_MISMATCH: f32 = 0.75;
const LANGUAGE_MISMATCH: f32 = 0.6;
/// Each recent forward costs 2% and the total never more than 10%: enough to
/// rotate work among equally good fits, too little to reorder a strong and a
/// weak one.
const FAIRNESS_STEP: f32 = 0.02;
const FAIRNESS_FLOOR: f32 = 0.9;
const BM25_K1: f32 = 1.2;
const BM25_B: f32 = 0.75;

/// One member's evidence for one request concept.
#[derive(Debug, Clone, Copy)]
pub(super) struct Evidence {
    pub query_index: usize,
    pub strength: f32,
    pub field: Field,
    pub related: bool,
}

#[derive(Debug, Default, Clone)]
pub(super) struct Tally {
    pub evidence: smallvec::SmallVec<[Evidence; 2]>,
}

impl Tally {
    fn offer(&mut self, e: Evidence) {
        match self
            .evidence
            .iter_mut()
            .find(|x| x.query_index == e.query_index)
        {
            Some(x) if x.strength < e.strength => *x = e,
            Some(_) => {}
            None => self.evidence.push(e),
        }
    }
}

/// Maps keyed by member index (a request touches thousands of entries in a
/// large directory): a multiplying hash instead of SipHash, as the keys are
/// small integers the index assigns, not input anyone chooses.
pub(super) type MemberMap<T> = HashMap<u32, T, std::hash::BuildHasherDefault<MemberHasher>>;

#[derive(Default)]
pub(super) struct MemberHasher(u64);

impl std::hash::Hasher for MemberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// A member's standing for one request.
pub(super) struct Scored {
    pub member: u32,
    pub score: f32,
    concepts: Tally,
    units: UnitTally,
    group: Option<Group>,
}

pub fn rank(index: &Index, query: &Query, ctx: &MatchContext, top: usize) -> Ranked {
    rank_with(index, query, ctx, top, RankPath::Pruned).0
}

/// The ranking, with each list's unrounded scores (for the bench's check of
/// the pruned path against the exhaustive one).
pub fn rank_with(
    index: &Index,
    query: &Query,
    ctx: &MatchContext,
    top: usize,
    path: RankPath,
) -> (Ranked, Vec<f32>, Vec<f32>) {
    let max_w = query.max_specific_weight();
    let opens_units = query.terms.iter().any(|t| t.opens());
    if (max_w <= 0.0 && !opens_units) || top == 0 {
        // no recognisable need: nobody is bothered
        return (Ranked::default(), Vec::new(), Vec::new());
    }
    let eligible = |m: u32| eligible(index, ctx, m);
    let mut tallies = gather(index, query, &eligible);
    let units = evidence::gather_terms(index, query, &eligible, &tallies);
    for m in units.keys() {
        tallies.entry(*m).or_default();
    }
    let scale = query.concepts.iter().map(|c| c.weight).sum::<f32>()
        + if opens_units {
            evidence::UNIT_WEIGHT
        } else {
            0.0
        }
        + LEXICAL_WEIGHT;
    let judge = Judge::new(index, query, max_w);
    // with alternatives each asked thing keeps its own k: every member is judged
    let (chosen, near) = if path != RankPath::Exhaustive && !query.alternatives {
        let near = path == RankPath::Pruned;
        super::topk::best(judge, ctx, top, (tallies, units), near)
    } else {
        exhaustive(judge, ctx, top, tallies, units)
    };
    let raw = |list: &[Scored]| list.iter().map(|s| s.score / scale).collect::<Vec<f32>>();
    let (raw_chosen, raw_near) = (raw(&chosen), raw(&near));
    let to_candidate = |s: Scored| {
        evidence::candidate(
            index,
            query,
            s.member,
            s.score / scale,
            &s.concepts,
            &s.units,
        )
    };
    let ranked = Ranked {
        candidates: chosen.into_iter().map(to_candidate).collect(),
        near_misses: near.into_iter().map(to_candidate).collect(),
    };
    (ranked, raw_chosen, raw_near)
}

/// Every member with evidence judged, pruned to the top k before the lexical
/// tie-breaker, finished, and (with alternatives) spread over the asked things.
fn exhaustive(
    mut judge: Judge<'_>,
    ctx: &MatchContext,
    top: usize,
    tallies: MemberMap<Tally>,
    mut units: MemberMap<UnitTally>,
) -> (Vec<Scored>, Vec<Scored>) {
    let (index, query) = (judge.index, judge.query);
    let mut qualified = Vec::new();
    let mut near = Vec::new();
    for (m, tally) in tallies {
        let unit = units.remove(&m).unwrap_or_default();
        match judge.judge(m, tally, unit) {
            (s, Verdict::Qualified) => qualified.push(s),
            (s, Verdict::Near) => near.push(s),
            (_, Verdict::Neither) => {}
        }
    }
    let qualified = prune(qualified, top, query.alternatives);
    let near = prune(near, top, false);
    let qualified = finish(
        index,
        query,
        ctx,
        qualified,
        (!query.alternatives).then_some(top),
    );
    let near = finish(index, query, ctx, near, Some(top));
    let chosen = if query.alternatives {
        spread(qualified, top)
    } else {
        qualified.into_iter().take(top).collect()
    };
    (chosen, near.into_iter().take(top).collect())
}

/// Whether a member qualifies, almost fits (a near-miss), or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Qualified,
    Near,
    Neither,
}

/// Judges the members with evidence one at a time, sharing the work that
/// depends only on the request.
pub(super) struct Judge<'a> {
    pub index: &'a Index,
    pub query: &'a Query,
    weights: Vec<f32>,
    specialties: evidence::Specialties,
    /// Each request concept's group, worked out once, not per member.
    concept_groups: Vec<Group>,
    max_w: f32,
}

impl<'a> Judge<'a> {
    fn new(index: &'a Index, query: &'a Query, max_w: f32) -> Self {
        Self {
            index,
            query,
            weights: evidence::term_weights(index, query),
            specialties: evidence::Specialties::default(),
            concept_groups: (0..query.concepts.len())
                .map(|qi| concept_group(query, qi))
                .collect(),
            max_w,
        }
    }

    /// The score [`Judge::judge`] gives a member, without judging whether
    /// they qualify (the same arithmetic, so the same bits).
    pub fn evidence_score(&self, tally: &Tally, unit: &UnitTally) -> f32 {
        concept_score(self.query, tally) + evidence::unit_score(self.query, &self.weights, unit)
    }

    /// Whether a member qualifies or is a near-miss, with their evidence score.
    pub fn judge(&mut self, m: u32, tally: Tally, unit: UnitTally) -> (Scored, Verdict) {
        let (index, query, weights) = (self.index, self.query, &self.weights);
        let (concept_score, mut concept_ok, concept_group) =
            concept_standing(query, &tally, self.max_w, &self.concept_groups);
        concept_ok &= !only_topics(index, query, &tally);
        if let Some(c) = concept_ok.then(|| best_concept(query, &tally)).flatten() {
            let held: smallvec::SmallVec<[u32; 4]> = tally
                .evidence
                .iter()
                .filter(|e| !e.related)
                .map(|e| query.concepts[e.query_index].concept)
                .collect();
            concept_ok &= evidence::concept_phrase_ok(query, weights, &unit, &held, c)
                && self.specialties.ok(index, query, &unit, &held, c)
                && evidence::phrase_concept_ok(index, query, (m, &unit), c);
        }
        let (unit_score, unit_ok, unit_group) =
            evidence::unit_standing(index, query, weights, (m, &unit));
        let s = Scored {
            member: m,
            score: concept_score + unit_score,
            concepts: tally,
            units: unit,
            group: if concept_ok {
                concept_group
            } else {
                unit_group
            },
        };
        let verdict = if (concept_ok || unit_ok)
            && language_pair_ok(index, query, m)
            && !declines(index, query, m)
        {
            Verdict::Qualified
        } else if s.score > 0.0 {
            Verdict::Near
        } else {
            Verdict::Neither
        };
        (s, verdict)
    }
}

/// The weighted concept evidence a member holds.
fn concept_score(query: &Query, tally: &Tally) -> f32 {
    tally
        .evidence
        .iter()
        .map(|e| query.concepts[e.query_index].weight * e.strength)
        .sum()
}

/// Concept score, whether it qualifies, and the need it answers best.
fn concept_standing(
    query: &Query,
    tally: &Tally,
    max_w: f32,
    groups: &[Group],
) -> (f32, bool, Option<Group>) {
    let concept_score = concept_score(query, tally);
    let specific: f32 = tally
        .evidence
        .iter()
        .filter(|e| !query.concepts[e.query_index].generic && !e.related)
        .map(|e| query.concepts[e.query_index].weight * e.strength)
        .sum();
    // Evidence only on background mentions ("I'm a nurse myself")
    // or only via a related trade never qualifies on its own.
    let best_need = strongest_direct_need(query, tally);
    let ok = max_w > 0.0 && best_need.is_some() && specific / max_w >= ABSTAIN_THRESHOLD;
    let group = best_need.map(|e| groups[e.query_index]);
    (concept_score, ok, group)
}

/// A topic (a home visit, a mode of service) says how, not who: when the
/// request also asks for words of its own (ピアノ of ピアノの先生) or names
/// a trade (a vet who makes home visits), direct evidence only on topics
/// is not enough.
fn only_topics(index: &Index, query: &Query, tally: &Tally) -> bool {
    let is_topic = |c: u32| index.vocab.concepts[c as usize].kind == super::vocabulary::Kind::Topic;
    let asks_words = query.terms.iter().any(|t| t.opens());
    let names_trade = query
        .concepts
        .iter()
        .any(|qc| qc.need && !qc.generic && !is_topic(qc.concept));
    (asks_words || names_trade)
        && direct_need(query, tally).all(|e| is_topic(query.concepts[e.query_index].concept))
}

/// The need concept a member's strongest direct evidence is on.
fn best_concept(query: &Query, tally: &Tally) -> Option<u32> {
    strongest_direct_need(query, tally).map(|e| query.concepts[e.query_index].concept)
}

/// A member's direct evidence on the request's need: on a need concept that
/// is not generic, and not only through a related trade.
fn direct_need<'a>(query: &'a Query, tally: &'a Tally) -> impl Iterator<Item = &'a Evidence> {
    tally.evidence.iter().filter(|e| {
        let qc = &query.concepts[e.query_index];
        qc.need && !qc.generic && !e.related
    })
}

/// The strongest of [`direct_need`], by the concept's weight times the hit's strength.
fn strongest_direct_need<'a>(query: &'a Query, tally: &'a Tally) -> Option<&'a Evidence> {
    let w = |e: &Evidence| query.concepts[e.query_index].weight * e.strength;
    direct_need(query, tally).max_by(|a, b| w(a).total_cmp(&w(b)))
}

/// Which asked-for thing a concept stands for: the request phrase it was
/// named in, so a member's own skill phrase and a translation of the same
/// words land in one group.
fn concept_group(query: &Query, qi: usize) -> Group {
    let qc = &query.concepts[qi];
    let surface = super::text::normalize(&qc.surface);
    query
        .terms
        .iter()
        .position(|t| t.need && surface.contains(&t.term.surface))
        .map_or(Group::Concept(qc.concept), |i| {
            evidence::word_group(query, i)
        })
}

/// The lowest the soft factors can bring a score to.
pub(super) const MIN_FACTOR: f32 = REGION_MISMATCH * LANGUAGE_MISMATCH * FAIRNESS_FLOOR;

/// Top-k pruning (max-score): the lexical tie-breaker adds at most
/// `LEXICAL_WEIGHT` and the soft factors only lower a score, so a member
/// whose evidence plus that is below the k-th best evidence at its lowest
/// can never enter the shortlist; only the rest get the lexical and soft
/// factors. With alternatives, each asked thing keeps its own k.
fn prune(scored: Vec<Scored>, k: usize, per_group: bool) -> Vec<Scored> {
    if scored.len() <= k {
        return scored;
    }
    let mut groups: Vec<(Option<Group>, Vec<Scored>)> = Vec::new();
    for s in scored {
        let key = if per_group { s.group } else { None };
        match groups.iter_mut().find(|(g, _)| *g == key) {
            Some((_, list)) => list.push(s),
            None => groups.push((key, vec![s])),
        }
    }
    let mut out = Vec::new();
    for (_, mut list) in groups {
        if list.len() > k {
            list.select_nth_unstable_by(k - 1, |a, b| b.score.total_cmp(&a.score));
            let floor = list[k - 1].score * MIN_FACTOR;
            list.retain(|s| s.score + LEXICAL_WEIGHT >= floor);
        }
        out.extend(list);
    }
    out
}

/// Adds the lexical tie-breaker and the soft factors, then sorts best first;
/// with `keep`, only the best `keep` are returned, and the soft factors are
/// worked out only for members who can still be among them.
fn finish(
    index: &Index,
    query: &Query,
    ctx: &MatchContext,
    mut scored: Vec<Scored>,
    keep: Option<usize>,
) -> Vec<Scored> {
    let candidates: Vec<u32> = scored.iter().map(|s| s.member).collect();
    let lexical = lexical_scores(index, &query.tokens, &candidates);
    let best_lexical = lexical
        .iter()
        .copied()
        .fold(0.0, f32::max)
        .max(f32::EPSILON);
    for (s, lex) in scored.iter_mut().zip(lexical) {
        s.score += LEXICAL_WEIGHT * (lex / best_lexical);
    }
    let soft = |s: &mut Scored| {
        s.score =
            s.score * constraint_factor(index, query, s.member) * fairness(ctx, index, s.member)
    };
    let Some(k) = keep else {
        scored.iter_mut().for_each(soft);
        scored.sort_by(best_first);
        return scored;
    };
    // The soft factors only lower a score: once the next score before them
    // is below the k-th best after them, nobody further can enter.
    scored.sort_by(best_first);
    let mut best: Vec<Scored> = Vec::with_capacity(k + 1);
    for mut s in scored {
        if best.len() >= k && best[k - 1].score > s.score {
            break;
        }
        soft(&mut s);
        let at = best.partition_point(|b| best_first(b, &s).is_lt());
        best.insert(at, s);
        best.truncate(k);
    }
    best
}

/// Highest score first; equal scores by member, so the order is stable.
pub(super) fn best_first(a: &Scored, b: &Scored) -> std::cmp::Ordering {
    b.score.total_cmp(&a.score).then(a.member.cmp(&b.member))
}

/// When the request offers alternatives, the best of each before the
/// second-best of any (groups in the order of their best member).
fn spread(sorted: Vec<Scored>, top: usize) -> Vec<Scored> {
    let mut groups: Vec<(Option<Group>, Vec<Scored>)> = Vec::new();
    for s in sorted {
        match groups.iter_mut().find(|(g, _)| *g == s.group) {
            Some((_, list)) => list.push(s),
            None => groups.push((s.group, vec![s])),
        }
    }
    let mut queues: Vec<std::collections::VecDeque<Scored>> =
        groups.into_iter().map(|(_, l)| l.into()).collect();
    let mut out = Vec::new();
    while out.len() < top && queues.iter().any(|q| !q.is_empty()) {
        for q in queues.iter_mut() {
            if out.len() < top
                && let Some(s) = q.pop_front()
            {
                out.push(s);
            }
        }
    }
    out
}

/// For translation and interpretation the language pair is the point: a
/// member must cover every language the request names for it.
fn language_pair_ok(index: &Index, query: &Query, m: u32) -> bool {
    if !query.translation || query.pair.is_empty() {
        return true;
    }
    let e = &index.entries[m as usize];
    // a profile that names a pair where it says it translates
    // ("Indonesian-Japanese translation") works in that pair, whatever
    // else its owner speaks
    let pair = translation_pair(&index.members[m as usize]);
    let named_pair = pair.len() >= 2;
    query.pair.iter().all(|l| {
        pair.contains(l)
            || !named_pair && (e.languages.contains(l) || e.named_languages.contains(l))
    })
}

/// The languages a member names in the skill items and bio clauses that
/// say they translate or interpret.
fn translation_pair(member: &crate::domain::Member) -> Vec<String> {
    const WORDS: &[&str] = &["翻訳", "通訳", "translat", "interpret"];
    let mut out: Vec<String> = Vec::new();
    let texts = member
        .skills
        .iter()
        .map(String::as_str)
        .chain(super::index::affirmed_clauses(&member.bio));
    for text in texts.filter(|t| WORDS.iter().any(|w| t.to_lowercase().contains(w))) {
        for l in super::request::languages_named(text) {
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    out
}

/// Whether the member's bio says they do not do something the request
/// names (every word of a declined thing among the request's words, in
/// either language): they are a near-miss, never a candidate.
fn declines(index: &Index, query: &Query, m: u32) -> bool {
    let declined = &index.entries[m as usize].declined;

    if declined.is_empty() {
        return false;
    }
    let asked: HashSet<&str> = query
        .terms
        .iter()
        .flat_map(|t| t.term.keys.iter())
        .filter(|(_, via)| *via != super::terms::Via::Sound)
        .map(|(k, _)| k.as_str())
        .collect();
    declined.iter().any(|thing| {
        // 「日本語→英語の翻訳はお受けしていません」 still takes English→Japanese
        let same_direction = match (&thing.target, &query.target) {
            (Some(declined), Some(asked)) => declined == asked,
            _ => true,
        };
        same_direction
            && thing
                .words
                .iter()
                .all(|keys| keys.iter().any(|k| asked.contains(k.as_str())))
    })
}

fn eligible(index: &Index, ctx: &MatchContext, m: u32) -> bool {
    // a dense flag first: the member record itself is far away in memory
    if !index.active[m as usize] {
        return false;
    }
    let nobody_excluded =
        ctx.exclude_members.is_empty() && ctx.exclude_emails.is_empty() && ctx.weekly_cap.is_none();
    if nobody_excluded {
        return true;
    }
    let member = &index.members[m as usize];
    if !member.is_active() || ctx.exclude_members.contains(&member.id) {
        return false;
    }
    if ctx
        .exclude_emails
        .iter()
        .any(|e| e.key() == member.email.key())
    {
        return false;
    }
    let recent = ctx.recent_forwards.get(&member.id).copied().unwrap_or(0);
    ctx.weekly_cap.is_none_or(|cap| recent < cap)
}

/// Walks the postings of each request concept and of its related concepts.
fn gather(index: &Index, query: &Query, eligible: &dyn Fn(u32) -> bool) -> MemberMap<Tally> {
    // Only evidence on a specific need concept (direct, or related for the
    // near-misses admins are told about) opens a tally in the first pass.
    // The second pass (background mentions, generic words such as "研修"
    // with the longest postings) only adds to members already found. The cost follows the postings of the request's own needs, not
    // the size of the directory.
    let mut tallies: MemberMap<Tally> = MemberMap::default();
    for opening in [true, false] {
        for (qi, qc) in query.concepts.iter().enumerate() {
            let related = &index.vocab.concepts[qc.concept as usize].related;
            let sources = std::iter::once((qc.concept, 1.0, false))
                .chain(related.iter().map(|&r| (r, RELATED_FACTOR, true)));
            for (concept, factor, is_related) in sources {
                // related trades open a tally too, but only as near-misses
                if opening != opens(qc) {
                    continue;
                }
                let postings = index.concepts.get(&concept).map_or(&[][..], Vec::as_slice);
                let evidence = |p: &Posting| Evidence {
                    query_index: qi,
                    strength: p.strength * factor,
                    field: p.field,
                    related: is_related,
                };
                if opening {
                    for p in postings.iter().filter(|p| eligible(p.member)) {
                        tallies.entry(p.member).or_default().offer(evidence(p));
                    }
                } else {
                    for_members(
                        postings,
                        |p| p.member,
                        &mut tallies,
                        |t, p| t.offer(evidence(p)),
                    );
                }
            }
        }
    }
    tallies
}

/// Offers the postings of members already found: walking a short list, or
/// (postings are sorted by member) looking each found member up in a long
/// one, so a common word costs what the candidates cost, not the directory.
pub(super) fn for_members<P, T>(
    postings: &[P],
    member: impl Fn(&P) -> u32,
    found: &mut MemberMap<T>,
    mut offer: impl FnMut(&mut T, &P),
) {
    if postings.len() > 8 * found.len() {
        for (m, t) in found.iter_mut() {
            if let Ok(i) = postings.binary_search_by_key(m, &member) {
                offer(t, &postings[i]);
            }
        }
    } else {
        for p in postings {
            if let Some(t) = found.get_mut(&member(p)) {
                offer(t, p);
            }
        }
    }
}

/// Whether direct evidence on this request concept can make a candidate.
fn opens(qc: &QueryConcept) -> bool {
    qc.need && !qc.generic
}

/// BM25 over profile tokens, for the candidates only (one score per
/// candidate, in their order).
pub(super) fn lexical_scores(index: &Index, tokens: &[String], candidates: &[u32]) -> Vec<f32> {
    let n = index.members.len() as f32;
    let mut scores = vec![0.0f32; candidates.len()];
    // where each candidate's score is, by member: walking a long posting
    // list then costs an array read per posting, not a hash lookup
    let mut slot: Vec<u32> = Vec::new();
    let mut seen = HashSet::new();
    for t in tokens {
        if !seen.insert(t) {
            continue;
        }
        let Some(postings) = index.lexicon.get(t) else {
            continue;
        };
        let df = postings.len() as f32;
        let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
        let bm25 = |m: u32, tf: f32| {
            let len = index.entries[m as usize].lexical_len / index.avg_lexical_len;
            idf * tf * (BM25_K1 + 1.0) / (tf + BM25_K1 * (1.0 - BM25_B + BM25_B * len))
        };
        // Postings are sorted by member: for a long list and few candidates,
        // look the candidates up instead of walking the list.
        if postings.len() > 8 * candidates.len() {
            for (c, &m) in candidates.iter().enumerate() {
                if let Ok(i) = postings.binary_search_by_key(&m, |p| p.0) {
                    scores[c] += bm25(m, postings[i].1);
                }
            }
        } else {
            if slot.is_empty() {
                slot = vec![u32::MAX; index.members.len()];
                for (c, &m) in candidates.iter().enumerate() {
                    slot[m as usize] = c as u32;
                }
            }
            for &(m, tf) in postings {
                if let Some(&c) = slot.get(m as usize).filter(|&&c| c != u32::MAX) {
                    scores[c as usize] += bm25(m, tf);
                }
            }
        }
    }
    scores
}

/// Soft constraints: a stated region or language that the member does not
/// cover lowers the score; it does not exclude (requests often say
/// "preferably").
pub(super) fn constraint_factor(index: &Index, query: &Query, m: u32) -> f32 {
    region_fit(index, query, m).factor() * language_fit(index, query, m).0
}

/// How a member's places meet the request's (the reason is worded only for
/// the shortlist, so ranking thousands of members formats no text).
enum RegionFit {
    NotAsked,
    Place,
    Online,
    SameArea,
    Elsewhere,
}

impl RegionFit {
    fn factor(&self) -> f32 {
        match self {
            Self::NotAsked | Self::Place | Self::Online => 1.0,
            Self::SameArea => REGION_SAME_AREA,
            Self::Elsewhere => REGION_MISMATCH,
        }
    }
}

fn region_fit(index: &Index, query: &Query, m: u32) -> RegionFit {
    let e = &index.entries[m as usize];
    if query.places.is_empty() {
        return RegionFit::NotAsked;
    }
    if query.places.iter().any(|p| e.places.contains(p)) {
        return RegionFit::Place;
    }
    if query.online_ok && e.online {
        return RegionFit::Online;
    }
    let same_area = query
        .places
        .iter()
        .any(|&p| e.areas.contains(&index.vocab.places[p as usize].area));
    if same_area {
        RegionFit::SameArea
    } else {
        RegionFit::Elsewhere
    }
}

/// The member's region, or when they left it blank, the place their
/// profile names (Sendai).
fn place_name(index: &Index, query: &Query, m: u32) -> String {
    let region = index.members[m as usize].region.trim();
    if !region.is_empty() {
        return region.to_string();
    }
    let e = &index.entries[m as usize];
    let id = query
        .places
        .iter()
        .find(|p| e.places.contains(p))
        .map_or("", |&p| index.vocab.places[p as usize].id.as_str());
    let mut name = id.chars();
    name.next()
        .map(|first| first.to_uppercase().chain(name).collect())
        .unwrap_or_default()
}

pub(super) fn region_factor(index: &Index, query: &Query, m: u32) -> (f32, Option<String>) {
    let fit = region_fit(index, query, m);
    let reason = match fit {
        RegionFit::Place => Some(format!("works in {}", place_name(index, query, m))),
        RegionFit::Online => Some("works online".to_string()),
        _ => None,
    };
    (fit.factor(), reason)
}

/// The language factor, and the language the member speaks that was asked.
fn language_fit<'q>(index: &Index, query: &'q Query, m: u32) -> (f32, Option<&'q String>) {
    if query.languages.is_empty() {
        return (1.0, None);
    }
    let e = &index.entries[m as usize];
    match query.languages.iter().find(|l| e.languages.contains(l)) {
        Some(l) => (1.0, Some(l)),
        None => (LANGUAGE_MISMATCH, None),
    }
}

pub(super) fn language_factor(index: &Index, query: &Query, m: u32) -> (f32, Option<String>) {
    let (factor, spoken) = language_fit(index, query, m);
    (
        factor,
        spoken.map(|l| format!("speaks {}", language_name(l))),
    )
}

pub(super) fn fairness(ctx: &MatchContext, index: &Index, m: u32) -> f32 {
    let id = index.members[m as usize].id;
    let recent = ctx.recent_forwards.get(&id).copied().unwrap_or(0) as f32;
    (1.0 - FAIRNESS_STEP * recent).max(FAIRNESS_FLOOR)
}

fn language_name(code: &str) -> &str {
    match code {
        "en" => "English",
        "ja" => "Japanese",
        "zh" => "Chinese",
        "es" => "Spanish",
        "ko" => "Korean",
        "fr" => "French",
        "de" => "German",
        "pt" => "Portuguese",
        other => other,
    }
}
