//! `circle-relay check`: the config, the database, the inbox and the outbound
//! server, each step reported in plain words.

use crate::config::{AuthMethod, Config, InboxKind, OutboundKind};
use crate::inbox::Inbox;
use crate::outbox::Transport;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let mut steps = Steps::default();
    match config.validate_all() {
        Ok(()) => steps.report(true, format!("config {} is valid", config.origin())),
        Err(e) => {
            steps.report(false, format!("config: {e}"));
            anyhow::bail!("the config is not valid");
        }
    }
    for missing in missing_passwords(config) {
        steps.report(false, missing);
    }
    steps.outcome(
        config
            .token_secret()
            .map(|_| "token secret is set".into())
            .map_err(|e| e.to_string()),
    );
    let (opened, tokens) = database(config, &mut steps).await?;
    for (ok, line) in inbox_steps(config, tokens.clone()).await? {
        steps.report(ok, line);
    }
    sender_trust(&config.inbox()?, &config.circle()?.posting);
    let (what, sent) = reach_outbound(config, tokens).await?;
    steps.outcome(
        sent.map(|()| format!("{what}: reachable"))
            .map_err(|e| format!("{what}: {e}")),
    );
    if let Some(store) = opened {
        store.close().await;
    }
    steps.finish()
}

/// Prints each step as it is checked and counts the failures.
#[derive(Default)]
struct Steps {
    failures: usize,
}

impl Steps {
    fn report(&mut self, ok: bool, what: String) {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            self.failures += 1;
        }
    }

    /// A step whose line says what was found, or what is wrong.
    fn outcome(&mut self, line: Result<String, String>) {
        match line {
            Ok(line) => self.report(true, line),
            Err(line) => self.report(false, line),
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        if self.failures > 0 {
            anyhow::bail!("{} check(s) failed", self.failures);
        }
        println!("all checks passed");
        Ok(())
    }
}

/// Opens the database (never creating it) and, with XOAUTH2, signs in.
/// The store is kept open to the end: the token source stores a rotated
/// refresh token in it.
async fn database(
    config: &Config,
    steps: &mut Steps,
) -> anyhow::Result<(Option<crate::store::Store>, Tokens)> {
    let db = config.database()?;
    match super::open_store_creating(config, crate::store::diagnose::Missing::Refuse).await {
        Ok(store) => {
            let tokens = oauth2(config, &store, steps).await;
            let members = store.members().await.map(|m| m.len()).unwrap_or(0);
            steps.report(
                true,
                format!(
                    "database {} is reachable and migrated ({members} members)",
                    db.url
                ),
            );
            Ok((Some(store), tokens))
        }
        Err(e) => {
            steps.report(false, format!("{e:#}"));
            Ok((None, None))
        }
    }
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
    steps: &mut Steps,
) -> Option<crate::oauth2::TokenSource> {
    let tokens = match crate::daemon::oauth2_tokens(config, store) {
        Ok(Some(t)) => t,
        Ok(None) => return None,
        Err(e) => {
            steps.report(false, format!("OAuth2: {e:#}"));
            return None;
        }
    };
    match tokens.token().await {
        Ok(token) => {
            let expires = jiff::Timestamp::from_second(token.expires_at)
                .map(|t| t.to_string())
                .unwrap_or_default();
            let left = token.expires_at - crate::clock::system_now();
            steps.report(
                true,
                format!(
                    "OAuth2: signed in as {}; the access token expires at {expires} (in {left} s)",
                    tokens.identity()
                ),
            );
        }
        Err(e) => steps.report(false, format!("OAuth2 ({}): {e}", tokens.identity())),
    }
    Some(tokens)
}

/// A user name with no password cannot log in; say which and how to set it.
fn missing_passwords(config: &Config) -> Vec<String> {
    let inbox = config
        .inbox()
        .ok()
        .filter(|i| i.kind == InboxKind::Imap)
        .map(|i| ("inbox", i.auth, i.username, i.password.is_empty()));
    let outbound = config
        .outbound()
        .ok()
        .filter(|o| o.kind == OutboundKind::Smtp)
        .map(|o| ("outbound", o.auth, o.username, o.password.is_empty()));
    [inbox, outbound]
        .into_iter()
        .flatten()
        .filter(|(_, auth, username, no_password)| {
            *auth != AuthMethod::Xoauth2 && !username.is_empty() && *no_password
        })
        .map(|(section, _, username, _)| {
            format!(
                "[{section}] username {username} has no password: set CIRCLE_RELAY_{}_PASSWORD (or [{section}] password)",
                section.to_uppercase()
            )
        })
        .collect()
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
