//! `circle-relay outbox list|show|release|retry|discard`: the mail waiting,
//! held, failed or sent, and what an admin may do about it. Every change is
//! recorded in `admin_actions` (who, when) and shown by `requests show`.

use std::io::Write;

use clap::{Args, Subcommand, ValueEnum};

use super::time::CircleTime;
use crate::config::Config;
use crate::store::Store;
use crate::store::admin::{AdminAction, AdminChange, OutboxFilter, OutboxRow, OutboxStatus};

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List mails, newest first.
    List(ListArgs),
    /// One mail: headers, attempts, last error, next attempt.
    Show { id: i64 },
    /// Send held mail (held by the hourly cap, a loop breaker) after all.
    Release {
        /// The mail to release.
        #[arg(required_unless_present = "all_held", conflicts_with = "all_held")]
        id: Option<i64>,
        /// Every held mail.
        #[arg(long)]
        all_held: bool,
    },
    /// Queue a failed mail again (its attempts start over).
    Retry { id: i64 },
    /// Never send this mail (kept, marked failed with who discarded it).
    Discard { id: i64 },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum)]
    status: Option<StatusArg>,
    /// Only mail to this address.
    #[arg(long, value_name = "ADDR")]
    to: Option<String>,
    /// Only mail about request N.
    #[arg(long, value_name = "N")]
    request: Option<i64>,
    /// At most this many (newest first).
    #[arg(long, default_value_t = 50)]
    limit: i64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Queued,
    Sending,
    Held,
    Failed,
    Sent,
}

impl From<StatusArg> for OutboxStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Queued => Self::Queued,
            StatusArg::Sending => Self::Sending,
            StatusArg::Held => Self::Held,
            StatusArg::Failed => Self::Failed,
            StatusArg::Sent => Self::Sent,
        }
    }
}

pub async fn run(cmd: OutboxCommand, config: &Config) -> anyhow::Result<()> {
    let time = CircleTime::from_config(config)?;
    let store = super::open_store(config).await?;
    let result = match cmd {
        OutboxCommand::List(args) => list(&store, &time, args).await,
        OutboxCommand::Show { id } => show(&store, &time, id).await,
        OutboxCommand::Release { id, all_held } => release(&store, id, all_held).await,
        OutboxCommand::Retry { id } => {
            let from = [OutboxStatus::Failed];
            change(&store, id, AdminAction::OutboxRetry, &from).await
        }
        OutboxCommand::Discard { id } => change(&store, id, AdminAction::OutboxDiscard, &[]).await,
    };
    store.close().await;
    result
}

async fn list(store: &Store, time: &CircleTime, args: ListArgs) -> anyhow::Result<()> {
    let filter = OutboxFilter {
        status: args.status.map(OutboxStatus::from),
        to: args.to,
        request_id: args.request,
        limit: args.limit.max(1),
    };
    let rows = store.outbox_rows(&filter).await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<6} {:<8} {:<16} {:<30} {:<5} {:<3} {:<21} SUBJECT",
        "ID", "STATUS", "KIND", "TO", "REQ", "TRY", "WHEN"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<6} {:<8} {:<16} {:<30} {:<5} {:<3} {:<21} {}",
            r.id,
            r.status,
            r.kind,
            r.to_email,
            r.request_id.map_or("-".into(), |n| n.to_string()),
            r.attempts,
            when(time, r),
            r.subject
        )?;
    }
    writeln!(out, "{} mail(s)", rows.len())?;
    Ok(())
}

/// The time that matters for a row's state: sent, next attempt, or queued.
fn when(time: &CircleTime, r: &OutboxRow) -> String {
    match (r.status.as_str(), r.sent_at) {
        ("sent", Some(t)) => time.show(t),
        ("queued", _) => time.show(r.next_attempt_at),
        _ => time.show(r.created_at),
    }
}

async fn show(store: &Store, time: &CircleTime, id: i64) -> anyhow::Result<()> {
    let Some((r, message)) = store.outbox_row(id).await? else {
        anyhow::bail!("there is no mail {id} in the outbox (see `circle-relay outbox list`)");
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "Mail {}: {} to {}", r.id, r.kind, r.to_email)?;
    if let Some(n) = r.request_id {
        writeln!(out, "Request:      {n}")?;
    }
    writeln!(out, "Status:       {}", r.status)?;
    writeln!(out, "Attempts:     {}", r.attempts)?;
    writeln!(out, "Queued:       {}", time.show(r.created_at))?;
    match r.status.as_str() {
        "queued" => writeln!(out, "Next attempt: {}", time.show(r.next_attempt_at))?,
        "sent" => writeln!(
            out,
            "Sent:         {}",
            r.sent_at.map_or_else(String::new, |t| time.show(t))
        )?,
        _ => {}
    }
    writeln!(
        out,
        "Last error:   {}",
        r.last_error.as_deref().unwrap_or("none")
    )?;
    writeln!(out, "Message-ID:   <{}>", r.message_id)?;
    writeln!(out, "\nHeaders:")?;
    for line in header_lines(&message) {
        writeln!(out, "  {line}")?;
    }
    writeln!(out, "\n{}", next_step(&r.status))?;
    Ok(())
}

/// The header block of a stored message, as text.
fn header_lines(message: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(message);
    text.lines()
        .take_while(|l| !l.trim_end_matches('\r').is_empty())
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect()
}

fn next_step(status: &str) -> &'static str {
    match status {
        "held" => {
            "Held by the hourly cap (a loop breaker): `outbox release ID` sends it, `outbox discard ID` drops it."
        }
        "failed" => "Failed for good: `outbox retry ID` queues it again once the cause is fixed.",
        "queued" => {
            "Waiting to be sent: a running daemon sends it when due; `outbox discard ID` drops it."
        }
        "sending" => "Being sent by a daemon now.",
        _ => "Sent.",
    }
}

async fn release(store: &Store, id: Option<i64>, all_held: bool) -> anyhow::Result<()> {
    let ids = match id {
        Some(id) if !all_held => vec![id],
        _ => store.outbox_held_ids().await?,
    };
    if ids.is_empty() {
        println!("no mail is held");
        return Ok(());
    }
    for id in ids {
        change(store, id, AdminAction::OutboxRelease, &[OutboxStatus::Held]).await?;
    }
    Ok(())
}

/// Releases, retries (mail in one of the `from` states) or discards one
/// outbox row, recorded as done by `who`; false when the row was in no
/// state the action applies to. The console's buttons do the same.
pub(crate) async fn apply(
    store: &Store,
    id: i64,
    action: AdminAction,
    from: &[OutboxStatus],
    who: &str,
    now: i64,
) -> Result<bool, crate::store::StoreError> {
    let change = AdminChange {
        action,
        actor: who,
        detail: "",
        now,
    };
    match action {
        AdminAction::OutboxDiscard => store.outbox_discard(id, &change).await,
        _ => store.outbox_requeue(id, from, &change).await,
    }
}

async fn change(
    store: &Store,
    id: i64,
    action: AdminAction,
    from: &[OutboxStatus],
) -> anyhow::Result<()> {
    let done = apply(store, id, action, from, &actor(), store.now()).await?;
    let Some((row, _)) = store.outbox_row(id).await? else {
        anyhow::bail!("there is no mail {id} in the outbox (see `circle-relay outbox list`)");
    };
    if !done {
        anyhow::bail!(
            "mail {id} is {}: {}",
            row.status,
            match action {
                AdminAction::OutboxRelease => "only held mail can be released",
                AdminAction::OutboxRetry => "only failed mail can be retried",
                _ => "only mail not yet sent can be discarded",
            }
        );
    }
    let verb = match action {
        AdminAction::OutboxRelease => "released; it goes out past the hourly cap",
        AdminAction::OutboxRetry => "queued again",
        _ => "discarded; it will not be sent",
    };
    println!("mail {id} to {} {verb}", row.to_email);
    if action != AdminAction::OutboxDiscard {
        println!("{}", super::send::who_sends(store, 1).await?);
    }
    Ok(())
}

/// Who is running this command, for the record: `user@host`.
pub fn actor() -> String {
    let user = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    let host = hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}
