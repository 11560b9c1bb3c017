//! `circle-relay requests list|show N`

use std::io::Write;

use sqlx::Row;

use super::RequestsCommand;
use crate::config::Config;
use crate::store::Store;

pub async fn run(cmd: RequestsCommand, config: &Config) -> anyhow::Result<()> {
    let store = super::open_store(config).await?;
    let result = match cmd {
        RequestsCommand::List { held: false } => list(&store).await,
        RequestsCommand::List { held: true } => super::holds::list(&store).await,
        RequestsCommand::Approve { number } => {
            super::holds::decide(config, &store, number, crate::relay::Decision::Approve).await
        }
        RequestsCommand::Reject { number } => {
            super::holds::decide(config, &store, number, crate::relay::Decision::Reject).await
        }
        RequestsCommand::Show { number } => show(&store, number).await,
    };
    store.close().await;
    result
}

fn when(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

async fn list(store: &Store) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<5} {:<10} {:<5} {:<20} {:<30} SUBJECT",
        "NO.", "STATUS", "WAVE", "RECEIVED", "REQUESTER"
    )?;
    let requests = store.requests().await?;
    for r in &requests {
        writeln!(
            out,
            "{:<5} {:<10} {:<5} {:<20} {:<30} {}",
            r.id,
            r.status,
            r.wave,
            when(r.created_at),
            r.requester_email,
            r.subject
        )?;
    }
    writeln!(out, "{} requests", requests.len())?;
    Ok(())
}

async fn show(store: &Store, number: i64) -> anyhow::Result<()> {
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
    writeln!(out, "Received: {}", when(r.created_at))?;
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
        "SELECT kind, to_email, status, created_at FROM outbox WHERE request_id = $1 ORDER BY id",
    )
    .bind(number)
    .fetch_all(store.pool())
    .await?;
    writeln!(out, "Mail:")?;
    for m in &mails {
        writeln!(
            out,
            "  {} {:<18} {:<30} {}",
            when(m.try_get("created_at")?),
            m.try_get::<String, _>("kind")?,
            m.try_get::<String, _>("to_email")?,
            m.try_get::<String, _>("status")?
        )?;
    }
    Ok(())
}
