//! The exactly-once loop.
//!
//! For each waiting message: when the ledger already has its key, only move
//! it (a crash struck between commit and move). Otherwise claim the key in the
//! ledger and let the handler write the message's effects in the same
//! transaction; commit; then move the message to `Processed` (or `Failed`).
//! A crash before the commit leaves no trace and the message in the inbox; a
//! crash after it leaves a ledger row that turns the next sighting into a move.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::store::Tx;

use tracing::{Instrument, debug, error, info, info_span, warn};

use super::error::{InboxError, Result};
use super::handler::{AfterCommitHook, Handled, InboundMail, MessageHandler, RunOptions};
use super::{Folder, FolderProblem, Inbox, MessageKey, Pending, Shutdown};
use crate::store::ledger::{
    self, KIND_SPAM, LedgerHeaders, LedgerKey, NewLedgerRow, OUTCOME_FAILED, OUTCOME_PROCESSED,
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
    if let Inbox::Lmtp(intake) = inbox {
        return serve_lmtp(intake, store, handler, hook, shutdown).await;
    }
    let mut folders_ready = false;
    let mut reported = HashSet::new();
    let mut errors: u32 = 0;
    while !shutdown.is_triggered() {
        let round = async {
            if !folders_ready {
                report_folder_problems(inbox.ensure_folders().await?, &mut reported);
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

/// Serves LMTP until shutdown; a listener that cannot start (the address in
/// use, a directory missing) is retried with a capped backoff.
async fn serve_lmtp<H: MessageHandler>(
    intake: &super::LmtpIntake,
    store: &Store,
    handler: &H,
    hook: Option<&AfterCommitHook>,
    mut shutdown: Shutdown,
) {
    let mut pause = Duration::from_secs(1);
    while !shutdown.is_triggered() {
        match super::lmtp::serve(intake, store, handler, hook, &shutdown).await {
            Ok(()) => break,
            Err(e) => {
                error!(error = %e, retry_in = ?pause, "LMTP intake cannot listen; will keep trying");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.wait() => {}
                }
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
    info!("inbox reader stopped");
}

/// Says once per folder that the server would not create it (and how to fix
/// that); reading goes on, and mail for that folder stays in the inbox.
fn report_folder_problems(problems: Vec<FolderProblem>, reported: &mut HashSet<String>) {
    for p in problems {
        if reported.insert(p.folder.clone()) {
            error!(folder = %p.folder, answer = %p.answer, setting = p.setting, "{p}");
        }
    }
}

/// One round's shared state: where bodies and pending moves are kept.
struct Round<'a, H> {
    inbox: &'a mut Inbox,
    store: &'a Store,
    handler: &'a H,
    hook: Option<&'a AfterCommitHook>,
    /// Bodies fetched ahead, by UID, for the messages still to be handled.
    bodies: HashMap<String, Vec<u8>>,
    /// Committed messages waiting to be moved out of the inbox.
    moves: Vec<(MessageKey, i64, Folder)>,
}

/// At most this many bytes of bodies are fetched in one UID FETCH.
const PREFETCH_BYTES: u64 = 16 << 20;

/// One batch: list up to `batch_size` messages, take each through the
/// ledger (one transaction per message), then move them in one go per folder.
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
    let mut round = Round {
        inbox,
        store,
        handler,
        hook,
        bodies: HashMap::new(),
        moves: Vec::new(),
    };
    let handled = round.handle_all(&batch, &mut summary, shutdown).await;
    // Committed messages are moved even when a later one failed.
    let moved = round.flush_moves().await;
    handled.and(moved).map(|()| summary)
}

impl<H: MessageHandler> Round<'_, H> {
    async fn handle_all(
        &mut self,
        batch: &[Pending],
        summary: &mut RoundSummary,
        shutdown: &Shutdown,
    ) -> Result<()> {
        for (idx, pending) in batch.iter().enumerate() {
            if shutdown.is_triggered() {
                break; // the message in hand was finished; leave the rest
            }
            let key = &pending.key;
            let span = info_span!("inbound", uidvalidity = key.uidvalidity, uid = %key.uid);
            let step = self.process_one(batch, idx).instrument(span).await?;
            match step {
                Step::Handled => summary.handled += 1,
                Step::Failed => summary.failed += 1,
                Step::Duplicate => summary.duplicates += 1,
                Step::MovedOnly => summary.moved_only += 1,
            }
        }
        Ok(())
    }

    async fn process_one(&mut self, batch: &[Pending], idx: usize) -> Result<Step> {
        let pending = &batch[idx];
        if self.queue_if_recorded(&pending.key).await? {
            return Ok(Step::MovedOnly);
        }
        let raw = match self.load(batch, idx).await? {
            Ok(raw) => raw,
            Err(reason) => {
                let headers = LedgerHeaders::default();
                return self.record_failure(pending, &headers, None, &reason).await;
            }
        };
        let headers = parse_headers(&raw);
        if let Some(first_id) = earlier_copy(self.store, &headers).await? {
            return self
                .record_duplicate(pending, &headers, &raw, first_id)
                .await;
        }
        self.handle_new(pending, &headers, &raw).await
    }

    /// When the ledger already has the message (a crash between commit and
    /// move), only queues its move.
    async fn queue_if_recorded(&mut self, key: &MessageKey) -> Result<bool> {
        let Some(entry) = self.store.ledger_lookup(key_of(key)).await? else {
            return Ok(false);
        };
        info!(inbound_id = entry.id, "already in the ledger: moving only");
        self.moves.push((
            key.clone(),
            entry.id,
            folder_for(entry.failed(), entry.spam()),
        ));
        Ok(true)
    }

    /// The message's bytes, or why it is not read: the server's size first
    /// (nothing fetched), then the bytes actually read.
    async fn load(
        &mut self,
        batch: &[Pending],
        idx: usize,
    ) -> Result<std::result::Result<Vec<u8>, String>> {
        let (pending, max) = (&batch[idx], self.inbox.max_message_bytes());
        let too_big =
            |size: u64| format!("message of {size} bytes exceeds max_message_bytes ({max})");
        if pending.size > max {
            return Ok(Err(too_big(pending.size)));
        }
        if !self.bodies.contains_key(&pending.key.uid) {
            self.prefetch(batch, idx, max).await?;
        }
        let raw = self
            .bodies
            .remove(&pending.key.uid)
            .ok_or_else(|| InboxError::Gone(pending.key.to_string()))?;
        let size = u64::try_from(raw.len()).unwrap_or(u64::MAX);
        Ok(if size > max {
            Err(too_big(size))
        } else {
            Ok(raw)
        })
    }

    /// Fetches the bodies of the next messages within the size limit, from
    /// `idx` on, in one command of at most [`PREFETCH_BYTES`].
    async fn prefetch(&mut self, batch: &[Pending], idx: usize, max: u64) -> Result<()> {
        let mut keys = Vec::new();
        let mut bytes = 0u64;
        for p in batch[idx..].iter().filter(|p| p.size <= max) {
            if !keys.is_empty() && bytes + p.size > PREFETCH_BYTES {
                break;
            }
            bytes += p.size;
            keys.push(p.key.clone());
        }
        let bodies = self.inbox.fetch_raw_many(&keys).await?;
        self.bodies.extend(bodies);
        Ok(())
    }

    /// Claims the key, lets the handler write the effects in the same
    /// transaction, commits, and queues the move.
    async fn handle_new(
        &mut self,
        pending: &Pending,
        headers: &LedgerHeaders,
        raw: &[u8],
    ) -> Result<Step> {
        let key = &pending.key;
        let prepared = match prepare(self.handler, raw).await? {
            Ok(prepared) => prepared,
            Err(reason) => {
                return self
                    .record_failure(pending, headers, Some(raw), &reason)
                    .await;
            }
        };
        let msg = NewMessage {
            key,
            headers,
            raw,
            arrival: Arrival::InFolder,
        };
        let with = (self.handler, self.hook);
        match commit_new(self.store, with, &msg, prepared).await? {
            NewOutcome::Committed { id, folder } => {
                self.moves.push((key.clone(), id, folder));
                Ok(if folder == Folder::Failed {
                    Step::Failed
                } else {
                    Step::Handled
                })
            }
            // Another reader recorded it meanwhile: its outcome decides the move.
            NewOutcome::AlreadyRecorded => match self.queue_if_recorded(key).await? {
                true => Ok(Step::MovedOnly),
                false => Err(StoreError::Corrupt(format!("ledger row for {key} vanished")).into()),
            },
            NewOutcome::Refused(reason) => {
                self.record_failure(pending, headers, Some(raw), &reason)
                    .await
            }
        }
    }

    async fn record_failure(
        &mut self,
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
        self.finish_recorded(pending, &row, Step::Failed).await
    }

    async fn record_duplicate(
        &mut self,
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
        self.finish_recorded(pending, &row, Step::Duplicate).await
    }

    /// Writes a complete ledger row (unless one appeared meanwhile), then
    /// queues the move where the row that won says.
    async fn finish_recorded(
        &mut self,
        pending: &Pending,
        row: &NewLedgerRow<'_>,
        step: Step,
    ) -> Result<Step> {
        let turn = self.store.write_turn().await;
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        ledger::record(&mut conn, row, self.store.now()).await?;
        drop((conn, turn));
        match self.queue_if_recorded(&pending.key).await? {
            true => Ok(step),
            false => {
                Err(StoreError::Corrupt(format!("ledger row for {} vanished", pending.key)).into())
            }
        }
    }

    /// Moves the committed messages, one command per folder, and marks them
    /// moved. A folder the server would not create leaves its messages in
    /// the inbox, recorded: the next sighting only tries the move again.
    async fn flush_moves(&mut self) -> Result<()> {
        let moves = std::mem::take(&mut self.moves);
        for folder in [Folder::Processed, Folder::Failed, Folder::Spam] {
            let (keys, ids): (Vec<MessageKey>, Vec<i64>) = moves
                .iter()
                .filter(|(_, _, f)| *f == folder)
                .map(|(k, id, _)| (k.clone(), *id))
                .unzip();
            if keys.is_empty() {
                continue;
            }
            match self.inbox.finish_many(&keys, folder).await {
                Ok(()) => {}
                Err(InboxError::Gone(what)) => {
                    // Someone else moved it (another reader); the ledger is what counts.
                    warn!(%what, "message already gone from the inbox");
                }
                Err(InboxError::FolderUnavailable(name)) => {
                    debug!(folder = %name, count = keys.len(), "folder unavailable: left in the inbox");
                    continue;
                }
                Err(e) => return Err(e),
            }
            self.store.ledger_mark_moved_many(&ids).await?;
            debug!(?folder, count = keys.len(), "moved");
        }
        Ok(())
    }
}

/// What became of a message new to the ledger.
pub(super) enum NewOutcome {
    /// Its effects and ledger row are committed (`failed`: handled with a failure).
    Committed { id: i64, folder: Folder },
    /// Someone else recorded the same key first: nothing done here.
    AlreadyRecorded,
    /// The handler refused it for good; nothing committed, record it as failed.
    Refused(String),
}

/// Where a message is once handled: in a folder the reader moves it out of,
/// or delivered (LMTP), in no folder at all: its row is marked moved at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arrival {
    InFolder,
    Delivered,
}

/// A message new to the ledger, as the reader or the LMTP intake has it.
pub(super) struct NewMessage<'a> {
    pub key: &'a MessageKey,
    pub headers: &'a LedgerHeaders,
    pub raw: &'a [u8],
    pub arrival: Arrival,
}

/// The handler's work before the write transaction ([`MessageHandler::prepare`]):
/// `Ok(Err(reason))` when it refuses the message for good.
pub(super) async fn prepare<H: MessageHandler>(
    handler: &H,
    raw: &[u8],
) -> Result<std::result::Result<H::Prepared, String>> {
    match handler.prepare(raw).await {
        Ok(prepared) => Ok(Ok(prepared)),
        Err(e) if e.is_transient() => Err(InboxError::HandlerTransient(e.to_string())),
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Claims the key in the ledger and lets the handler write the message's
/// effects (from what it prepared) in the same transaction, then commits:
/// the one transaction per message that both the IMAP/Maildir reader and
/// the LMTP intake use.
pub(super) async fn commit_new<H: MessageHandler>(
    store: &Store,
    (handler, hook): (&H, Option<&AfterCommitHook>),
    msg: &NewMessage<'_>,
    prepared: H::Prepared,
) -> Result<NewOutcome> {
    let (key, raw) = (msg.key, msg.raw);
    let started = std::time::Instant::now();
    let size = u64::try_from(raw.len()).unwrap_or(u64::MAX);
    let mut tx = store.begin_write().await.map_err(StoreError::from)?;
    let locked = std::time::Instant::now();
    let Some(id) = ledger::claim(&mut tx, key_of(key), msg.headers, size, raw).await? else {
        tx.rollback().await.map_err(StoreError::from)?;
        return Ok(NewOutcome::AlreadyRecorded);
    };
    let mail = InboundMail {
        inbound_id: id,
        key,
        message_id: msg.headers.message_id.as_deref(),
        raw,
    };
    match handler.handle(&mut tx, &mail, prepared).await {
        Ok(handled) => {
            let folder = folder_for(handled.failure.is_some(), handled.kind == KIND_SPAM);
            let times = (started, locked);
            commit_handled(tx, key, id, &handled, hook, times, msg.arrival).await?;
            Ok(NewOutcome::Committed { id, folder })
        }
        Err(e) => {
            tx.rollback().await.map_err(StoreError::from)?;
            if e.is_transient() {
                Err(InboxError::HandlerTransient(e.to_string()))
            } else {
                Ok(NewOutcome::Refused(e.to_string()))
            }
        }
    }
}

async fn commit_handled(
    mut tx: Tx<'static>,
    key: &MessageKey,
    id: i64,
    handled: &Handled,
    hook: Option<&AfterCommitHook>,
    (started, locked): (std::time::Instant, std::time::Instant),
    arrival: Arrival,
) -> Result<()> {
    let failure = handled.failure.as_deref();
    let outcome = if failure.is_some() {
        OUTCOME_FAILED
    } else {
        OUTCOME_PROCESSED
    };
    match arrival {
        Arrival::InFolder => ledger::complete(&mut tx, id, &handled.kind, outcome, failure).await?,
        Arrival::Delivered => {
            ledger::complete_delivered(&mut tx, id, &handled.kind, outcome, failure).await?
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    let waited = locked.duration_since(started).as_secs_f64();
    crate::observe::intake_write(waited, locked.elapsed().as_secs_f64());
    if let Some(hook) = hook {
        hook(key);
    }
    if let Some(reason) = failure {
        warn!(inbound_id = id, kind = %handled.kind, %reason, "handled with failure: moving to Failed");
    }
    info!(inbound_id = id, kind = %handled.kind, "handled");
    let outcome_name = if failure.is_some() {
        "failed"
    } else {
        "processed"
    };
    let secs = started.elapsed().as_secs_f64();
    crate::observe::message_handled(&handled.kind, outcome_name, secs);
    Ok(())
}

/// Failed mail to Failed, mail the receiving server marked as spam to Spam.
fn folder_for(failed: bool, spam: bool) -> Folder {
    if failed {
        Folder::Failed
    } else if spam {
        Folder::Spam
    } else {
        Folder::Processed
    }
}

/// The first ledger row with the same Message-ID, if any.
pub(super) async fn earlier_copy(store: &Store, headers: &LedgerHeaders) -> Result<Option<i64>> {
    let Some(message_id) = &headers.message_id else {
        return Ok(None);
    };
    let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
    let first = ledger::find_by_message_id(&mut conn, message_id).await?;
    Ok(first.map(|f| f.id))
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
            // Not a warning: some servers (GNU imap4d) give an emptied inbox a
            // new UIDVALIDITY; the ledger keeps anything from being handled twice.
            info!(
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

pub(super) fn key_of(key: &MessageKey) -> LedgerKey<'_> {
    LedgerKey {
        mailbox: &key.mailbox,
        uidvalidity: key.uidvalidity,
        uid: &key.uid,
    }
}

/// Message-ID, From and Subject, as far as they can be read.
pub(super) fn parse_headers(raw: &[u8]) -> LedgerHeaders {
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
