//! `circle-relay explain [--json] FILE|-` and `explain --inbound ID`: what the
//! relay makes of one message. A file is explained without the database and
//! without side effects; `--inbound` reads a stored message's raw mail.

use std::path::PathBuf;

use anyhow::{Context, bail};
use sqlx::Row;

use crate::config::Config;
use crate::understand::{Explanation, Limits, RelayIdentity, explain};

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Print the SPEC's JSON object and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
    /// Explain a message already received (its ledger id, from `inbox failed`
    /// or the logs' inbound_id) from its stored raw mail; needs [database].
    #[arg(long, value_name = "ID", conflicts_with = "file")]
    pub inbound: Option<i64>,
    /// A message (.eml), or - for stdin.
    #[arg(required_unless_present = "inbound")]
    pub file: Option<PathBuf>,
}

/// Stands in for the circle address when the config names none: replies
/// are then recognised by In-Reply-To and subject tags only.
const PLACEHOLDER_ADDRESS: &str = "circle@circle.invalid";

pub async fn run(args: ExplainArgs, config: &Config) -> anyhow::Result<()> {
    let raw = match (args.inbound, &args.file) {
        (Some(id), _) => stored_raw(config, id).await?,
        (None, Some(file)) => super::read_input(file, "message")?,
        (None, None) => bail!("give a message file, - for stdin, or --inbound ID"),
    };
    let relay = identity(config)?;
    let limits = config.inbox().map(|i| Limits::from(&i)).unwrap_or_default();
    let e = explain(&raw, &relay, &limits);
    if args.json {
        println!("{}", serde_json::to_string(&e)?);
    } else {
        print!("{}", human(&e));
    }
    Ok(())
}

/// The circle's identity from `[circle] address` when it is valid.
fn identity(config: &Config) -> anyhow::Result<RelayIdentity> {
    match config
        .circle()
        .ok()
        .and_then(|c| RelayIdentity::new(&c.address).ok())
    {
        Some(r) => Ok(r),
        None => RelayIdentity::new(PLACEHOLDER_ADDRESS).context("placeholder circle address"),
    }
}

/// The raw mail of ledger row `id`.
async fn stored_raw(config: &Config, id: i64) -> anyhow::Result<Vec<u8>> {
    let store = super::open_store(config).await?;
    let row = sqlx::query("SELECT raw FROM inbound_messages WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await
        .context("cannot read the inbound message");
    store.close().await;
    let Some(row) = row? else {
        bail!(
            "no inbound message {id} in the ledger (see `circle-relay inbox failed` or the logs' inbound_id)"
        );
    };
    let raw: Option<Vec<u8>> = row.try_get("raw").context("cannot read the stored mail")?;
    raw.with_context(|| format!("inbound message {id} has no stored raw mail"))
}

/// The explanation for a person: the same fields, labelled, text indented.
fn human(e: &Explanation) -> String {
    let mut out = format!("kind:     {}\nreason:   {}\n", e.kind, e.reason);
    out.push_str(&format!("from:     {}\nsubject:  {}\n", e.from, e.subject));
    if let Some(i) = e.intent {
        out.push_str(&format!("intent:   {i}\n"));
    }
    if let Some(c) = e.command {
        out.push_str(&format!("command:  {c}\n"));
    }
    if let Some(b) = &e.bounce {
        out.push_str("failed recipients:\n");
        if b.recipients.is_empty() {
            out.push_str("  (the notice names none)\n");
        }
        for r in &b.recipients {
            let status = if r.status.is_empty() { "-" } else { &r.status };
            out.push_str(&format!(
                "  {}  status {status}  {}\n",
                r.address, r.severity
            ));
        }
    }
    if !e.new_text.is_empty() {
        out.push_str(&format!("new text:\n{}\n", indent(&e.new_text)));
    }
    if !e.text.is_empty() {
        out.push_str(&format!("text:\n{}\n", indent(&e.text)));
    }
    out
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_is_a_valid_address() {
        assert!(RelayIdentity::new(PLACEHOLDER_ADDRESS).is_ok());
    }
}
