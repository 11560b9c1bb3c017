//! `circle-relay inbox failed|reprocess ID`: the messages the inbox moved
//! aside, with their reasons, and handling one again once its cause is fixed
//! (e.g. the sender was added to the directory).

use std::fmt::Display;

use super::table::Table;
use std::io::Write;
use std::sync::Arc;

use clap::Subcommand;

use super::time::CircleTime;
use crate::config::Config;
use crate::inbox::{InboundMail, MessageHandler, MessageKey};
use crate::pipeline::Pipeline;
use crate::store::Store;
use crate::store::admin::{AdminAction, AdminChange, InboundRaw, record_action};
use crate::understand::Limits;

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Messages moved to Failed or refused: reason and sender, newest first.
    Failed {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Handle a failed message again, as if it had just arrived. Refused when
    /// its first handling committed anything that could be doubled.
    Reprocess { id: i64 },
}

pub async fn run(cmd: InboxCommand, config: &Config) -> anyhow::Result<()> {
    let time = CircleTime::from_config(config)?;
    let store = super::open_store(config).await?;
    let result = match cmd {
        InboxCommand::Failed { limit } => failed(&store, &time, limit.max(1)).await,
        InboxCommand::Reprocess { id } => reprocess(&store, config, id).await,
    };
    store.close().await;
    result
}

async fn failed(store: &Store, time: &CircleTime, limit: i64) -> anyhow::Result<()> {
    let rows = store.inbound_failed(limit).await?;
    let mut out = std::io::stdout().lock();
    let table = Table::new(&[6, 20, 11, 30, 30]);
    let header = ["ID", "RECEIVED", "KIND", "FROM", "SUBJECT", "REASON"];
    table.header(&mut out, &header)?;
    for r in &rows {
        let subject: String = r
            .subject
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(30)
            .collect();
        let kept = if r.has_raw {
            ""
        } else {
            " (not kept: too large)"
        };
        let reason = format!("{}{kept}", r.error.as_deref().unwrap_or(""));
        let cells: [&dyn Display; 6] = [
            &r.id,
            &time.show(r.received_at),
            &r.kind,
            &r.from_addr.as_deref().unwrap_or("-"),
            &subject,
            &reason,
        ];
        table.row(&mut out, &cells)?;
    }
    writeln!(out, "{} message(s)", rows.len())?;
    if !rows.is_empty() {
        writeln!(
            out,
            "`circle-relay inbox reprocess ID` handles one again once its cause is fixed"
        )?;
    }
    Ok(())
}

/// Why message `id` cannot be handled again, if it cannot.
async fn refusal(store: &Store, id: i64, row: &InboundRaw) -> anyhow::Result<Option<String>> {
    Ok(match row.outcome.as_str() {
        "processed" => Some(format!(
            "message {id} was handled already; handling it again could send its mails twice"
        )),
        "pending" => Some(format!("message {id} is being handled right now")),
        _ if row.raw.is_none() => Some(format!(
            "message {id} was not kept (over [inbox] max_message_bytes): there is nothing to handle again"
        )),
        _ => match store.inbound_effects(id).await? {
            0 => None,
            n => Some(format!(
                "handling message {id} already recorded {n} request(s), reply(ies) or bounce(s); \
                 handling it again could double them"
            )),
        },
    })
}

async fn reprocess(store: &Store, config: &Config, id: i64) -> anyhow::Result<()> {
    let pipeline = pipeline(config, store)?;
    let kind = reprocess_with(store, &pipeline, id, &super::outbox::actor()).await?;
    println!("message {id} handled again: {kind}");
    if let Some(n) = store.request_of_inbound(id).await? {
        println!("it is request {n} (`circle-relay requests show {n}`)");
    }
    println!("{}", super::send::who_sends(store, 1).await?);
    Ok(())
}

/// Handles failed message `id` again through `pipeline`, recording `who` did
/// it; returns what it was handled as. The error says why it could not be
/// (refused, or it still fails: that attempt is recorded too). The console
/// calls this as well.
pub async fn reprocess_with(
    store: &Store,
    pipeline: &Pipeline,
    id: i64,
    who: &str,
) -> anyhow::Result<String> {
    let Some(row) = store.inbound_for_reprocess(id).await? else {
        anyhow::bail!("there is no inbound message {id} (see `circle-relay inbox failed`)");
    };
    if let Some(why) = refusal(store, id, &row).await? {
        anyhow::bail!(why);
    }
    let key = MessageKey {
        mailbox: row.mailbox.clone(),
        uidvalidity: row.uidvalidity,
        uid: row.uid.clone(),
    };
    let raw = row.raw.clone().unwrap_or_default();
    let mail = InboundMail {
        inbound_id: id,
        key: &key,
        message_id: row.message_id.as_deref(),
        raw: &raw,
    };
    let failed =
        |e: crate::inbox::HandleError| anyhow::anyhow!("message {id} could not be handled: {e}");
    let prepared = pipeline.prepare(&raw).await.map_err(failed)?;
    let mut tx = store.begin().await?;
    let handled = pipeline
        .handle(&mut tx, &mail, prepared)
        .await
        .map_err(failed)?;
    if let Some(reason) = handled.failure {
        // Nothing of this attempt is kept but the record that it was made.
        tx.rollback().await?;
        let detail = format!("still fails: {reason}");
        note(store, who, id, &detail).await?;
        anyhow::bail!("message {id} still cannot be handled: {reason}");
    }
    crate::store::ledger::complete(&mut tx, id, &handled.kind, "processed", None).await?;
    let change = AdminChange {
        action: AdminAction::InboxReprocess,
        actor: who,
        detail: &format!("handled again as {}", handled.kind),
        now: store.now(),
    };
    record_action(&mut tx, &change, None, Some(id), None).await?;
    tx.commit().await?;
    Ok(handled.kind)
}

async fn note(store: &Store, who: &str, id: i64, detail: &str) -> anyhow::Result<()> {
    let change = AdminChange {
        action: AdminAction::InboxReprocess,
        actor: who,
        detail,
        now: store.now(),
    };
    let mut tx = store.begin().await?;
    record_action(&mut tx, &change, None, Some(id), None).await?;
    tx.commit().await?;
    Ok(())
}

/// The daemon's pipeline, on this command's connections.
fn pipeline(config: &Config, store: &Store) -> anyhow::Result<Pipeline> {
    let posting = config.circle()?.posting;
    let relay = crate::daemon::relay_from_config(config)?;
    Pipeline::new(
        Arc::new(relay),
        store.clone(),
        Limits::from(&config.inbox()?),
        posting,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
}
