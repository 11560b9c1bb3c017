//! Ranking: concept evidence (skills above bio, related trades far below a
//! real match), a lexical tie-breaker, soft region and language
//! constraints, fairness, exclusions, and the abstain rule.

use std::collections::{HashMap, HashSet};

use super::index::{Field, Index};
use super::request::{Query, QueryConcept};
use super::{Candidate, MatchContext};

/// A neighbouring trade (税理士 for a bookkeeping request) earns this share
/// of a real match: enough to order near-misses, never enough to beat one.
const RELATED_FACTOR: f32 = 0.35;
/// The lexical score (normalised to the best candidate) adds at most this,
/// about a third of a licence: it orders members with equal concepts.
const LEXICAL_WEIGHT: f32 = 1.0;
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
struct Evidence {
    query_index: usize,
    strength: f32,
    field: Field,
    related: bool,
}

#[derive(Debug, Default)]
struct Tally {
    evidence: Vec<Evidence>,
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

pub fn rank(index: &Index, query: &Query, ctx: &MatchContext, top: usize) -> Vec<Candidate> {
    let max_w = query.max_specific_weight();
    if max_w <= 0.0 || top == 0 {
        return Vec::new(); // no recognisable need: nobody is bothered
    }
    let eligible = |m: u32| eligible(index, ctx, m);
    let tallies = gather(index, query, &eligible);

    let mut scored: Vec<(u32, f32, f32, Tally)> = tallies
        .into_iter()
        .filter_map(|(m, tally)| {
            let concept_score: f32 = tally
                .evidence
                .iter()
                .map(|e| query.concepts[e.query_index].weight * e.strength)
                .sum();
            let specific: f32 = tally
                .evidence
                .iter()
                .filter(|e| !query.concepts[e.query_index].generic)
                .map(|e| query.concepts[e.query_index].weight * e.strength)
                .sum();
            // Evidence only on background mentions ("I'm a nurse myself")
            // or only via a related trade never qualifies on its own.
            let on_need = tally.evidence.iter().any(|e| {
                let qc = &query.concepts[e.query_index];
                qc.need && !qc.generic && !e.related
            });
            (on_need && specific / max_w >= ABSTAIN_THRESHOLD).then_some((
                m,
                concept_score,
                0.0,
                tally,
            ))
        })
        .collect();
    if scored.is_empty() {
        return Vec::new();
    }
    let candidates: HashSet<u32> = scored.iter().map(|s| s.0).collect();
    let lexical = lexical_scores(index, &query.tokens, &candidates);
    let best_lexical = lexical
        .values()
        .copied()
        .fold(0.0, f32::max)
        .max(f32::EPSILON);
    for s in &mut scored {
        let lex = lexical.get(&s.0).copied().unwrap_or(0.0) / best_lexical;
        s.2 = (s.1 + LEXICAL_WEIGHT * lex)
            * constraint_factor(index, query, s.0)
            * fairness(ctx, index, s.0);
    }
    scored.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let scale: f32 = query.concepts.iter().map(|c| c.weight).sum::<f32>() + LEXICAL_WEIGHT;
    scored
        .into_iter()
        .take(top)
        .map(|(m, _, score, tally)| candidate(index, query, m, score / scale, &tally))
        .collect()
}

fn eligible(index: &Index, ctx: &MatchContext, m: u32) -> bool {
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
fn gather(index: &Index, query: &Query, eligible: &dyn Fn(u32) -> bool) -> HashMap<u32, Tally> {
    // Only direct evidence on a specific need concept can make a member a
    // candidate, so a first pass over those postings opens the tallies. The
    // second pass (related trades, background mentions, generic words such
    // as "研修" with the longest postings) only adds to members already
    // found. The cost follows the postings of the request's own needs, not
    // the size of the directory.
    let mut tallies: HashMap<u32, Tally> = HashMap::new();
    for opening in [true, false] {
        for (qi, qc) in query.concepts.iter().enumerate() {
            let related = &index.vocab.concepts[qc.concept as usize].related;
            let sources = std::iter::once((qc.concept, 1.0, false))
                .chain(related.iter().map(|&r| (r, RELATED_FACTOR, true)));
            for (concept, factor, is_related) in sources {
                if opening != (opens(qc) && !is_related) {
                    continue;
                }
                for p in index.concepts.get(&concept).into_iter().flatten() {
                    let evidence = Evidence {
                        query_index: qi,
                        strength: p.strength * factor,
                        field: p.field,
                        related: is_related,
                    };
                    if opening {
                        if eligible(p.member) {
                            tallies.entry(p.member).or_default().offer(evidence);
                        }
                    } else if let Some(t) = tallies.get_mut(&p.member) {
                        t.offer(evidence);
                    }
                }
            }
        }
    }
    tallies
}

/// Whether direct evidence on this request concept can make a candidate.
fn opens(qc: &QueryConcept) -> bool {
    qc.need && !qc.generic
}

/// BM25 over profile tokens, for the candidates only.
fn lexical_scores(
    index: &Index,
    tokens: &[String],
    candidates: &HashSet<u32>,
) -> HashMap<u32, f32> {
    let n = index.members.len() as f32;
    let mut scores: HashMap<u32, f32> = HashMap::new();
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
        let mut add = |m: u32, tf: f32| {
            let len = index.entries[m as usize].lexical_len / index.avg_lexical_len;
            let s = idf * tf * (BM25_K1 + 1.0) / (tf + BM25_K1 * (1.0 - BM25_B + BM25_B * len));
            *scores.entry(m).or_default() += s;
        };
        // Postings are sorted by member: for a long list and few candidates,
        // look the candidates up instead of walking the list.
        if postings.len() > 8 * candidates.len() {
            for &m in candidates {
                if let Ok(i) = postings.binary_search_by_key(&m, |p| p.0) {
                    add(m, postings[i].1);
                }
            }
        } else {
            for &(m, tf) in postings {
                if candidates.contains(&m) {
                    add(m, tf);
                }
            }
        }
    }
    scores
}

/// Soft constraints: a stated region or language that the member does not
/// cover lowers the score; it does not exclude (requests often say
/// "preferably").
fn constraint_factor(index: &Index, query: &Query, m: u32) -> f32 {
    region_factor(index, query, m).0 * language_factor(index, query, m).0
}

fn region_factor(index: &Index, query: &Query, m: u32) -> (f32, Option<String>) {
    let e = &index.entries[m as usize];
    if query.places.is_empty() {
        return (1.0, None);
    }
    if query.places.iter().any(|p| e.places.contains(p)) {
        let region = &index.members[m as usize].region;
        return (1.0, Some(format!("region: {region}")));
    }
    if query.online_ok && e.online {
        return (1.0, Some("region: online".to_string()));
    }
    let same_area = query
        .places
        .iter()
        .any(|&p| e.areas.contains(&index.vocab.places[p as usize].area));
    if same_area {
        (REGION_SAME_AREA, None)
    } else {
        (REGION_MISMATCH, None)
    }
}

fn language_factor(index: &Index, query: &Query, m: u32) -> (f32, Option<String>) {
    if query.languages.is_empty() {
        return (1.0, None);
    }
    let e = &index.entries[m as usize];
    match query.languages.iter().find(|l| e.languages.contains(l)) {
        Some(l) => (1.0, Some(format!("language: {l}"))),
        None => (LANGUAGE_MISMATCH, None),
    }
}

fn fairness(ctx: &MatchContext, index: &Index, m: u32) -> f32 {
    let id = index.members[m as usize].id;
    let recent = ctx.recent_forwards.get(&id).copied().unwrap_or(0) as f32;
    (1.0 - FAIRNESS_STEP * recent).max(FAIRNESS_FLOOR)
}

fn candidate(index: &Index, query: &Query, m: u32, score: f32, tally: &Tally) -> Candidate {
    let member = &index.members[m as usize];
    let mut evidence = tally.evidence.clone();
    evidence.sort_by(|a, b| {
        let wa = query.concepts[a.query_index].weight * a.strength;
        let wb = query.concepts[b.query_index].weight * b.strength;
        wb.total_cmp(&wa)
    });
    let mut reasons: Vec<String> = evidence
        .iter()
        .map(|e| {
            let term = &query.concepts[e.query_index].surface;
            let field = match e.field {
                Field::Skill(i) => format!(
                    "skills: {}",
                    member
                        .skills
                        .get(i as usize)
                        .map(String::as_str)
                        .unwrap_or("")
                ),
                Field::Bio => "bio".to_string(),
            };
            let kind = if e.related { " (related)" } else { "" };
            format!("{term}{kind} → {field}")
        })
        .collect();
    reasons.extend(region_factor(index, query, m).1);
    reasons.extend(language_factor(index, query, m).1);
    Candidate {
        member_id: member.id,
        email: member.email.as_str().to_string(),
        name: member.name.clone(),
        score: (score.clamp(0.0, 1.0) * 1000.0).round() / 1000.0,
        reasons,
    }
}
