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
    };
    let reached = match Inbox::from_config(&inbox) {
        Ok(mut i) => {
            let r =
                tokio::time::timeout(std::time::Duration::from_secs(30), i.ensure_folders()).await;
            i.close().await;
            match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("no answer within 30 s".into()),
            }
        }
        Err(e) => Err(e.to_string()),
    };
    step(
        reached.is_ok(),
        match reached {
            Ok(()) => format!("{what}: logged in, folders ready"),
            Err(e) => format!("{what}: {e}"),
        },
    );
    sender_trust(&inbox, &config.circle()?.posting);
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

/// Whether the relay believes the receiving server about senders (a note,
/// not a failure: off is today's behaviour).
fn sender_trust(inbox: &crate::config::InboxConfig, posting: &crate::config::Posting) {
    if inbox.trusted_authserv_id.trim().is_empty() {
        println!(
            "note sender authentication is off: a forged From is taken as that member's \
             (set [inbox] trusted_authserv_id to the server that adds Authentication-Results)"
        );
    } else {
        println!(
            "ok   sender authentication from {} (Authentication-Results); posting = {}",
            inbox.trusted_authserv_id,
            format!("{posting:?}").to_lowercase()
        );
    }
}
