//! `requests list --held`, `requests approve N`, `requests reject N`: held
//! and refused mail (issue 14), decided from the command line.

use std::fmt::Display;

use super::table::Table;
use std::io::Write;

use anyhow::Context;

use crate::config::Config;
use crate::matching::Matcher;
use crate::relay::{Decision, HoldOutcome};
use crate::store::Store;
use crate::store::holds::list_holds;
use crate::store::requests::forwards_this_week;

fn when(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

pub async fn list(store: &Store) -> anyhow::Result<()> {
    let mut conn = store.pool().acquire().await?;
    let holds = list_holds(&mut conn, false, 500).await?;
    drop(conn);
    let mut out = std::io::stdout().lock();
    let table = Table::new(&[5, 10, 10, 20, 30]);
    let header = ["HOLD", "REASON", "STATE", "RECEIVED", "SENDER", "SUBJECT"];
    table.header(&mut out, &header)?;
    for h in &holds {
        let cells: [&dyn Display; 6] = [
            &h.id,
            &h.reason.as_str(),
            &h.state.as_str(),
            &when(h.created_at),
            &h.requester_email,
            &h.subject,
        ];
        table.row(&mut out, &cells)?;
    }
    writeln!(out, "{} held", holds.len())?;
    Ok(())
}

pub async fn decide(
    config: &Config,
    store: &Store,
    number: i64,
    decision: Decision,
) -> anyhow::Result<()> {
    let relay = crate::daemon::relay_from_config(config)?
        .with_clock(crate::clock::DaemonClock::from_env().clock)
        .with_moderation(config.moderation()?);
    let matcher = Matcher::with_default_vocabulary(store.members().await?)
        .context("cannot index the member directory")?;
    let mut tx = store.begin().await?;
    let recent = forwards_this_week(&mut tx, relay.now()).await?;
    let outcome = relay
        .decide_by_number(&mut tx, number, decision, &matcher, recent, "cli")
        .await?;
    tx.commit().await?;
    match outcome {
        None => anyhow::bail!("there is no hold number {number} (see requests list --held)"),
        Some(HoldOutcome::Approved { request_id, .. }) => {
            println!("hold {number} approved: request {request_id}")
        }
        Some(HoldOutcome::Rejected { .. }) => println!("hold {number} rejected"),
        Some(HoldOutcome::AlreadyDecided { .. }) => {
            anyhow::bail!("hold {number} was already decided (see requests list --held)")
        }
        Some(other) => println!("hold {number}: {other:?}"),
    }
    Ok(())
}
