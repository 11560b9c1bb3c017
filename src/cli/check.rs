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
    for missing in missing_passwords(config) {
        step(false, missing);
    }
    let secret = config.token_secret();
    step(
        secret.is_ok(),
        match secret {
            Ok(_) => "token secret is set".into(),
            Err(e) => e.to_string(),
        },
    );
    let (reached, what) = database(config).await?;
    step(reached, what);
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
            Ok(()) if inbox.kind == InboxKind::Maildir => format!("{what}: folders ready"),
            Ok(()) => format!("{what}: logged in, folders ready"),
            Err(e) => format!("{what}: {e}"),
        },
    );
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

/// A user name with no password cannot log in; say which and how to set it.
fn missing_passwords(config: &Config) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(i) = config.inbox()
        && i.kind == InboxKind::Imap
        && !i.username.is_empty()
        && i.password.is_empty()
    {
        found.push(format!(
            "[inbox] username {} has no password: set CIRCLE_RELAY_INBOX_PASSWORD (or [inbox] password)",
            i.username
        ));
    }
    if let Ok(o) = config.outbound()
        && o.kind == OutboundKind::Smtp
        && !o.username.is_empty()
        && o.password.is_empty()
    {
        found.push(format!(
            "[outbound] username {} has no password: set CIRCLE_RELAY_OUTBOUND_PASSWORD (or [outbound] password)",
            o.username
        ));
    }
    found
}

/// Opens the database without creating it: (reachable, what to say).
async fn database(config: &Config) -> anyhow::Result<(bool, String)> {
    let db = config.database()?;
    Ok(
        match super::open_store_creating(config, crate::store::diagnose::Missing::Refuse).await {
            Ok(store) => {
                let members = store.members().await.map(|m| m.len()).unwrap_or(0);
                store.close().await;
                (
                    true,
                    format!(
                        "database {} is reachable and migrated ({members} members)",
                        db.url
                    ),
                )
            }
            Err(e) => (false, format!("{e:#}")),
        },
    )
}
