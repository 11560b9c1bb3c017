//! `circle-relay requests list|show N`

use std::fmt::Display;

use super::table::Table;
use std::io::Write;

use super::RequestsCommand;
use super::time::CircleTime;
use crate::config::Config;
use crate::relay::ByHand;
use crate::store::Store;
use crate::store::admin::OutboxFilter;

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
        RequestsCommand::Forward { number, email } => forward(config, &store, number, &email).await,
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
    let forwards = store.request_forwards(number).await?;
    writeln!(out, "Forwards:")?;
    if forwards.is_empty() {
        writeln!(out, "  none (nobody fitted)")?;
    }
    for f in &forwards {
        writeln!(
            out,
            "  wave {} {:<30} {:<9} score {:.2}  {}",
            f.wave,
            f.member_email,
            f.state.as_str(),
            f.score,
            f.reasons.join("; ")
        )?;
    }
    let filter = OutboxFilter {
        request_id: Some(number),
        limit: i64::MAX,
        ..Default::default()
    };
    let mut mails = store.outbox_rows(&filter).await?;
    mails.reverse();
    writeln!(out, "Mail:")?;
    for m in &mails {
        writeln!(
            out,
            "  {} mail {:<4} {:<18} {:<30} {}",
            time.show(m.created_at),
            m.id,
            m.kind,
            m.to_email,
            m.status
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

/// `requests forward N EMAIL`: an ordinary forward to a member the admin
/// chose, recorded as theirs; a refusal says why and changes nothing.
async fn forward(config: &Config, store: &Store, number: i64, email: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let member = crate::domain::EmailAddress::parse(email)
        .map_err(|e| anyhow::anyhow!("{email:?} is not an email address: {e}"))?;
    let relay = crate::daemon::relay_from_config(config)?
        .with_clock(crate::clock::DaemonClock::from_env().clock);
    let matcher = crate::matching::Matcher::with_default_vocabulary(store.members().await?)
        .context("cannot index the member directory")?;
    let actor = super::outbox::actor();
    let mut tx = store.begin().await?;
    let by = ByHand {
        request_id: number,
        member: &member,
        actor: &actor,
    };
    let done = relay.forward_by_hand(&mut tx, &matcher, &by).await?;
    let done = match done {
        Ok(done) => done,
        Err(refusal) => {
            tx.rollback().await?;
            anyhow::bail!("request {number} was not forwarded: {refusal}");
        }
    };
    tx.commit().await?;
    let who = if done.name.trim().is_empty() {
        done.email.clone()
    } else {
        format!("{} <{}>", done.name.trim(), done.email)
    };
    println!("request {number} forwarded to {who}; they answer by reply, as to any forward");
    if done.reopened {
        println!("request {number} is open again (it had been closed as nobody fitted)");
    }
    match store.running_daemon(store.now()).await? {
        Some(holder) => println!("the running daemon ({holder}) sends it now"),
        None => println!(
            "no daemon is running: the forward waits in the outbox until `circle-relay run` starts"
        ),
    }
    Ok(())
}
