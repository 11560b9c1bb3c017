//! `circle-relay match [--json] [--top N] FILE|-`

use std::path::PathBuf;

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct MatchArgs {
    /// Print the SPEC's JSON object and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
    /// How many candidates to show (default: [matching] shortlist).
    #[arg(long)]
    pub top: Option<usize>,
    /// A request message (.eml), or - for stdin.
    pub file: PathBuf,
}

pub async fn run(_args: MatchArgs, _config: &Config) -> anyhow::Result<()> {
    anyhow::bail!("`match` is not yet available in this version of circle-relay")
}
