//! Ranking members for a request: bilingual, fair, explained, and able to abstain.
//!
//! Pure logic, no I/O: [`Matcher::new`] indexes the directory once against
//! the bilingual vocabulary (`data/skills.toml`), [`Matcher::rank`] scores a
//! request. [`eml::read_request`] turns a raw message into the text to match.

pub mod bm25;
pub mod eml;
mod evidence;
mod former;
mod index;
mod lexicon;
mod negation;
mod rank;
mod request;
mod terms;
pub mod text;
mod topk;
mod vocabulary;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::domain::{EmailAddress, Member};

pub use rank::ABSTAIN_THRESHOLD;
pub use request::{Query, QueryConcept, understand};
pub use vocabulary::{DEFAULT_VOCABULARY, Kind, Vocabulary};

#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("the skill vocabulary is invalid: {0}")]
    Vocabulary(String),
    #[error("the vocabulary file {path} is invalid: {message}")]
    VocabularyFile { path: String, message: String },
    #[error("the request message cannot be read: {0}")]
    Message(String),
}

/// Who must not be picked, and the fairness data. The relay fills
/// `recent_forwards` from the store; the `match` command passes none.
#[derive(Debug, Clone, Default)]
pub struct MatchContext {
    /// The requester (and anyone else who must not get this request).
    pub exclude_emails: Vec<EmailAddress>,
    /// Members who already declined or were already asked (by member id).
    pub exclude_members: HashSet<i64>,
    /// Forwards each member received in the last seven days, by member id.
    pub recent_forwards: HashMap<i64, u32>,
    /// `[matching] max_forwards_per_member_per_week`; `None` for no cap.
    pub weekly_cap: Option<u32>,
}

/// A shortlisted member with the terms that made them fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    #[serde(skip)]
    pub member_id: i64,
    pub email: String,
    pub name: String,
    pub score: f32,
    /// The evidence in plain words, for people (mails, `match`).
    pub reasons: Vec<String>,
    /// Which words of the request met which of the member's own, and how.
    pub evidence: Vec<Evidence>,
}

/// Where in the profile the member's words are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// One of the member's listed skills.
    Skill,
    /// Their bio.
    Profile,
}

/// How the request's words met the member's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// The same word (or a form of it: copywriter, copywriting).
    SameWord,
    /// Another name for the same thing in the curated vocabulary.
    Synonym,
    /// The other language's word (看護師, nurse; バリスタ, barista).
    Translation,
    /// A neighbouring trade: never enough alone (near-misses only).
    Related,
}

/// One piece of evidence: the request's words, the member's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub request: String,
    pub member: String,
    pub source: Source,
    pub how: How,
}

impl Evidence {
    /// The evidence as a short English phrase (the relay's mails word it in
    /// their own language from the fields).
    pub fn reason(&self) -> String {
        let theirs = match self.source {
            Source::Skill => format!("their skill \"{}\"", self.member),
            Source::Profile => format!("\"{}\" in their profile", self.member),
        };
        let how = match self.how {
            How::SameWord => "",
            How::Synonym => " (same meaning)",
            How::Translation => " (translation)",
            How::Related => " (a neighbouring trade)",
        };
        format!("\"{}\" matches {theirs}{how}", self.request)
    }
}

/// The shortlist, and who almost made it (for the admins when it is empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ranked {
    pub candidates: Vec<Candidate>,
    /// Members with some evidence that was not enough (a related trade, a
    /// generic word, part of a phrase), best first.
    pub near_misses: Vec<Candidate>,
}

/// How [`Matcher::rank_unrounded`] ranks: as [`Matcher::rank_with_near_misses`]
/// does (top-k pruning), as [`Matcher::rank`] does (the shortlist alone, no
/// near-misses worked out), or every member with evidence judged (the reference).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankPath {
    Pruned,
    ShortlistOnly,
    Exhaustive,
}

/// The directory indexed for matching; build once, rank many requests.
#[derive(Debug, Clone)]
pub struct Matcher {
    index: index::Index,
}

impl Matcher {
    /// Indexes `members` (all statuses: the ranker skips inactive ones, so
    /// the index can be kept while members pause and resume).
    pub fn new(vocabulary: Vocabulary, members: Vec<Member>) -> Self {
        Self {
            index: index::Index::build(vocabulary, members),
        }
    }

    /// With the vocabulary shipped in the binary.
    pub fn with_default_vocabulary(members: Vec<Member>) -> Result<Self, MatchError> {
        Ok(Self::new(Vocabulary::embedded()?, members))
    }

    pub fn understand(&self, subject: &str, body: &str) -> Query {
        understand(&self.index.vocab, subject, body)
    }

    /// The best `top` members for a request, best first; empty when nobody
    /// fits well enough (the relay then abstains).
    pub fn rank(
        &self,
        subject: &str,
        body: &str,
        ctx: &MatchContext,
        top: usize,
    ) -> Vec<Candidate> {
        let query = self.understand(subject, body);
        let path = RankPath::ShortlistOnly;
        rank::rank_with(&self.index, &query, ctx, top, path)
            .0
            .candidates
    }

    /// Like [`Matcher::rank`], with the near-misses.
    pub fn rank_with_near_misses(
        &self,
        subject: &str,
        body: &str,
        ctx: &MatchContext,
        top: usize,
    ) -> Ranked {
        let query = self.understand(subject, body);
        rank::rank(&self.index, &query, ctx, top)
    }

    /// The shortlist and near-misses with their unrounded scores (each list's
    /// own order), by the pruned path [`Matcher::rank`] takes or by working out
    /// every member's evidence: the bench's check mode
    /// (`MATCH_BENCH_CHECK=1 cargo bench --bench matching`) compares the two.
    #[doc(hidden)]
    pub fn rank_unrounded(
        &self,
        subject: &str,
        body: &str,
        ctx: &MatchContext,
        top: usize,
        path: RankPath,
    ) -> (Ranked, Vec<f32>, Vec<f32>) {
        let query = self.understand(subject, body);
        rank::rank_with(&self.index, &query, ctx, top, path)
    }

    pub fn members(&self) -> &[Member] {
        &self.index.members
    }
}
