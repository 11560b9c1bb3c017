//! `circle-relay requests list|show N`

use std::fmt::Display;

use super::table::Table;
use std::io::Write;

use sqlx::Row;

use super::RequestsCommand;
use super::time::CircleTime;
use crate::config::Config;
use crate::store::Store;

pub async fn run(cmd: RequestsCommand, config: &Config) -> anyhow::Result<()> {
    let time = CircleTime::from_config(config)?;
    let store = super::open_store(config).await?;
    let result = match cmd {
        RequestsCommand::List { held: false } => list(&store, &time).await,
        RequestsCommand::List { held: true } => super::holds::list(&store).await,
        RequestsCommand::Approve { number } => {
            super::holds::decide(config, &store, number, crate::relay::Decision::Approve).await
        }
        RequestsCommand::Reject { number } => {
            super::holds::decide(config, &store, number, crate::relay::Decision::Reject).await
        }
        RequestsCommand::Show { number } => show(&store, &time, number).await,
    };
    store.close().await;
    result
}

async fn list(store: &Store, time: &CircleTime) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let table = Table::new(&[5, 10, 5, 20, 30]);
    let header = ["NO.", "STATUS", "WAVE", "RECEIVED", "REQUESTER", "SUBJECT"];
    table.header(&mut out, &header)?;
    let requests = store.requests().await?;
    for r in &requests {
        let cells: [&dyn Display; 6] = [
            &r.id,
            &r.status,
            &r.wave,
            &time.show(r.created_at),
            &r.requester_email,
            &r.subject,
        ];
        table.row(&mut out, &cells)?;
    }
    writeln!(out, "{} requests", requests.len())?;
    Ok(())
}

async fn show(store: &Store, time: &CircleTime, number: i64) -> anyhow::Result<()> {
    let Some(r) = store.request(number).await? else {
        anyhow::bail!("there is no request number {number}");
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "Request {}: {}", r.id, r.subject)?;
    writeln!(
        out,
        "From:     {} <{}>",
        r.requester_name, r.requester_email
    )?;
    writeln!(out, "Received: {}", time.show(r.created_at))?;
    writeln!(out, "Status:   {} (wave {})", r.status, r.wave)?;
    writeln!(out, "\n{}\n", r.body.trim_end())?;
    let forwards = sqlx::query(
        "SELECT f.wave, f.score, f.reasons, f.state, m.email FROM forwards f \
         JOIN members m ON m.id = f.member_id WHERE f.request_id = $1 ORDER BY f.wave, f.rank",
    )
    .bind(number)
    .fetch_all(store.pool())
    .await?;
    writeln!(out, "Forwards:")?;
    if forwards.is_empty() {
        writeln!(out, "  none (nobody fitted)")?;
    }
    for f in &forwards {
        let reasons: Vec<String> =
            serde_json::from_str(&f.try_get::<String, _>("reasons")?).unwrap_or_default();
        writeln!(
            out,
            "  wave {} {:<30} {:<9} score {:.2}  {}",
            f.try_get::<i64, _>("wave")?,
            f.try_get::<String, _>("email")?,
            f.try_get::<String, _>("state")?,
            f.try_get::<f64, _>("score")?,
            reasons.join("; ")
        )?;
    }
    let mails = sqlx::query(
        "SELECT id, kind, to_email, status, created_at FROM outbox WHERE request_id = $1 ORDER BY id",
    )
    .bind(number)
    .fetch_all(store.pool())
    .await?;
    writeln!(out, "Mail:")?;
    for m in &mails {
        writeln!(
            out,
            "  {} mail {:<4} {:<18} {:<30} {}",
            time.show(m.try_get("created_at")?),
            m.try_get::<i64, _>("id")?,
            m.try_get::<String, _>("kind")?,
            m.try_get::<String, _>("to_email")?,
            m.try_get::<String, _>("status")?
        )?;
    }
    admin_actions(&mut out, store, time, number).await
}

/// What admins did by hand about this request (`admin_actions`).
async fn admin_actions(
    out: &mut impl Write,
    store: &Store,
    time: &CircleTime,
    number: i64,
) -> anyhow::Result<()> {
    let actions = store.admin_actions_for_request(number).await?;
    if !actions.is_empty() {
        writeln!(out, "Admin actions:")?;
    }
    for a in &actions {
        let what = match (a.outbox_id, a.inbound_id) {
            (Some(id), _) => format!("mail {id}"),
            (None, Some(id)) => format!("inbound message {id}"),
            (None, None) => String::new(),
        };
        let detail = if a.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", a.detail)
        };
        writeln!(
            out,
            "  {} {} {what} by {}{detail}",
            time.show(a.created_at),
            a.action,
            a.actor
        )?;
    }
    Ok(())
}
