//! Understanding a request: which concepts it asks for (weighted by what
//! kind of word names them and by whether they sit in the subject or a
//! sentence that states the need), where, in which language, plus lexical
//! tokens for tie-breaking.

use super::text::{normalize, tokens};
use super::vocabulary::{Kind, Target, Vocabulary};

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
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Reads a request's subject and body (greeting and signature may remain:
/// they rarely name a trade).
pub fn understand(vocab: &Vocabulary, subject: &str, body: &str) -> Query {
    let mut segments: Vec<(&str, bool)> = vec![(subject, true)];
    segments.extend(sentences(body).into_iter().map(|s| (s, false)));
    let scans: Vec<_> = segments
        .iter()
        .map(|(s, is_subject)| (vocab.scan(s, true), *is_subject))
        .collect();
    let any_need = scans
        .iter()
        .any(|(hits, subj)| !subj && hits.iter().any(|h| h.target == Target::Need));

    let mut query = Query::default();
    for (hits, is_subject) in &scans {
        let need = *is_subject || !any_need || hits.iter().any(|h| h.target == Target::Need);
        let factor = if need { 1.0 } else { BACKGROUND_FACTOR };
        for hit in hits {
            match hit.target {
                Target::Concept(id) => {
                    let kind = vocab.concepts[id as usize].kind;
                    add_concept(&mut query, id, kind, factor, &hit.surface);
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
    query.tokens = tokens(&normalize(&format!("{subject}\n{body}")));
    query
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
