//! Sending from the command line (`digest send --now`, `outbox send`): the
//! same leased claim as the daemon's sender, so a mail is never sent twice
//! even while a daemon runs; a progress line while it works.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::config::Config;
use crate::domain::EmailAddress;
use crate::outbox::{DrainReport, RetryPolicy, Sender, Transport};
use crate::store::Store;

/// A sender like the daemon's, on this command's connections.
pub fn sender(config: &Config, store: &Store) -> anyhow::Result<Sender> {
    let circle = config.circle()?;
    let outbound = config.outbound()?;
    let security = config.security()?;
    let db = config.database()?;
    let transport =
        Transport::from_config(&outbound).map_err(|e| anyhow::anyhow!("outbound: {e}"))?;
    Ok(Sender::new(
        store.clone(),
        transport,
        EmailAddress::parse(&circle.address)?,
        security.max_mails_per_address_per_hour,
    )
    .with_policy(RetryPolicy {
        lease_seconds: i64::from(outbound.lease_seconds),
        ..RetryPolicy::default()
    })
    .with_lanes((db.max_connections as usize).saturating_sub(1)))
}

/// Sends every due mail, printing how far it got.
pub async fn send_due(config: &Config, store: &Store) -> anyhow::Result<DrainReport> {
    let due = store.outbox_due_count(store.now()).await?;
    println!("sending {due} due mail(s)…");
    let sender = sender(config, store)?;
    let drain = sender.drain();
    tokio::pin!(drain);
    let live = std::io::stderr().is_terminal();
    let report = loop {
        tokio::select! {
            done = &mut drain => break done?,
            _ = tokio::time::sleep(Duration::from_millis(500)), if live => {
                let left = store.outbox_due_count(store.now()).await.unwrap_or(0);
                eprint!("\r  {} of {due} handed over ", (due - left).max(0));
                let _ = std::io::stderr().flush();
            }
        }
    };
    if live {
        eprintln!();
    }
    println!(
        "{} sent, {} to retry later, {} failed, {} held",
        report.sent, report.retried, report.failed, report.held
    );
    Ok(report)
}

/// What happens to queued mail when this command ends without sending it.
pub async fn who_sends(store: &Store, queued: usize) -> anyhow::Result<String> {
    let now = store.now();
    let due = store.outbox_due_count(now).await?;
    Ok(match store.running_daemon(now).await? {
        Some(holder) => {
            format!("the running daemon ({holder}) sends them now: {due} mail(s) due in the outbox")
        }
        None if queued == 0 && due == 0 => "nothing to send".to_string(),
        None => format!(
            "no daemon is running: {due} mail(s) wait in the outbox until `circle-relay run` \
             starts (or send them from here with --now)"
        ),
    })
}
