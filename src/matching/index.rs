//! The member index, built once from the directory: an inverted index from
//! vocabulary concepts to the members whose skills or bio name them, and a
//! lexical (BM25) index over profile tokens. Scoring a request touches only
//! the postings of its own concepts and tokens, not every member.

use std::collections::HashMap;

use super::text::{normalize, tokens};
use super::vocabulary::{Target, Vocabulary};
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

/// What the matcher needs to know about a member besides the postings.
#[derive(Debug, Clone)]
pub struct Entry {
    pub places: Vec<u32>,
    pub areas: Vec<String>,
    pub online: bool,
    pub languages: Vec<String>,
    pub lexical_len: f32,
}

#[derive(Debug, Clone)]
pub struct Index {
    pub vocab: Vocabulary,
    pub members: Vec<Member>,
    pub entries: Vec<Entry>,
    pub concepts: HashMap<u32, Vec<Posting>>,
    pub lexicon: HashMap<String, Vec<(u32, f32)>>,
    pub avg_lexical_len: f32,
}

impl Index {
    pub fn build(mut vocab: Vocabulary, members: Vec<Member>) -> Self {
        // A member's own skill items become matchable phrases, so a request
        // quoting a trade the vocabulary lacks still finds its owner.
        for m in &members {
            for skill in &m.skills {
                vocab.add_phrase(&normalize(skill));
            }
        }
        let mut index = Self {
            vocab,
            members: Vec::new(),
            entries: Vec::with_capacity(members.len()),
            concepts: HashMap::new(),
            lexicon: HashMap::new(),
            avg_lexical_len: 0.0,
        };
        for (i, m) in members.iter().enumerate() {
            index.add_member(i as u32, m);
        }
        let total: f32 = index.entries.iter().map(|e| e.lexical_len).sum();
        index.avg_lexical_len = (total / members.len().max(1) as f32).max(1.0);
        index.members = members;
        index
    }

    fn add_member(&mut self, id: u32, member: &Member) {
        let mut hits = Hits::default();
        for (i, skill) in member.skills.iter().enumerate() {
            let field = Field::Skill(i.min(u16::MAX as usize) as u16);
            self.collect(skill, field, SKILLS_STRENGTH, id, &mut hits);
        }
        self.collect(&member.bio, Field::Bio, BIO_STRENGTH, id, &mut hits);
        let Hits {
            found,
            mut places,
            mut online,
        } = hits;
        // The region field is the member's own statement of where they work.
        for hit in self.vocab.scan(&member.region, false) {
            if let Target::Place(p) = hit.target {
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
        self.entries.push(Entry {
            places,
            areas,
            online,
            languages: member
                .languages
                .iter()
                .map(|l| l.as_str().to_string())
                .collect(),
            lexical_len,
        });
    }

    fn collect(&self, text: &str, field: Field, strength: f32, member: u32, hits: &mut Hits) {
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
        for hit in self.vocab.scan(text, false) {
            match hit.target {
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

/// What [`Index::collect`] finds in a member's fields: concept
/// postings, places and whether they work online.
#[derive(Default)]
struct Hits {
    found: HashMap<u32, Posting>,
    places: Vec<u32>,
    online: bool,
}
