//! `circle-relay digest preview EMAIL [--html]` prints one member's digest
//! (subject and text, or the HTML part) to stdout; `digest send` queues the
//! week's digest for every active member who has not had it this ISO week and
//! says who sends it (a running daemon, at once); `--now` sends it from here.

use anyhow::Context;

use super::DigestCommand;
use crate::config::Config;
use crate::digest::{Schedule, preview, send_now};
use crate::domain::EmailAddress;
use crate::relay::Relay;

pub async fn run(cmd: DigestCommand, config: &Config) -> anyhow::Result<()> {
    let circle = config.circle()?;
    let digest = config.digest()?;
    let schedule = Schedule::new(&digest.weekday, &digest.time, &circle.timezone)?;
    let relay = crate::daemon::relay_from_config(config)?;
    let store = super::open_store(config).await?;
    let now = store.now();
    let result = match cmd {
        DigestCommand::Preview { email, html } => {
            let email = EmailAddress::parse(&email).context("not an email address")?;
            let mail = preview(&relay, &store, &schedule, &email, now).await;
            mail.map(|m| match html {
                true => println!("{}", m.html.trim_end()),
                false => println!("Subject: {}\n\n{}", m.subject, m.text.trim_end()),
            })
            .map_err(anyhow::Error::from)
        }
        DigestCommand::Send { now: send } => {
            send_digest(&relay, &store, &schedule, now, send, config).await
        }
    };
    store.close().await;
    result
}

async fn send_digest(
    relay: &Relay,
    store: &crate::store::Store,
    schedule: &Schedule,
    now: i64,
    send: bool,
    config: &Config,
) -> anyhow::Result<()> {
    let run = send_now(relay, store, schedule, now).await?;
    println!(
        "digest {}: {} queued, {} already sent this week",
        run.week, run.sent, run.already_sent
    );
    if send {
        super::send::send_due(config, store).await?;
    } else {
        println!("{}", super::send::who_sends(store, run.sent).await?);
    }
    Ok(())
}
