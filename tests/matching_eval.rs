//! Runs the matcher over the development set in tests/fixtures/eval/coaching next to a
//! plain BM25 baseline over the same profiles, prints the figures
//! (`cargo test --test matching_eval -- --nocapture`; set
//! MATCH_EVAL_VERBOSE=1 for each request's list) and asserts the targets.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use circle_relay::directory::parse_members_csv;
use circle_relay::domain::Member;
use circle_relay::matching::bm25::Bm25;
use circle_relay::matching::eml::read_request;
use circle_relay::matching::{MatchContext, Matcher};

#[derive(serde::Deserialize)]
struct Label {
    relevant: HashMap<String, u32>,
    abstain: bool,
}

#[derive(Default)]
struct Figures {
    success: f64,
    precision: f64,
    ndcg: f64,
    answerable: usize,
    abstained_right: usize,
    abstain_cases: usize,
    false_forwards: usize,
}

impl Figures {
    fn add(&mut self, label: &Label, returned: &[String], requester: &str, members: &[Member]) {
        let invalid = returned.iter().filter(|e| {
            let m = members.iter().find(|m| m.email.key() == e.to_lowercase());
            m.is_none_or(|m| !m.is_active() || m.email.key() == requester)
        });
        self.false_forwards += invalid.count();
        if label.abstain {
            self.abstain_cases += 1;
            self.abstained_right += usize::from(returned.is_empty());
            return;
        }
        self.answerable += 1;
        let grade = |e: &String| label.relevant.get(&e.to_lowercase()).copied().unwrap_or(0);
        let top: Vec<u32> = returned.iter().take(3).map(grade).collect();
        let hits = top.iter().filter(|g| **g > 0).count();
        self.success += f64::from(u8::from(hits > 0));
        self.precision += hits as f64 / 3.0;
        let dcg = |gs: &[u32]| -> f64 {
            gs.iter()
                .enumerate()
                .map(|(i, g)| (2f64.powi(*g as i32) - 1.0) / ((i + 2) as f64).log2())
                .sum()
        };
        let mut ideal: Vec<u32> = label.relevant.values().copied().collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        ideal.truncate(3);
        let best = dcg(&ideal);
        if best > 0.0 {
            self.ndcg += dcg(&top) / best;
        }
    }

    fn row(&self, name: &str) -> String {
        let n = self.answerable.max(1) as f64;
        format!(
            "{name:<10} {:>9.3} {:>11.3} {:>7.3} {:>9.3} {:>14}",
            self.success / n,
            self.precision / n,
            self.ndcg / n,
            self.abstain_accuracy(),
            self.false_forwards
        )
    }

    fn abstain_accuracy(&self) -> f64 {
        self.abstained_right as f64 / self.abstain_cases.max(1) as f64
    }
}

fn eval_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval/coaching")
}

#[test]
fn dev_set_meets_the_targets_and_beats_bm25() {
    let dir = eval_dir();
    let csv = std::fs::read(dir.join("members.csv"))
        .unwrap_or_else(|e| panic!("eval set missing at {}: {e}", dir.display()));
    let mut members = parse_members_csv(&csv).expect("members.csv parses");
    for (i, m) in members.iter_mut().enumerate() {
        m.id = i as i64 + 1;
    }
    let labels: HashMap<String, Label> =
        serde_json::from_slice(&std::fs::read(dir.join("labels.json")).expect("labels.json"))
            .expect("labels.json parses");
    assert!(
        !members.is_empty() && !labels.is_empty(),
        "the eval set is empty"
    );

    let matcher = Matcher::with_default_vocabulary(members.clone()).expect("vocabulary");
    let bm25 = Bm25::new(&members);
    let verbose = std::env::var_os("MATCH_EVAL_VERBOSE").is_some();
    let (mut ours, mut base) = (Figures::default(), Figures::default());
    let mut ids: Vec<&String> = labels.keys().collect();
    ids.sort();
    for id in ids {
        let label = &labels[id];
        let raw = std::fs::read(dir.join("requests").join(format!("{id}.eml"))).expect("request");
        let req = read_request(&raw).expect("request parses");
        let requester = req
            .from
            .as_ref()
            .map(|f| f.key().to_string())
            .unwrap_or_default();
        let ctx = MatchContext {
            exclude_emails: req.from.iter().cloned().collect(),
            ..MatchContext::default()
        };
        let found = matcher.rank(&req.subject, &req.body, &ctx, 3);
        let emails: Vec<String> = found.iter().map(|c| c.email.clone()).collect();
        ours.add(label, &emails, &requester, &members);
        let text = format!("{}\n{}", req.subject, req.body);
        let plain: Vec<String> = bm25
            .rank(&text, 3)
            .into_iter()
            .map(|i| members[i].email.as_str().to_string())
            .collect();
        base.add(label, &plain, &requester, &members);
        if verbose {
            println!("{id} abstain={} want={:?}", label.abstain, label.relevant);
            for c in &found {
                println!("    {:.3} {} {:?}", c.score, c.email, c.reasons);
            }
        }
    }
    println!(
        "\nrequests: {} answerable, {} abstain",
        ours.answerable, ours.abstain_cases
    );
    println!(
        "{:<10} {:>9} {:>11} {:>7} {:>9} {:>14}",
        "", "success@3", "precision@3", "nDCG@3", "abstain", "false forwards"
    );
    println!("{}", ours.row("matcher"));
    println!("{}", base.row("bm25"));

    let n = ours.answerable as f64;
    assert!(ours.success / n >= 0.90, "success@3 below 0.90");
    assert!(ours.ndcg / n >= 0.75, "nDCG@3 below 0.75");
    assert!(
        ours.abstain_accuracy() >= 0.80,
        "abstain accuracy below 0.80"
    );
    assert_eq!(ours.false_forwards, 0, "false forwards");
    assert!(
        ours.success > base.success && ours.ndcg > base.ndcg,
        "not above BM25"
    );
    assert!(
        ours.abstain_accuracy() > base.abstain_accuracy(),
        "abstains no better than BM25"
    );
}
