//! The exactly-once loop.
//!
//! For each waiting message: when the ledger already has its key, only move
//! it (a crash struck between commit and move). Otherwise claim the key in the
//! ledger and let the handler write the message's effects in the same
//! transaction; commit; then move the message to `Processed` (or `Failed`).
//! A crash before the commit leaves no trace and the message in the inbox; a
//! crash after it leaves a ledger row that turns the next sighting into a move.

use std::time::Duration;

use tracing::{Instrument, debug, error, info, info_span, warn};

use super::error::{InboxError, Result};
use super::handler::{AfterCommitHook, InboundMail, MessageHandler, RunOptions};
use super::{Folder, Inbox, MessageKey, Pending, Shutdown};
use crate::store::ledger::{
    self, LedgerHeaders, LedgerKey, NewLedgerRow, OUTCOME_FAILED, OUTCOME_PROCESSED,
};
use crate::store::{Store, StoreError};

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundSummary {
    pub listed: usize,
    pub handled: usize,
    pub failed: usize,
    pub duplicates: usize,
    /// Already in the ledger: only moved.
    pub moved_only: usize,
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Handled,
    Failed,
    Duplicate,
    MovedOnly,
}

/// Reads the inbox until shutdown, never exiting on errors.
pub async fn run_inbox<H: MessageHandler>(
    inbox: &mut Inbox,
    store: &Store,
    handler: &H,
    options: &RunOptions,
    mut shutdown: Shutdown,
) {
    let (batch_size, hook) = (options.batch_size.max(1), options.after_commit.as_ref());
    let mut folders_ready = false;
    let mut errors: u32 = 0;
    while !shutdown.is_triggered() {
        let round = async {
            if !folders_ready {
                inbox.ensure_folders().await?;
                folders_ready = true;
            }
            run_round(inbox, store, handler, batch_size, hook, &shutdown).await
        };
        match round.await {
            Ok(summary) => {
                errors = 0;
                if summary.listed >= batch_size {
                    tokio::task::yield_now().await;
                    continue; // more may be waiting: no pause
                }
                if let Err(e) = inbox.wait_for_new(&mut shutdown).await {
                    warn!(error = %e, "waiting for new mail failed; reconnecting");
                }
            }
            Err(e) => {
                errors = errors.saturating_add(1);
                folders_ready = false; // a folder may have been deleted meanwhile
                let pause = Duration::from_secs(1 << errors.min(6));
                if e.is_transient() {
                    warn!(error = %e, retry_in = ?pause, "inbox round failed");
                } else {
                    error!(error = %e, retry_in = ?pause, "inbox round failed; will keep trying");
                }
                inbox.rescan();
                inbox.wait_after_error(&mut shutdown, pause).await;
            }
        }
    }
    inbox.close().await;
    info!("inbox reader stopped");
}

/// One batch: list up to `batch_size` messages and take each through the ledger.
pub async fn run_round<H: MessageHandler>(
    inbox: &mut Inbox,
    store: &Store,
    handler: &H,
    batch_size: usize,
    hook: Option<&AfterCommitHook>,
    shutdown: &Shutdown,
) -> Result<RoundSummary> {
    let batch = inbox.fetch_batch(batch_size).await?;
    let mut summary = RoundSummary {
        listed: batch.len(),
        ..RoundSummary::default()
    };
    note_uidvalidity(store, &batch).await?;
    for pending in &batch {
        if shutdown.is_triggered() {
            break; // the message in hand was finished; leave the rest
        }
        let span =
            info_span!("inbound", uidvalidity = pending.key.uidvalidity, uid = %pending.key.uid);
        let step = process_one(inbox, store, handler, hook, pending)
            .instrument(span)
            .await?;
        match step {
            Step::Handled => summary.handled += 1,
            Step::Failed => summary.failed += 1,
            Step::Duplicate => summary.duplicates += 1,
            Step::MovedOnly => summary.moved_only += 1,
        }
    }
    Ok(summary)
}

/// Records the folder's UIDVALIDITY and highest UID seen; a change is logged
/// (old ledger keys no longer match, so Message-IDs guard against repeats).
async fn note_uidvalidity(store: &Store, batch: &[Pending]) -> Result<()> {
    let Some(first) = batch.first() else {
        return Ok(());
    };
    let mailbox = &first.key.mailbox;
    let max_uid = batch
        .iter()
        .filter_map(|p| p.key.uid.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    let before = store.mailbox_state(mailbox).await?;
    let last = match before {
        Some((validity, last)) if validity == first.key.uidvalidity => last.max(max_uid),
        Some((validity, _)) => {
            warn!(
                old = validity,
                new = first.key.uidvalidity,
                "UIDVALIDITY changed: starting over"
            );
            max_uid
        }
        None => max_uid,
    };
    store
        .set_mailbox_state(mailbox, first.key.uidvalidity, last)
        .await?;
    Ok(())
}

fn key_of(key: &MessageKey) -> LedgerKey<'_> {
    LedgerKey {
        mailbox: &key.mailbox,
        uidvalidity: key.uidvalidity,
        uid: &key.uid,
    }
}

async fn process_one<H: MessageHandler>(
    inbox: &mut Inbox,
    store: &Store,
    handler: &H,
    hook: Option<&AfterCommitHook>,
    pending: &Pending,
) -> Result<Step> {
    let key = &pending.key;
    let started = std::time::Instant::now();
    if let Some(entry) = store.ledger_lookup(key_of(key)).await? {
        info!(inbound_id = entry.id, "already in the ledger: moving only");
        let folder = folder_of(&entry);
        move_and_mark(inbox, store, key, entry.id, folder).await?;
        return Ok(Step::MovedOnly);
    }
    let max = inbox.max_message_bytes();
    // The server's size first (nothing fetched), then the bytes actually read.
    let raw = if pending.size > max {
        None
    } else {
        Some(inbox.fetch_raw(key).await?)
    };
    let size = raw
        .as_ref()
        .map_or(pending.size, |r| u64::try_from(r.len()).unwrap_or(u64::MAX));
    let Some(raw) = raw.filter(|_| size <= max) else {
        let reason = format!("message of {size} bytes exceeds max_message_bytes ({max})");
        return record_failure(
            inbox,
            store,
            pending,
            &LedgerHeaders::default(),
            None,
            &reason,
        )
        .await;
    };
    let headers = parse_headers(&raw);
    if let Some(message_id) = &headers.message_id {
        let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
        if let Some(first) = ledger::find_by_message_id(&mut conn, message_id).await? {
            drop(conn);
            return record_duplicate(inbox, store, pending, &headers, &raw, first.id).await;
        }
    }
    let mut tx = store.pool().begin().await.map_err(StoreError::from)?;
    let Some(id) = ledger::claim(&mut tx, key_of(key), &headers, size, &raw).await? else {
        // Another reader recorded it meanwhile: its outcome decides the move.
        tx.rollback().await.map_err(StoreError::from)?;
        return Box::pin(process_one(inbox, store, handler, hook, pending)).await;
    };
    let mail = InboundMail {
        inbound_id: id,
        key,
        message_id: headers.message_id.as_deref(),
        raw: &raw,
    };
    match handler.handle(&mut tx, &mail).await {
        Ok(handled) => {
            let outcome = if handled.failure.is_some() {
                OUTCOME_FAILED
            } else {
                OUTCOME_PROCESSED
            };
            ledger::complete(
                &mut tx,
                id,
                &handled.kind,
                outcome,
                handled.failure.as_deref(),
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            if let Some(hook) = hook {
                hook(key);
            }
            let folder = match &handled.failure {
                None if handled.kind == ledger::KIND_SPAM => Folder::Spam,
                None => Folder::Processed,
                Some(reason) => {
                    warn!(inbound_id = id, kind = %handled.kind, %reason, "handled with failure: moving to Failed");
                    Folder::Failed
                }
            };
            info!(inbound_id = id, kind = %handled.kind, "handled");
            let outcome_name = if handled.failure.is_some() {
                "failed"
            } else {
                "processed"
            };
            crate::observe::message_handled(
                &handled.kind,
                outcome_name,
                started.elapsed().as_secs_f64(),
            );
            move_and_mark(inbox, store, key, id, folder).await?;
            Ok(if handled.failure.is_some() {
                Step::Failed
            } else {
                Step::Handled
            })
        }
        Err(e) if e.is_transient() => {
            tx.rollback().await.map_err(StoreError::from)?;
            Err(InboxError::HandlerTransient(e.to_string()))
        }
        Err(e) => {
            tx.rollback().await.map_err(StoreError::from)?;
            record_failure(inbox, store, pending, &headers, Some(&raw), &e.to_string()).await
        }
    }
}

async fn record_failure(
    inbox: &mut Inbox,
    store: &Store,
    pending: &Pending,
    headers: &LedgerHeaders,
    raw: Option<&[u8]>,
    reason: &str,
) -> Result<Step> {
    warn!(%reason, size = pending.size, "message cannot be handled: moving to Failed");
    let kind = if raw.is_some() { "error" } else { "unreadable" };
    let row = NewLedgerRow {
        key: key_of(&pending.key),
        headers: headers.clone(),
        kind,
        outcome: OUTCOME_FAILED,
        error: Some(reason),
        size_bytes: pending.size,
        raw,
    };
    finish_recorded(inbox, store, pending, &row, Step::Failed).await
}

async fn record_duplicate(
    inbox: &mut Inbox,
    store: &Store,
    pending: &Pending,
    headers: &LedgerHeaders,
    raw: &[u8],
    first_id: i64,
) -> Result<Step> {
    info!(
        first_inbound_id = first_id,
        "same Message-ID seen before: not handled again"
    );
    let reason = format!("duplicate of inbound message {first_id}");
    let row = NewLedgerRow {
        key: key_of(&pending.key),
        headers: headers.clone(),
        kind: "duplicate",
        outcome: OUTCOME_PROCESSED,
        error: Some(&reason),
        size_bytes: pending.size,
        raw: Some(raw),
    };
    finish_recorded(inbox, store, pending, &row, Step::Duplicate).await
}

/// Writes a complete ledger row (unless one appeared meanwhile), then moves
/// the message where the row that won says.
async fn finish_recorded(
    inbox: &mut Inbox,
    store: &Store,
    pending: &Pending,
    row: &NewLedgerRow<'_>,
    step: Step,
) -> Result<Step> {
    let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
    ledger::record(&mut conn, row).await?;
    let entry = ledger::lookup(&mut conn, row.key).await?;
    drop(conn);
    let Some(entry) = entry else {
        return Err(StoreError::Corrupt(format!("ledger row for {} vanished", pending.key)).into());
    };
    let folder = folder_of(&entry);
    move_and_mark(inbox, store, &pending.key, entry.id, folder).await?;
    Ok(step)
}

async fn move_and_mark(
    inbox: &mut Inbox,
    store: &Store,
    key: &MessageKey,
    id: i64,
    folder: Folder,
) -> Result<()> {
    match inbox.finish(key, folder).await {
        Ok(()) => {}
        Err(InboxError::Gone(what)) => {
            // Someone else moved it (another reader); the ledger is what counts.
            warn!(inbound_id = id, %what, "message already gone from the inbox");
            return Ok(());
        }
        Err(e) => return Err(e),
    }
    store.ledger_mark_moved(id).await?;
    debug!(inbound_id = id, ?folder, "moved");
    Ok(())
}

/// Where a message the ledger has already recorded belongs.
fn folder_of(entry: &ledger::LedgerEntry) -> Folder {
    if entry.failed() {
        Folder::Failed
    } else if entry.spam() {
        Folder::Spam
    } else {
        Folder::Processed
    }
}

/// Message-ID, From and Subject, as far as they can be read.
fn parse_headers(raw: &[u8]) -> LedgerHeaders {
    let Some(msg) = mail_parser::MessageParser::new().parse_headers(raw) else {
        return LedgerHeaders::default();
    };
    LedgerHeaders {
        message_id: msg
            .message_id()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty()),
        from_addr: msg
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_string),
        subject: msg.subject().map(str::to_string),
    }
}
