//! `circle-relay check`: the config, the database, the inbox and the outbound
//! server, each step reported in plain words.

use crate::config::{AuthMethod, Config, InboxKind, OutboundKind};
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
    let db = config.database()?;
    let mut tokens = None;
    // Kept open to the end: the token source stores a rotated refresh token in it.
    let mut opened = None;
    match super::open_store_creating(config, crate::store::diagnose::Missing::Refuse).await {
        Ok(store) => {
            tokens = oauth2(config, &store, &mut step).await;
            let members = store.members().await.map(|m| m.len()).unwrap_or(0);
            step(
                true,
                format!(
                    "database {} is reachable and migrated ({members} members)",
                    db.url
                ),
            );
            opened = Some(store);
        }
        Err(e) => step(false, format!("{e:#}")),
    }
    for (ok, line) in inbox_steps(config, tokens.clone()).await? {
        step(ok, line);
    }
    sender_trust(&config.inbox()?, &config.circle()?.posting);
    let (what, sent) = reach_outbound(config, tokens).await?;
    step(
        sent.is_ok(),
        match sent {
            Ok(()) => format!("{what}: reachable"),
            Err(e) => format!("{what}: {e}"),
        },
    );
    if let Some(store) = opened {
        store.close().await;
    }
    if failures > 0 {
        anyhow::bail!("{failures} check(s) failed");
    }
    println!("all checks passed");
    Ok(())
}

type Tokens = Option<crate::oauth2::TokenSource>;

/// Logs in to the inbox and makes its folders; one line per folder the
/// server refused, with the fix.
async fn inbox_steps(config: &Config, tokens: Tokens) -> anyhow::Result<Vec<(bool, String)>> {
    let inbox = config.inbox()?;
    let what = match inbox.kind {
        InboxKind::Imap => format!(
            "IMAP {}@{}:{} folder {}",
            inbox.username, inbox.host, inbox.port, inbox.folder
        ),
        InboxKind::Maildir => format!("Maildir inbox {}", inbox.path),
        InboxKind::Lmtp => format!("LMTP intake {}", inbox.listen),
    };
    if inbox.kind == InboxKind::Lmtp {
        return Ok(vec![lmtp_step(&inbox, &what)]);
    }
    let reached = match Inbox::from_config(&inbox) {
        Ok(i) => {
            let mut i = match tokens.filter(|_| inbox.auth == AuthMethod::Xoauth2) {
                Some(t) => i.with_tokens(t),
                None => i,
            };
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
    Ok(match reached {
        Ok(problems) if problems.is_empty() && inbox.kind == InboxKind::Maildir => {
            vec![(true, format!("{what}: folders ready"))]
        }
        Ok(problems) if problems.is_empty() => {
            vec![(true, format!("{what}: logged in, folders ready"))]
        }
        Ok(problems) => problems
            .iter()
            .map(|p| (false, format!("{what}: {p}")))
            .collect(),
        Err(e) => vec![(false, format!("{what}: {e}"))],
    })
}

/// The LMTP listen address must be one we can bind (nobody else on it).
fn lmtp_step(inbox: &crate::config::InboxConfig, what: &str) -> (bool, String) {
    match crate::inbox::LmtpListen::parse(&inbox.listen) {
        Ok(listen) => (true, format!("{what}: will listen on {listen}")),
        Err(e) => (false, format!("{what}: {e}")),
    }
}

/// Logs in to the outbound server without sending.
async fn reach_outbound(
    config: &Config,
    tokens: Tokens,
) -> anyhow::Result<(String, Result<(), String>)> {
    let outbound = config.outbound()?;
    let what = match outbound.kind {
        OutboundKind::Smtp => format!("SMTP {}:{}", outbound.host, outbound.port),
        OutboundKind::Maildir => format!("Maildir outbox {}", outbound.path),
    };
    let sent = match Transport::from_config(&outbound) {
        Ok(t) => {
            let t = match tokens.filter(|_| outbound.auth == AuthMethod::Xoauth2) {
                Some(tokens) => t.with_tokens(tokens),
                None => t,
            };
            t.test_connection().await.map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    Ok((what, sent))
}

/// With XOAUTH2: asks for a token now (a rotated refresh token is stored like
/// `run` does) and says who signs in and until when; never the token.
async fn oauth2(
    config: &Config,
    store: &crate::store::Store,
    step: &mut impl FnMut(bool, String),
) -> Option<crate::oauth2::TokenSource> {
    let tokens = match crate::daemon::oauth2_tokens(config, store) {
        Ok(Some(t)) => t,
        Ok(None) => return None,
        Err(e) => {
            step(false, format!("OAuth2: {e:#}"));
            return None;
        }
    };
    match tokens.token().await {
        Ok(token) => {
            let expires = jiff::Timestamp::from_second(token.expires_at)
                .map(|t| t.to_string())
                .unwrap_or_default();
            let left = token.expires_at - crate::clock::system_now();
            step(
                true,
                format!(
                    "OAuth2: signed in as {}; the access token expires at {expires} (in {left} s)",
                    tokens.identity()
                ),
            );
        }
        Err(e) => step(false, format!("OAuth2 ({}): {e}", tokens.identity())),
    }
    Some(tokens)
}

/// A user name with no password cannot log in; say which and how to set it.
fn missing_passwords(config: &Config) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(i) = config.inbox()
        && i.kind == InboxKind::Imap
        && i.auth != AuthMethod::Xoauth2
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
        && o.auth != AuthMethod::Xoauth2
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
