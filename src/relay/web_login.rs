//! The web console's sign-in mail: a one-time link and the same code to type
//! (issue 17). Queued like any generated mail, so the outbox sends, retries
//! and records it.

use minijinja::context;

use super::{Queued, Recipient, Relay, RelayError, Thread, Tx};
use crate::domain::{EmailAddress, MailKind, MailLanguage};

/// One sign-in mail to queue.
pub struct WebLoginMail<'a> {
    pub to: &'a EmailAddress,
    pub language: MailLanguage,
    /// `{base_url}login/CODE`.
    pub link: &'a str,
    /// The code as a person types it, e.g. `ABCD-EFGH`.
    pub code: &'a str,
    /// How long the code lives, in minutes.
    pub minutes: i64,
    /// Names the code in the outbox key (e.g. a prefix of its hash), so
    /// every code gets its own mail.
    pub key: &'a str,
}

impl Relay {
    /// Queues the sign-in mail in the caller's transaction.
    pub async fn queue_web_login(
        &self,
        tx: &mut Tx<'_>,
        m: &WebLoginMail<'_>,
    ) -> Result<bool, RelayError> {
        let vars = context! { link => m.link, code => m.code, minutes => m.minutes };
        let mid = self.message_id(&format!("login.{}", m.key));
        let to = Recipient::address(m.to.clone(), m.language);
        let mail = Queued::generated(
            MailKind::WebLogin,
            format!("web_login:{}", m.key),
            to,
            vars,
            Thread::start(mid),
        );
        self.queue(tx, mail).await
    }
}
