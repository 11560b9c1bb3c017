//! `circle-relay match [--json] [--top N] FILE|-`: ranks members for a
//! request message and prints the short list; sends nothing.

use std::path::PathBuf;

use anyhow::Context;

use crate::config::Config;
use crate::matching::eml::read_request;
use crate::matching::{Candidate, MatchContext, Matcher, Vocabulary};

#[derive(Debug, clap::Args)]
pub struct MatchArgs {
    /// Print the short list as one JSON object (each candidate's email, name,
    /// score and the words that matched) and nothing else.
    #[arg(long)]
    pub json: bool,
    /// How many candidates to show (default: [matching] shortlist).
    #[arg(long)]
    pub top: Option<usize>,
    /// A request message (.eml), or - for stdin.
    pub file: PathBuf,
}

#[derive(serde::Serialize)]
struct Output<'a> {
    candidates: &'a [Candidate],
    /// Who almost fitted, when nobody did (for a person to decide).
    near_misses: &'a [Candidate],
}

pub async fn run(args: MatchArgs, config: &Config) -> anyhow::Result<()> {
    let raw = super::read_input(&args.file, "request")?;
    let request = read_request(&raw).context("cannot read the request message")?;
    // [matching] is optional for `match`: fall back to the defaults.
    let matching = config.matching().unwrap_or_default();
    let top = args.top.unwrap_or(matching.shortlist as usize);
    let vocabulary = Vocabulary::load(matching.vocabulary_path())?;
    let store = super::open_store(config).await?;
    let members = store
        .members()
        .await
        .context("cannot read the member directory");
    store.close().await;
    let matcher = Matcher::new(vocabulary, members?);
    let ctx = MatchContext {
        exclude_emails: request.from.iter().cloned().collect(),
        // Fairness data comes from the relay's forward history; `match` shows
        // the pure relevance ranking.
        ..MatchContext::default()
    };
    let ranked = matcher.rank_with_near_misses(&request.subject, &request.body, &ctx, top);
    let (candidates, near) = (&ranked.candidates, &ranked.near_misses);
    let near: &[Candidate] = if candidates.is_empty() { near } else { &[] };
    tracing::info!(candidates = candidates.len(), "matched");
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&Output {
                candidates,
                near_misses: near,
            })?
        );
    } else {
        print_table(candidates, near);
    }
    Ok(())
}

fn print_table(candidates: &[Candidate], near: &[Candidate]) {
    if candidates.is_empty() {
        println!(
            "no member fits well enough: the relay would forward to nobody and tell the admins"
        );
        for c in near {
            println!("   almost: {} <{}>", c.name, c.email);
            for r in &c.reasons {
                println!("     {r}");
            }
        }
        return;
    }
    for (i, c) in candidates.iter().enumerate() {
        println!("{}. {} <{}>  score {:.3}", i + 1, c.name, c.email, c.score);
        for r in &c.reasons {
            println!("     {r}");
        }
    }
}
