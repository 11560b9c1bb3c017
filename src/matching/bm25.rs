//! A plain BM25 baseline over the same profiles (skills and bio as one
//! text, NFKC, Latin words and CJK bigrams): no vocabulary, no filters, no
//! abstaining. Only for the evaluation, to show what the matcher adds.

use std::collections::HashMap;

use super::text::{normalize, tokens};
use crate::domain::Member;

pub struct Bm25 {
    docs: Vec<HashMap<String, f32>>,
    lens: Vec<f32>,
    df: HashMap<String, f32>,
    avg: f32,
}

impl Bm25 {
    pub fn new(members: &[Member]) -> Self {
        let mut df: HashMap<String, f32> = HashMap::new();
        let mut docs = Vec::new();
        let mut lens = Vec::new();
        for m in members {
            let mut tf: HashMap<String, f32> = HashMap::new();
            for t in tokens(&normalize(&format!("{}\n{}", m.skills.join(" ; "), m.bio))) {
                *tf.entry(t).or_default() += 1.0;
            }
            for t in tf.keys() {
                *df.entry(t.clone()).or_default() += 1.0;
            }
            lens.push(tf.values().sum());
            docs.push(tf);
        }
        let avg = (lens.iter().sum::<f32>() / lens.len().max(1) as f32).max(1.0);
        Self {
            docs,
            lens,
            df,
            avg,
        }
    }

    /// Indices of the `top` best members with a positive score, best first.
    pub fn rank(&self, text: &str, top: usize) -> Vec<usize> {
        let n = self.docs.len() as f32;
        let mut q = tokens(&normalize(text));
        q.sort();
        q.dedup();
        let mut scored: Vec<(usize, f32)> = self
            .docs
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                let s = q
                    .iter()
                    .filter_map(|t| Some((doc.get(t)?, self.df.get(t)?)))
                    .map(|(&tf, &df)| {
                        let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                        idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * self.lens[i] / self.avg))
                    })
                    .sum();
                (i, s)
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.into_iter().take(top).map(|(i, _)| i).collect()
    }
}
