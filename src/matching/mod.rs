//! Ranking members for a request: bilingual, fair, explained, and able to abstain.
//!
//! Pure logic, no I/O: [`Matcher::new`] indexes the directory once against
//! the bilingual vocabulary (`data/skills.toml`), [`Matcher::rank`] scores a
//! request. [`eml::read_request`] turns a raw message into the text to match.

pub mod bm25;
pub mod eml;
mod index;
mod lexicon;
mod terms;
mod rank;
mod request;
pub mod text;
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
    pub reasons: Vec<String>,
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
        rank::rank(&self.index, &query, ctx, top)
    }

    pub fn members(&self) -> &[Member] {
        &self.index.members
    }
}
