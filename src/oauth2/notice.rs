//! Telling the admins by mail that OAuth2 sign-in fails, where the mail can
//! still go out (the outbound server signs in another way). Once per
//! problem and day: the outbox's idempotency key says so.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::TokenSource;
use crate::config::{CircleConfig, MailLanguage};
use crate::domain::EmailAddress;
use crate::outbox::{AutoSubmitted, OutgoingMail};
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::store::outbox::{NewOutboxMail, enqueue};

/// How often the watcher looks at the token source.
const EVERY: Duration = Duration::from_secs(5);

/// Watches `tokens` until shutdown; a new problem is mailed to every admin
/// and the sender woken.
pub async fn watch(
    tokens: TokenSource,
    store: Store,
    circle: CircleConfig,
    wake: Arc<tokio::sync::Notify>,
    mut shutdown: Shutdown,
) {
    let mut told: Option<String> = None;
    while !shutdown.is_triggered() {
        let problem = tokens.failure().await;
        if let Some(p) = problem.as_ref().filter(|p| told.as_ref() != Some(*p)) {
            match queue(&store, &circle, p).await {
                Ok(n) => {
                    tracing::info!(
                        admins = n,
                        "the admins are told by mail that OAuth2 sign-in fails"
                    );
                    wake.notify_one();
                    told = problem.clone();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot queue the OAuth2 notice to the admins")
                }
            }
        } else if problem.is_none() {
            told = None;
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = shutdown.wait() => {}
        }
    }
}

/// Starts [`watch`] when there is something to watch.
pub fn spawn(
    alert: Option<(TokenSource, CircleConfig)>,
    store: &Store,
    wake: Arc<tokio::sync::Notify>,
    shutdown: &Shutdown,
) -> Option<tokio::task::JoinHandle<()>> {
    let (tokens, circle) = alert?;
    Some(tokio::spawn(watch(
        tokens,
        store.clone(),
        circle,
        wake,
        shutdown.clone(),
    )))
}

/// Queues one notice per admin; returns how many were new.
async fn queue(store: &Store, circle: &CircleConfig, problem: &str) -> anyhow::Result<usize> {
    let from = EmailAddress::parse(&circle.address)?;
    let digest = crate::crypto::hex(&Sha256::digest(problem.as_bytes())[..8]);
    let day = store.now() / 86_400;
    let mut tx = store.begin().await?;
    let mut queued = 0;
    for admin in &circle.admins {
        let Ok(to) = EmailAddress::parse(admin) else {
            continue;
        };
        let message_id = format!(
            "oauth2.{digest}.{day}.{}@{}",
            to.key().replace('@', "."),
            from.domain()
        );
        let (subject, text) = words(circle, problem);
        let mail = OutgoingMail {
            from: from.clone(),
            from_name: circle.name.clone(),
            reply_to: None,
            to: to.clone(),
            to_name: String::new(),
            subject: subject.clone(),
            html: format!(
                "<pre>{}</pre>",
                text.replace('&', "&amp;").replace('<', "&lt;")
            ),
            text,
            message_id: message_id.clone(),
            in_reply_to: None,
            references: vec![],
            auto_submitted: AutoSubmitted::Generated,
            list_unsubscribe: format!("mailto:{}?subject=unsubscribe", from),
            one_click_unsubscribe: None,
        };
        let row = NewOutboxMail {
            idempotency_key: format!("oauth2-alert:{digest}:{day}:{}", to.key()),
            kind: "admin_alert".into(),
            to_email: to.to_string(),
            message_id,
            subject,
            message: mail.render()?,
            request_id: None,
            member_id: None,
        };
        if enqueue(&mut tx, &row, store.now()).await? {
            queued += 1;
        }
    }
    tx.commit().await?;
    Ok(queued)
}

fn words(circle: &CircleConfig, problem: &str) -> (String, String) {
    let en = format!(
        "circle-relay cannot sign in to the mailbox of {} with OAuth2:\n\n  {problem}\n\n\
         Incoming mail stays on the server and nothing is lost; it is read once sign-in works again.\n\
         `circle-relay check` shows the state; the README's section \"Microsoft 365 and Google Workspace (OAuth2)\" tells what to do.\n",
        circle.name
    );
    match circle.language {
        MailLanguage::Ja => (
            format!(
                "[{}] OAuth2 のサインインに失敗しています / OAuth2 sign-in fails",
                circle.name
            ),
            format!(
                "circle-relay が OAuth2 でメールボックスにサインインできません。受信したメールはサーバーに残っており、失われません。\n\n{en}"
            ),
        ),
        MailLanguage::En => (format!("[{}] OAuth2 sign-in fails", circle.name), en),
    }
}
