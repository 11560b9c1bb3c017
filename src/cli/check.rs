//! `circle-relay check`: the config, the database, the inbox and the outbound
//! server, each step reported in plain words.

use crate::config::{Config, InboxKind, OutboundKind};
use crate::inbox::Inbox;
use crate::outbox::Transport;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let mut failures = 0;
    let mut step = |ok: bool, what: String| {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures += 1;
        }
    };
    match config.validate_all() {
        Ok(()) => step(true, format!("config {} is valid", config.origin())),
        Err(e) => {
            step(false, format!("config: {e}"));
            anyhow::bail!("the config is not valid");
        }
    }
    let secret = config.token_secret();
    step(
        secret.is_ok(),
        match secret {
            Ok(_) => "token secret is set".into(),
            Err(e) => e.to_string(),
        },
    );
    let db = config.database()?;
    match super::open_store(config).await {
        Ok(store) => {
            let members = store.members().await.map(|m| m.len()).unwrap_or(0);
            step(
                true,
                format!(
                    "database {} is reachable and migrated ({members} members)",
                    db.url
                ),
            );
            store.close().await;
        }
        Err(e) => step(false, format!("database {}: {e:#}", db.url)),
    }
    let inbox = config.inbox()?;
    let what = match inbox.kind {
        InboxKind::Imap => format!(
            "IMAP {}@{}:{} folder {}",
            inbox.username, inbox.host, inbox.port, inbox.folder
        ),
        InboxKind::Maildir => format!("Maildir inbox {}", inbox.path),
        InboxKind::Lmtp => format!("LMTP intake {}", inbox.listen),
    };
    for (ok, line) in inbox_steps(&inbox, &what).await {
        step(ok, line);
    }
    let outbound = config.outbound()?;
    let what = match outbound.kind {
        OutboundKind::Smtp => format!("SMTP {}:{}", outbound.host, outbound.port),
        OutboundKind::Maildir => format!("Maildir outbox {}", outbound.path),
    };
    let sent = match Transport::from_config(&outbound) {
        Ok(t) => t.test_connection().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    step(
        sent.is_ok(),
        match sent {
            Ok(()) => format!("{what}: reachable"),
            Err(e) => format!("{what}: {e}"),
        },
    );
    if failures > 0 {
        anyhow::bail!("{failures} check(s) failed");
    }
    println!("all checks passed");
    Ok(())
}

/// Logs in and makes the folders; one line per folder the server refused,
/// with the fix.
async fn inbox_steps(inbox: &crate::config::InboxConfig, what: &str) -> Vec<(bool, String)> {
    if inbox.kind == InboxKind::Lmtp {
        return vec![lmtp_step(inbox, what)];
    }
    let reached = match Inbox::from_config(inbox) {
        Ok(mut i) => {
            let r =
                tokio::time::timeout(std::time::Duration::from_secs(30), i.ensure_folders()).await;
            i.close().await;
            match r {
                Ok(Ok(problems)) => Ok(problems),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("no answer within 30 s".into()),
            }
        }
        Err(e) => Err(e.to_string()),
    };
    match reached {
        Ok(problems) if problems.is_empty() => {
            vec![(true, format!("{what}: logged in, folders ready"))]
        }
        Ok(problems) => problems
            .iter()
            .map(|p| (false, format!("{what}: {p}")))
            .collect(),
        Err(e) => vec![(false, format!("{what}: {e}"))],
    }
}

/// The LMTP listen address must be one we can bind (nobody else on it).
fn lmtp_step(inbox: &crate::config::InboxConfig, what: &str) -> (bool, String) {
    match crate::inbox::LmtpListen::parse(&inbox.listen) {
        Ok(listen) => (true, format!("{what}: will listen on {listen}")),
        Err(e) => (false, format!("{what}: {e}")),
    }
}
