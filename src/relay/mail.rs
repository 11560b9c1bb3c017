//! One way to build an outgoing mail: [`Queued`] says what it is, who gets
//! it and what the templates see; [`Thread`] owns where it stands in a
//! conversation (Message-ID, In-Reply-To, References). Adding a mail kind is
//! one constructor call and one template per language.

use minijinja::Value;

use super::Recipient;
use crate::domain::MailKind;
use crate::outbox::AutoSubmitted;

/// A mail's place in a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thread {
    /// Without angle brackets; stable per outbox row.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

impl Thread {
    /// A mail that starts a conversation of its own.
    pub fn start(message_id: String) -> Self {
        Self {
            message_id,
            in_reply_to: None,
            references: vec![],
        }
    }

    /// A mail that answers `parent` (when known): In-Reply-To and References name it.
    pub fn answering(message_id: String, parent: Option<String>) -> Self {
        Self {
            message_id,
            references: parent.iter().cloned().collect(),
            in_reply_to: parent,
        }
    }

    /// The same, with `origin` (the conversation's first mail) first in References.
    pub fn after(mut self, origin: Option<String>) -> Self {
        self.references.splice(0..0, origin);
        self
    }
}

/// One mail to queue.
pub(crate) struct Queued {
    pub key: String,
    pub kind: MailKind,
    pub to: Recipient,
    pub vars: Value,
    /// Replies go to `circle+TOKEN@domain` when set.
    pub reply_token: Option<String>,
    pub thread: Thread,
    pub auto_submitted: AutoSubmitted,
    pub request_id: Option<i64>,
    pub member_id: Option<i64>,
}

impl Queued {
    /// A mail the relay sends of its own accord (`Auto-Submitted: auto-generated`).
    pub fn generated(
        kind: MailKind,
        key: String,
        to: Recipient,
        vars: Value,
        thread: Thread,
    ) -> Self {
        Self {
            key,
            kind,
            to,
            vars,
            reply_token: None,
            thread,
            auto_submitted: AutoSubmitted::Generated,
            request_id: None,
            member_id: None,
        }
    }

    /// A mail that answers one the relay received (`Auto-Submitted: auto-replied`).
    pub fn replied(
        kind: MailKind,
        key: String,
        to: Recipient,
        vars: Value,
        thread: Thread,
    ) -> Self {
        Self {
            auto_submitted: AutoSubmitted::Replied,
            ..Self::generated(kind, key, to, vars, thread)
        }
    }

    /// Answers to this mail come back to `circle+TOKEN@domain`.
    pub fn reply_token(mut self, token: String) -> Self {
        self.reply_token = Some(token);
        self
    }

    /// The request and member the outbox row is about.
    pub fn about(mut self, request_id: Option<i64>, member_id: Option<i64>) -> Self {
        self.request_id = request_id;
        self.member_id = member_id;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_names_its_parent_and_origin() {
        assert_eq!(Thread::start("a@x".into()).references, Vec::<String>::new());
        let t = Thread::answering("b@x".into(), Some("ack@x".into())).after(Some("req@y".into()));
        assert_eq!(t.in_reply_to.as_deref(), Some("ack@x"));
        assert_eq!(t.references, ["req@y", "ack@x"]);
        let lone = Thread::answering("c@x".into(), None).after(None);
        assert_eq!((lone.in_reply_to, lone.references.len()), (None, 0));
    }
}
