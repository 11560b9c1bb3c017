//! Queries for the admin's commands (`outbox …`, `digest send`) and the
//! outbox wake-up: what is waiting, whether a daemon is running, and the
//! record of what an admin did by hand (`admin_actions`).

use super::{Result, Store, Tx, from_rows};

impl Store {
    /// Whether any queued mail is due at `now` (cheap: the outbox_due index).
    pub async fn outbox_due_now(&self, now: i64) -> Result<bool> {
        Ok(self.outbox_due_count(now).await? > 0)
    }

    /// How many queued mails are due at `now`.
    pub async fn outbox_due_count(&self, now: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM outbox WHERE status = 'queued' AND next_attempt_at <= $1",
        )
        .bind(now)
        .fetch_one(self.pool())
        .await?)
    }

    /// The holder of a live inbox lease: a daemon is running (and sending).
    pub async fn running_daemon(&self, now: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT holder FROM leases WHERE name LIKE 'inbox:%' AND expires_at > $1 \
             ORDER BY expires_at DESC LIMIT 1",
        )
        .bind(now)
        .fetch_optional(self.pool())
        .await?)
    }
}

/// The outbox states an admin can filter on (the table's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    Queued,
    Sending,
    Held,
    Failed,
    Sent,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Held => "held",
            Self::Failed => "failed",
            Self::Sent => "sent",
        }
    }
}

/// Which outbox rows `outbox list` shows.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    pub status: Option<OutboxStatus>,
    pub to: Option<String>,
    pub request_id: Option<i64>,
    pub limit: i64,
}

/// One outbox row as an admin sees it (the message itself only on demand).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub to_email: String,
    pub subject: String,
    pub message_id: String,
    pub request_id: Option<i64>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// An outbox row with its complete message.
#[derive(sqlx::FromRow)]
struct OutboxRowWithMessage {
    #[sqlx(flatten)]
    row: OutboxRow,
    message: Vec<u8>,
}

/// A change an admin made by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    OutboxRelease,
    OutboxRetry,
    OutboxDiscard,
    InboxReprocess,
    /// An admin signed in to the web console (issue 17).
    WebSignIn,
    /// An admin signed out of the web console.
    WebSignOut,
    /// An admin closed a request (the console).
    RequestClose,
    /// An admin approved or rejected a held request (the console).
    HoldApprove,
    HoldReject,
    /// The web console's directory page.
    MemberAdd,
    MemberEdit,
    MemberRemove,
    MembersImport,
    /// A member changed their own profile on their page.
    MemberOwnProfile,
    /// A member paused, resumed or left from their page or a one-click link.
    MemberOwnStatus,
    /// An admin forwarded a request to a member they chose (`requests forward`).
    RequestForward,
}

impl AdminAction {
    /// Every action, for checks that each has its words (the audit page's labels).
    pub const ALL: [AdminAction; 16] = [
        Self::OutboxRelease,
        Self::OutboxRetry,
        Self::OutboxDiscard,
        Self::InboxReprocess,
        Self::WebSignIn,
        Self::WebSignOut,
        Self::RequestClose,
        Self::HoldApprove,
        Self::HoldReject,
        Self::MemberAdd,
        Self::MemberEdit,
        Self::MemberRemove,
        Self::MembersImport,
        Self::MemberOwnProfile,
        Self::MemberOwnStatus,
        Self::RequestForward,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutboxRelease => "outbox_release",
            Self::OutboxRetry => "outbox_retry",
            Self::OutboxDiscard => "outbox_discard",
            Self::InboxReprocess => "inbox_reprocess",
            Self::WebSignIn => "web_sign_in",
            Self::WebSignOut => "web_sign_out",
            Self::RequestClose => "request_close",
            Self::HoldApprove => "hold_approve",
            Self::HoldReject => "hold_reject",
            Self::MemberAdd => "member_add",
            Self::MemberEdit => "member_edit",
            Self::MemberRemove => "member_remove",
            Self::MembersImport => "members_import",
            Self::MemberOwnProfile => "member_profile",
            Self::MemberOwnStatus => "member_status",
            Self::RequestForward => "request_forward",
        }
    }
}

/// A row of `admin_actions`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminActionRow {
    pub action: String,
    pub actor: String,
    pub outbox_id: Option<i64>,
    pub inbound_id: Option<i64>,
    pub detail: String,
    pub created_at: i64,
}

const OUTBOX_COLUMNS: &str = "id, kind, to_email, subject, message_id, request_id, status, attempts, \
     next_attempt_at, last_error, created_at, sent_at";

impl Store {
    /// Outbox rows, newest first; empty filter fields match everything.
    pub async fn outbox_rows(&self, filter: &OutboxFilter) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox \
             WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) \
             AND (CAST($2 AS TEXT) IS NULL OR LOWER(to_email) = LOWER(CAST($2 AS TEXT))) \
             AND (CAST($3 AS BIGINT) IS NULL OR request_id = $3) ORDER BY id DESC LIMIT $4"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(filter.status.map(OutboxStatus::as_str))
            .bind(filter.to.clone())
            .bind(filter.request_id)
            .bind(filter.limit)
            .fetch_all(self.pool())
            .await?)
    }

    /// The newest `limit` mails in one status, read through the status
    /// index (the console's Mail page: a few held among many sent).
    pub async fn outbox_with_status(
        &self,
        status: OutboxStatus,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = $1 ORDER BY id DESC LIMIT $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(status.as_str())
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }

    /// One outbox row and its complete message.
    pub async fn outbox_row(&self, id: i64) -> Result<Option<(OutboxRow, Vec<u8>)>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS}, message FROM outbox WHERE id = $1");
        let row: Option<OutboxRowWithMessage> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| (r.row, r.message)))
    }

    /// Moves mail `id` from one of `from` to `queued`, due at `now`, and
    /// records who did it, in one transaction. False when the mail was not
    /// in one of those states (nothing changed).
    pub async fn outbox_requeue(
        &self,
        id: i64,
        from: &[OutboxStatus],
        change: &AdminChange<'_>,
    ) -> Result<bool> {
        let reset_attempts = change.action == AdminAction::OutboxRetry;
        self.outbox_change(id, from, change, "queued", reset_attempts)
            .await
    }

    /// Retires mail `id` (not sent, kept with the reason) if it is waiting.
    pub async fn outbox_discard(&self, id: i64, change: &AdminChange<'_>) -> Result<bool> {
        let from = [
            OutboxStatus::Queued,
            OutboxStatus::Held,
            OutboxStatus::Failed,
        ];
        self.outbox_change(id, &from, change, "failed", false).await
    }

    async fn outbox_change(
        &self,
        id: i64,
        from: &[OutboxStatus],
        change: &AdminChange<'_>,
        to: &str,
        reset_attempts: bool,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let states: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let discard_note = (to == "failed").then(|| format!("discarded by {}", change.actor));
        let sql = format!(
            "UPDATE outbox SET status = $1, next_attempt_at = $2, lease_until = NULL, \
             attempts = CASE WHEN $3 = 1 THEN 0 ELSE attempts END, \
             last_error = COALESCE($4, last_error) \
             WHERE id = $5 AND status IN ({}) RETURNING request_id",
            states.join(", ")
        );
        let changed: Option<Option<i64>> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(to)
            .bind(change.now)
            .bind(i64::from(reset_attempts))
            .bind(discard_note)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(request_id) = changed else {
            tx.rollback().await?;
            return Ok(false);
        };
        record_action(&mut tx, change, Some(id), None, request_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ids of held mail, oldest first (`outbox release --all-held`).
    pub async fn outbox_held_ids(&self) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM outbox WHERE status = 'held' ORDER BY id")
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Whether an admin released mail `id`: it then goes out past the hourly cap.
    pub async fn outbox_released(&self, id: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM admin_actions WHERE outbox_id = $1 AND action = 'outbox_release'",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    /// What admins did about request `id` (its mails and its inbound message).
    pub async fn admin_actions_for_request(&self, id: i64) -> Result<Vec<AdminActionRow>> {
        Ok(sqlx::query_as(
            "SELECT action, actor, outbox_id, inbound_id, detail, created_at FROM admin_actions \
             WHERE request_id = $1 \
                OR outbox_id IN (SELECT id FROM outbox WHERE request_id = $1) \
                OR inbound_id IN (SELECT inbound_id FROM requests WHERE id = $1) \
             ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?)
    }
}

/// Who changed what, when, and why (for `admin_actions`).
#[derive(Debug, Clone)]
pub struct AdminChange<'a> {
    pub action: AdminAction,
    pub actor: &'a str,
    pub detail: &'a str,
    pub now: i64,
}

/// Records an admin's change inside the caller's transaction.
pub async fn record_action(
    tx: &mut Tx<'_>,
    change: &AdminChange<'_>,
    outbox_id: Option<i64>,
    inbound_id: Option<i64>,
    request_id: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO admin_actions (action, actor, outbox_id, inbound_id, request_id, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(change.action.as_str())
    .bind(change.actor)
    .bind(outbox_id)
    .bind(inbound_id)
    .bind(request_id)
    .bind(change.detail)
    .bind(change.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A message the inbox moved aside (ledger outcome `failed`), as `inbox failed` lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailedInbound {
    pub id: i64,
    pub kind: String,
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub error: Option<String>,
    pub received_at: i64,
    /// Whether the raw message was kept (not over the size limit); read
    /// from [`FailedRow`]'s integer, as `Any` carries no booleans.
    #[sqlx(skip)]
    pub has_raw: bool,
}

#[derive(sqlx::FromRow)]
struct FailedRow {
    #[sqlx(flatten)]
    inbound: FailedInbound,
    has_raw: i64,
}

impl Store {
    /// Messages moved to Failed or refused, newest first.
    pub async fn inbound_failed(&self, limit: i64) -> Result<Vec<FailedInbound>> {
        let rows = sqlx::query(
            "SELECT id, kind, from_addr, subject, error, received_at, \
             CASE WHEN raw IS NULL THEN 0 ELSE 1 END AS has_raw \
             FROM inbound_messages WHERE outcome IN ('failed', 'refused') ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let rows: Vec<FailedRow> = from_rows("inbound_messages", &rows)?;
        Ok(rows
            .into_iter()
            .map(|r| FailedInbound {
                has_raw: r.has_raw == 1,
                ..r.inbound
            })
            .collect())
    }

    /// A ledger row for reprocessing: (mailbox, uidvalidity, uid, outcome,
    /// message_id, raw).
    pub async fn inbound_for_reprocess(&self, id: i64) -> Result<Option<InboundRaw>> {
        let row: Option<InboundRecord> = sqlx::query_as(
            "SELECT mailbox, uidvalidity, uid, outcome, message_id, raw FROM inbound_messages WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(InboundRecord { raw, uidvalidity }) = row else {
            return Ok(None);
        };
        Ok(Some(InboundRaw {
            uidvalidity: u32::try_from(uidvalidity)
                .map_err(|_| super::StoreError::Corrupt(format!("uidvalidity {uidvalidity}")))?,
            ..raw
        }))
    }

    /// Rows that message `id`'s handling committed (requests, replies,
    /// bounces): handling it again could double them.
    pub async fn inbound_effects(&self, id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM requests WHERE inbound_id = $1) \
                  + (SELECT COUNT(*) FROM replies WHERE inbound_id = $1) \
                  + (SELECT COUNT(*) FROM bounces WHERE inbound_id = $1) AS n",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await?)
    }

    /// The request a message became, if it became one.
    pub async fn request_of_inbound(&self, id: i64) -> Result<Option<i64>> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM requests WHERE inbound_id = $1 ORDER BY id LIMIT 1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| r.0))
    }
}

/// What reprocessing needs of a ledger row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboundRaw {
    pub mailbox: String,
    /// Read from [`InboundRecord`]'s integer (checked to fit).
    #[sqlx(skip)]
    pub uidvalidity: u32,
    pub uid: String,
    pub outcome: String,
    pub message_id: Option<String>,
    pub raw: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct InboundRecord {
    #[sqlx(flatten)]
    raw: InboundRaw,
    uidvalidity: i64,
}
