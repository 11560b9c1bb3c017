//! What the relay makes of one message, in words: the pure part of
//! `circle-relay explain` (SPEC "explain --json"). No database, no effects.

use serde::Serialize;

use super::{
    AutoReason, BounceReport, Classification, Command, Limits, LoopReason, ParsedMessage,
    RelayIdentity, TokenMatch, TokenSource, UnderstandError, classify, new_text, parse,
    read_intent,
};

/// The SPEC's JSON object, field for field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// request | reply | command | automatic | bounce | delay | loop | spam | unreadable
    pub kind: &'static str,
    pub reason: String,
    pub subject: String,
    pub from: String,
    pub text: String,
    pub new_text: String,
    /// accept | decline | close | question, for replies only.
    pub intent: Option<&'static str>,
    /// help | pause | resume | profile | unsubscribe, for commands only.
    pub command: Option<&'static str>,
    /// For bounces and delays only.
    pub bounce: Option<ExplainedBounce>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainedBounce {
    pub recipients: Vec<ExplainedRecipient>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainedRecipient {
    pub address: String,
    /// RFC 3463 status such as `5.1.1`; empty when the notice gave none.
    pub status: String,
    /// hard | soft | policy | unknown
    pub severity: &'static str,
}

/// Explains `raw` as the relay would take it, under the inbox's size limit.
pub fn explain(raw: &[u8], relay: &RelayIdentity, limits: &Limits) -> Explanation {
    match parse(raw, limits) {
        Ok(msg) => {
            let class = classify(&msg, relay);
            let mut e = of_message(&msg, &class);
            // The receiving server's spam verdict wins over the kind (issue 14).
            let settings = super::trust::TrustSettings::default();
            if let Some(why) = super::trust::judge(raw, None, &settings).spam {
                e.kind = "spam";
                e.reason = format!(
                    "the receiving server marked it as spam ({why}): the relay moves it to the \
                     spam folder and never forwards or answers it"
                );
            }
            e
        }
        Err(e) => unreadable(&e),
    }
}

fn unreadable(e: &UnderstandError) -> Explanation {
    let reason = match e {
        UnderstandError::TooLarge { .. } => {
            format!("{e}: the relay moves it to Failed without reading it")
        }
        _ => format!("{e}: the relay moves it to Failed"),
    };
    Explanation {
        kind: "unreadable",
        reason,
        subject: String::new(),
        from: String::new(),
        text: String::new(),
        new_text: String::new(),
        intent: None,
        command: None,
        bounce: None,
    }
}

fn of_message(msg: &ParsedMessage, class: &Classification) -> Explanation {
    let human = matches!(
        class,
        Classification::Request | Classification::Reply(_) | Classification::Command(_)
    );
    let new = if human {
        new_text(&msg.text)
    } else {
        String::new()
    };
    let intent = matches!(class, Classification::Reply(_)).then(|| read_intent(&new).as_str());
    let (command, bounce) = match class {
        Classification::Command(c) => (Some(command_name(c)), None),
        Classification::Bounce(r) | Classification::Delay(r) => (None, Some(bounce_of(r))),
        _ => (None, None),
    };
    Explanation {
        kind: kind_name(class),
        reason: reason(msg, class),
        subject: msg.subject.clone(),
        from: msg.from_address().unwrap_or_default(),
        text: msg.text.clone(),
        new_text: new,
        intent,
        command,
        bounce,
    }
}

fn kind_name(class: &Classification) -> &'static str {
    match class {
        Classification::AutoReply(_) => "automatic",
        other => other.kind(),
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Help => "help",
        Command::Pause { .. } => "pause",
        Command::Resume => "resume",
        Command::Profile => "profile",
        Command::Unsubscribe => "unsubscribe",
    }
}

fn bounce_of(r: &BounceReport) -> ExplainedBounce {
    ExplainedBounce {
        recipients: r
            .failures()
            .into_iter()
            .map(|f| ExplainedRecipient {
                address: f.address,
                status: f.status.unwrap_or_default(),
                severity: f.severity.as_str(),
            })
            .collect(),
    }
}

fn reason(msg: &ParsedMessage, class: &Classification) -> String {
    match class {
        Classification::Request => {
            "no reply token and no command: a new request to the circle".into()
        }
        Classification::Reply(t) => token_reason(t),
        Classification::Command(c) => format!(
            "the subject or the first line is the command \"{}\"",
            command_name(c)
        ),
        Classification::AutoReply(a) => auto_reason(msg, *a),
        Classification::Bounce(r) => format!("delivery failed: {}", r.evidence()),
        Classification::Delay(r) => format!(
            "delivery delayed, still being tried (not a failure): {}",
            r.evidence()
        ),
        Classification::Loop(l) => loop_reason(*l).into(),
        Classification::Unreadable => {
            "nothing readable: no subject and no usable text; the relay moves it to Failed".into()
        }
    }
}

fn token_reason(t: &TokenMatch) -> String {
    let place = match t.source {
        TokenSource::Address => "in the reply address (circle+TOKEN@...)",
        TokenSource::Thread => "in In-Reply-To/References (a Message-ID the relay sent)",
        TokenSource::Subject => "in the subject tag [ref:TOKEN]",
    };
    format!("a reply: reply token {} found {place}", t.token)
}

fn auto_reason(msg: &ParsedMessage, a: AutoReason) -> String {
    let header = |name: &str, label: &str| {
        format!("{label}: {}", msg.header(name).unwrap_or_default().trim())
    };
    match a {
        AutoReason::AutoSubmitted => header("auto-submitted", "Auto-Submitted"),
        AutoReason::Precedence => header("precedence", "Precedence"),
        AutoReason::XAutoreply => "an X-Autoreply / X-Autorespond header".into(),
        AutoReason::Exchange => {
            "Exchange auto-response headers (X-Auto-Response-Suppress, Inbox-Rules-Loop)".into()
        }
        AutoReason::NullSender => "Return-Path: <> (the null sender of automatic mail)".into(),
        AutoReason::RobotSender => "sent by a robot address (mailer-daemon, no-reply, ...)".into(),
        AutoReason::Subject => format!("an out-of-office subject: {}", msg.subject.trim()),
        AutoReason::ReadReceipt => "a read receipt (disposition notification)".into(),
        AutoReason::FeedbackReport => "an abuse feedback report (ARF)".into(),
    }
}

fn loop_reason(l: LoopReason) -> &'static str {
    match l {
        LoopReason::OwnAddress => "sent from the circle address itself",
        LoopReason::OwnMessageId => "carries a Message-ID the relay minted (its own mail)",
        LoopReason::XLoop => "X-Loop names the circle address",
        LoopReason::OtherList => "a List-Id: mail distributed by another list",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay() -> RelayIdentity {
        RelayIdentity::new("circle@circle.test").expect("valid")
    }

    #[test]
    fn reply_with_intent_and_new_text() {
        let raw = b"From: Hanako <hanako@example.jp>\r\nTo: circle+abcdefghij12@circle.test\r\nSubject: Re: x\r\n\r\nYes, happy to help.\r\n\r\nOn Mon, Circle <circle@circle.test> wrote:\r\n> the request\r\n";
        let e = explain(raw, &relay(), &Limits::default());
        assert_eq!(e.kind, "reply");
        assert_eq!(e.new_text, "Yes, happy to help.");
        assert_eq!(e.intent, Some("accept"));
        assert_eq!(e.from, "hanako@example.jp");
        assert!(e.bounce.is_none() && e.command.is_none());
    }

    #[test]
    fn auto_reply_names_its_header() {
        let raw =
            b"From: a@b.example\r\nAuto-Submitted: auto-replied\r\nSubject: hi\r\n\r\nbody\r\n";
        let e = explain(raw, &relay(), &Limits::default());
        assert_eq!(e.kind, "automatic");
        assert_eq!(e.reason, "Auto-Submitted: auto-replied");
        assert!(e.new_text.is_empty() && e.intent.is_none());
    }

    #[test]
    fn too_large_is_unreadable_with_the_limit() {
        let limits = Limits {
            max_message_bytes: 8,
        };
        let e = explain(b"Subject: more than eight\r\n\r\nx", &relay(), &limits);
        assert_eq!(e.kind, "unreadable");
        assert!(
            e.reason.contains("exceeds the limit of 8 bytes"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn a_spam_verdict_is_kind_spam() {
        let raw = b"From: a@example.org\r\nTo: circle@circle.test\r\nSubject: pills\r\nX-Spam-Flag: YES\r\n\r\nbuy\r\n";
        let e = explain(raw, &relay(), &Limits::default());
        assert_eq!(e.kind, "spam");
        assert!(e.reason.contains("X-Spam-Flag: YES"), "{}", e.reason);
    }
}
