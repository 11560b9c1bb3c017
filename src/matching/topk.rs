//! The shortlist and near-misses without judging every member (max-score).
//!
//! Judging a member (does their evidence qualify, is it a near-miss) is the
//! costly part of ranking; a member's evidence score is cheap and is the
//! same number judging gives them. So members are judged lazily, best bound
//! first, and only until the rest cannot change the result:
//!
//! 1. the k-th best evidence score of each list (the floor below which the
//!    lexical tie-breaker cannot lift anyone into it): judge by evidence
//!    score until both lists have k members and the next score is not above
//!    either k-th;
//! 2. the best lexical score among each list's survivors (the tie-breaker is
//!    normalised by it): the lexical scores of everyone who may survive,
//!    judged by lexical score until each list's first survivor;
//! 3. each list's best k by the lexical tie-breaker and the soft factors
//!    (which only lower a score): judged by that score's bound until the
//!    next bound is below the k-th best.
//!
//! Every step reads the scores [`super::rank`]'s exhaustive path computes, in
//! its order, so the result is the same (`MATCH_BENCH_CHECK=1 cargo bench
//! --bench matching` compares the two).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::MatchContext;
use super::evidence::UnitTally;
use super::rank::{
    Judge, LEXICAL_WEIGHT, MIN_FACTOR, MemberMap, Scored, Tally, Verdict, best_first,
    constraint_factor, fairness, lexical_scores,
};

/// One member with evidence: their bound, and what judging found.
struct Slot {
    member: u32,
    /// The evidence score (an upper bound of it would do).
    bound: f32,
    lexical: f32,
    judged: Option<(Verdict, f32)>,
    pending: Option<(Tally, UnitTally)>,
    scored: Option<Scored>,
}

struct Pool<'a> {
    judge: Judge<'a>,
    slots: Vec<Slot>,
}

impl Pool<'_> {
    /// The member's verdict and evidence score, judged on first asking.
    fn verdict(&mut self, i: usize) -> (Verdict, f32) {
        let slot = &mut self.slots[i];
        if let Some(found) = slot.judged {
            return found;
        }
        let (tally, unit) = slot.pending.take().unwrap_or_default();
        let (scored, verdict) = self.judge.judge(slot.member, tally, unit);
        let found = (verdict, scored.score);
        slot.judged = Some(found);
        slot.scored = Some(scored);
        found
    }
}

/// A heap entry: a score (exact, or a bound before judging), best first;
/// at equal scores a bound before an exact one (judging it may tie), then
/// the lower member, as [`best_first`] orders.
#[derive(Clone, Copy)]
struct Key {
    value: f32,
    exact: bool,
    member: u32,
    slot: usize,
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value
            .total_cmp(&other.value)
            .then(other.exact.cmp(&self.exact))
            .then(other.member.cmp(&self.member))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

/// The best k scores seen, best first.
struct TopScores(Vec<f32>, usize);

impl TopScores {
    fn add(&mut self, score: f32) {
        let at = self.0.partition_point(|s| *s >= score);
        self.0.insert(at, score);
        self.0.truncate(self.1);
    }

    fn kth(&self) -> Option<f32> {
        (self.0.len() >= self.1).then(|| self.0[self.1 - 1])
    }

    /// Below this evidence plus the whole tie-breaker, nobody enters the list.
    fn floor(&self) -> f32 {
        self.kth().map_or(f32::NEG_INFINITY, |s| s * MIN_FACTOR)
    }
}

/// The best `top` qualified members and (with `near`) near-misses, best
/// first (the request names no alternatives). The shortlist does not depend
/// on the near-misses, so without them fewer members are judged.
pub(super) fn best(
    judge: Judge<'_>,
    ctx: &MatchContext,
    top: usize,
    (tallies, mut units): (MemberMap<Tally>, MemberMap<UnitTally>),
    near: bool,
) -> (Vec<Scored>, Vec<Scored>) {
    let slots = tallies
        .into_iter()
        .map(|(member, tally)| {
            let unit = units.remove(&member).unwrap_or_default();
            Slot {
                member,
                bound: judge.evidence_score(&tally, &unit),
                lexical: 0.0,
                judged: None,
                pending: Some((tally, unit)),
                scored: None,
            }
        })
        .collect();
    let mut pool = Pool { judge, slots };
    let floors = floors(&mut pool, top, near);
    let survivors = lexical(&mut pool, floors);
    let best_lexical = best_lexical(&mut pool, &survivors, floors);
    let kinds = if near {
        &[Verdict::Qualified, Verdict::Near][..]
    } else {
        &[Verdict::Qualified][..]
    };
    let mut lists = kinds
        .iter()
        .copied()
        .zip([floors.0, floors.1])
        .zip(best_lexical)
        .map(|((verdict, floor), b)| {
            let list = List { verdict, floor };
            list.best(&mut pool, ctx, &survivors, b, top)
        });
    let chosen = lists.next().unwrap_or_default();
    let near = lists.next().unwrap_or_default();
    (chosen, near)
}

/// Step 1: each list's floor (qualified, near-misses); without `near`, the
/// near-misses' is out of reach.
fn floors(pool: &mut Pool<'_>, k: usize, want_near: bool) -> (f32, f32) {
    let mut heap: BinaryHeap<Key> = pool
        .slots
        .iter()
        .enumerate()
        .map(|(slot, s)| Key {
            value: s.bound,
            exact: false,
            member: s.member,
            slot,
        })
        .collect();
    let (mut qualified, mut near) = (TopScores(Vec::new(), k), TopScores(Vec::new(), k));
    while let Some(key) = heap.pop() {
        let near_kth = if want_near {
            near.kth()
        } else {
            Some(f32::INFINITY)
        };
        if let (Some(q), Some(n)) = (qualified.kth(), near_kth)
            && key.value <= q.min(n)
        {
            break; // nobody left can change either k-th best
        }
        match pool.verdict(key.slot) {
            (Verdict::Qualified, score) => qualified.add(score),
            (Verdict::Near, score) => near.add(score),
            (Verdict::Neither, _) => {}
        }
    }
    let near_floor = if want_near {
        near.floor()
    } else {
        f32::INFINITY
    };
    (qualified.floor(), near_floor)
}

/// Whether a member may survive into a list: judged, they are of its kind
/// and reach its floor; not yet judged, their bound reaches it.
fn may_survive(slot: &Slot, verdict: Verdict, floor: f32) -> bool {
    match slot.judged {
        Some((v, score)) => v == verdict && score + LEXICAL_WEIGHT >= floor,
        None => slot.bound + LEXICAL_WEIGHT >= floor,
    }
}

/// Step 2a: the lexical scores of everyone who may survive into a list.
fn lexical(pool: &mut Pool<'_>, (q_floor, n_floor): (f32, f32)) -> Vec<usize> {
    let survivors: Vec<usize> = (0..pool.slots.len())
        .filter(|&i| {
            let s = &pool.slots[i];
            may_survive(s, Verdict::Qualified, q_floor) || may_survive(s, Verdict::Near, n_floor)
        })
        .collect();
    let members: Vec<u32> = survivors.iter().map(|&i| pool.slots[i].member).collect();
    let (index, query) = (pool.judge.index, pool.judge.query);
    for (&i, lex) in survivors
        .iter()
        .zip(lexical_scores(index, &query.tokens, &members))
    {
        pool.slots[i].lexical = lex;
    }
    survivors
}

/// Step 2b: the best lexical score among each list's survivors, as the
/// exhaustive path normalises by it.
fn best_lexical(
    pool: &mut Pool<'_>,
    survivors: &[usize],
    (q_floor, n_floor): (f32, f32),
) -> [f32; 2] {
    let mut heap: BinaryHeap<Key> = survivors
        .iter()
        .map(|&slot| Key {
            value: pool.slots[slot].lexical,
            exact: true,
            member: pool.slots[slot].member,
            slot,
        })
        .collect();
    let (mut q_best, mut n_best) = (None, None);
    // a list nobody can survive into (the near-misses when not asked for) needs none
    let (mut q_done, mut n_done) = (q_floor == f32::INFINITY, n_floor == f32::INFINITY);
    while !q_done || !n_done {
        let Some(key) = heap.pop() else { break };
        let slot = &pool.slots[key.slot];
        let wants_q = q_best.is_none() && may_survive(slot, Verdict::Qualified, q_floor);
        let wants_n = n_best.is_none() && may_survive(slot, Verdict::Near, n_floor);
        if !wants_q && !wants_n {
            continue;
        }
        let (verdict, score) = pool.verdict(key.slot);
        let survives = |floor: f32| score + LEXICAL_WEIGHT >= floor;
        if wants_q && verdict == Verdict::Qualified && survives(q_floor) {
            q_best = Some(key.value);
        }
        if wants_n && verdict == Verdict::Near && survives(n_floor) {
            n_best = Some(key.value);
        }
        q_done |= q_best.is_some();
        n_done |= n_best.is_some();
    }
    let norm = |best: Option<f32>| f32::max(0.0, best.unwrap_or(0.0)).max(f32::EPSILON);
    [norm(q_best), norm(n_best)]
}

/// One list: which verdict it holds and its floor.
struct List {
    verdict: Verdict,
    floor: f32,
}

impl List {
    /// Step 3: the list's best k after the tie-breaker (normalised by
    /// `best_lexical`) and the soft factors, as the exhaustive path's finish.
    fn best(
        &self,
        pool: &mut Pool<'_>,
        ctx: &MatchContext,
        survivors: &[usize],
        best_lexical: f32,
        k: usize,
    ) -> Vec<Scored> {
        let with_lexical =
            |score: f32, slot: &Slot| score + LEXICAL_WEIGHT * (slot.lexical / best_lexical);
        let mut heap: BinaryHeap<Key> = survivors
            .iter()
            .filter(|&&i| may_survive(&pool.slots[i], self.verdict, self.floor))
            .map(|&slot| {
                let s = &pool.slots[slot];
                Key {
                    value: with_lexical(s.judged.map_or(s.bound, |(_, score)| score), s),
                    exact: s.judged.is_some(),
                    member: s.member,
                    slot,
                }
            })
            .collect();
        let (index, query) = (pool.judge.index, pool.judge.query);
        let mut best: Vec<Scored> = Vec::with_capacity(k + 1);
        while let Some(key) = heap.pop() {
            if !key.exact {
                let (verdict, score) = pool.verdict(key.slot);
                let slot = &pool.slots[key.slot];
                if verdict == self.verdict && score + LEXICAL_WEIGHT >= self.floor {
                    heap.push(Key {
                        value: with_lexical(score, slot),
                        exact: true,
                        ..key
                    });
                }
                continue;
            }
            // the soft factors only lower a score: once the next score
            // before them is below the k-th best after them, nobody can enter
            if best.len() >= k && best[k - 1].score > key.value {
                break;
            }
            let Some(mut s) = pool.slots[key.slot].scored.take() else {
                continue;
            };
            s.score = key.value;
            s.score = s.score
                * constraint_factor(index, query, s.member)
                * fairness(ctx, index, s.member);
            let at = best.partition_point(|b| best_first(b, &s).is_lt());
            best.insert(at, s);
            best.truncate(k);
        }
        best
    }
}
