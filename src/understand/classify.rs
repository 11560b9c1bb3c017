//! Every message is exactly one kind. The order matters: mail that must never
//! be answered (loops, bounces, automatic replies) is recognised before
//! anything that would make the relay answer.

use crate::domain::{EmailAddress, EmailError};

use super::{
    ParsedMessage,
    auto::{AutoReason, auto_reason},
    bounce::{self, BounceReport, Delivery},
    command::{Command, parse_command, strip_reply_prefixes},
    reply_text::new_text,
    token::{TokenMatch, find_tokens},
};

/// The relay's own address, to recognise replies to it and its own mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayIdentity {
    address: EmailAddress,
    local: String,
    domain: String,
}

impl RelayIdentity {
    pub fn new(circle_address: &str) -> Result<Self, EmailError> {
        let address = EmailAddress::parse(circle_address)?;
        Ok(Self {
            local: address.local_part().to_ascii_lowercase(),
            domain: address.domain().to_ascii_lowercase(),
            address,
        })
    }

    pub fn address(&self) -> &EmailAddress {
        &self.address
    }

    /// Lowercased local part (`circle` of `circle@circle.test`).
    pub fn local_part(&self) -> &str {
        &self.local
    }

    /// Lowercased domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// True for the circle address and its `+tag` forms.
    pub fn is_own_address(&self, addr: &str) -> bool {
        let Some((local, domain)) = addr.trim().rsplit_once('@') else {
            return false;
        };
        let base = local.split('+').next().unwrap_or(local);
        domain.eq_ignore_ascii_case(&self.domain) && base.eq_ignore_ascii_case(&self.local)
    }
}

/// Why a message is taken as a loop or the relay's own mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoopReason {
    /// From the circle address itself.
    OwnAddress,
    /// Carries a Message-ID the relay minted.
    OwnMessageId,
    /// `X-Loop` names the circle address.
    XLoop,
    /// A `List-Id`: mail distributed by another list.
    OtherList,
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// A new request to the circle.
    Request,
    /// A reply to something the relay sent.
    Reply(TokenMatch),
    Command(Command),
    AutoReply(AutoReason),
    Bounce(BounceReport),
    /// A delivery-delayed notice (RFC 3464 `Action: delayed`): not a failure.
    Delay(BounceReport),
    Loop(LoopReason),
    /// Broken beyond use: nothing to read.
    Unreadable,
}

impl Classification {
    /// True for kinds the relay must never answer.
    pub fn is_automatic(&self) -> bool {
        matches!(
            self,
            Self::AutoReply(_) | Self::Bounce(_) | Self::Delay(_) | Self::Loop(_)
        )
    }

    /// A short stable name, for logs and the store.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Reply(_) => "reply",
            Self::Command(_) => "command",
            Self::AutoReply(_) => "auto-reply",
            Self::Bounce(_) => "bounce",
            Self::Delay(_) => "delay",
            Self::Loop(_) => "loop",
            Self::Unreadable => "unreadable",
        }
    }
}

/// Classifies a parsed message.
pub fn classify(msg: &ParsedMessage, relay: &RelayIdentity) -> Classification {
    if let Some(reason) = loop_reason(msg, relay) {
        return Classification::Loop(reason);
    }
    match bounce::detect(msg) {
        Some(Delivery::Failed(r)) => return Classification::Bounce(r),
        Some(Delivery::Delayed(r)) => return Classification::Delay(r),
        None => {}
    }
    if let Some(reason) = auto_reason(msg) {
        return Classification::AutoReply(reason);
    }
    if is_unreadable(msg) {
        return Classification::Unreadable;
    }
    if let Some(token) = find_tokens(msg, relay).into_iter().next() {
        return Classification::Reply(token);
    }
    if let Some(cmd) = command_of(msg) {
        return Classification::Command(cmd);
    }
    Classification::Request
}

fn loop_reason(msg: &ParsedMessage, relay: &RelayIdentity) -> Option<LoopReason> {
    if msg
        .from
        .as_ref()
        .is_some_and(|f| relay.is_own_address(&f.address))
    {
        return Some(LoopReason::OwnAddress);
    }
    if msg.message_id.as_deref().is_some_and(|id| {
        id.rsplit_once('@').is_some_and(|(left, d)| {
            d.eq_ignore_ascii_case(relay.domain()) && left.to_ascii_lowercase().starts_with("cr.")
        })
    }) {
        return Some(LoopReason::OwnMessageId);
    }
    if msg
        .headers
        .iter()
        .any(|(n, v)| n == "x-loop" && v.to_ascii_lowercase().contains(relay.address().key()))
    {
        return Some(LoopReason::XLoop);
    }
    if msg
        .header("list-id")
        .and_then(list_id)
        .is_some_and(|id| !id.ends_with(relay.domain()))
    {
        return Some(LoopReason::OtherList);
    }
    None
}

/// The `<list-id>` of an RFC 2919 List-Id header, lowercased. A value without
/// the angle brackets is not a List-Id (some MTAs write free text there).
fn list_id(value: &str) -> Option<String> {
    let start = value.rfind('<')?;
    let end = start + value[start..].find('>')?;
    let id = value[start + 1..end].trim();
    (id.contains('.') && !id.contains('@')).then(|| id.to_ascii_lowercase())
}

/// Nothing to read: neither a subject nor a body, or a body that is mostly
/// undecodable (U+FFFD) or control characters. A missing From alone does not
/// make mail unreadable (the relay decides whom it can answer).
fn is_unreadable(msg: &ParsedMessage) -> bool {
    if msg.subject.trim().is_empty() && msg.text.trim().is_empty() {
        return true;
    }
    let (mut bad, mut total) = (0usize, 0usize);
    for c in msg.text.chars().take(4096) {
        total += 1;
        if c == '\u{FFFD}' || (c.is_control() && !c.is_whitespace()) {
            bad += 1;
        }
    }
    msg.subject.trim().is_empty() && total > 0 && bad * 3 > total
}

/// A command in the subject, or in the first line of the new text.
fn command_of(msg: &ParsedMessage) -> Option<Command> {
    let subject = strip_reply_prefixes(&msg.subject);
    if !subject.is_empty()
        && let Some(c) = parse_command(subject)
    {
        return Some(c);
    }
    // Usually the first line of the body is the first line of the new text;
    // only a bottom-posted reply (starting with a quote) needs the full
    // quote removal.
    let first = msg.text.lines().find(|l| !l.trim().is_empty())?;
    if !first.trim_start().starts_with('>') && !first.trim_end().ends_with([':', '：']) {
        return parse_command(first);
    }
    let text = new_text(&msg.text);
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    parse_command(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::understand::{
        parse::{Mailbox, ReturnPath},
        token::TokenSource,
    };

    fn relay() -> RelayIdentity {
        RelayIdentity::new("circle@circle.test").expect("valid")
    }

    fn human(subject: &str, text: &str) -> ParsedMessage {
        ParsedMessage {
            subject: subject.into(),
            text: text.into(),
            from: Some(Mailbox {
                address: "hanako@example.jp".into(),
                name: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn request_reply_command() {
        let r = relay();
        assert_eq!(
            classify(&human("看護師を探しています", "詳細"), &r),
            Classification::Request
        );
        let mut m = human("Re: x", "はい");
        m.to.push(Mailbox {
            address: "circle+abcdefghij12@circle.test".into(),
            name: None,
        });
        assert!(matches!(
            classify(&m, &r),
            Classification::Reply(TokenMatch {
                source: TokenSource::Address,
                ..
            })
        ));
        assert_eq!(
            classify(&human("", "unsubscribe\n\n-- \nsig"), &r),
            Classification::Command(Command::Unsubscribe)
        );
        assert_eq!(
            classify(&human("ヘルプ", ""), &r),
            Classification::Command(Command::Help)
        );
    }

    #[test]
    fn a_reply_is_never_a_command() {
        let mut m = human("help", "help");
        m.in_reply_to.push("cr.abcdefghij12.1@circle.test".into());
        assert!(matches!(classify(&m, &relay()), Classification::Reply(_)));
    }

    #[test]
    fn loops_and_automatic_mail() {
        let r = relay();
        let mut m = human("x", "y");
        m.from = Some(Mailbox {
            address: "Circle+x@Circle.test".into(),
            name: None,
        });
        assert_eq!(
            classify(&m, &r),
            Classification::Loop(LoopReason::OwnAddress)
        );
        let mut m = human("x", "y");
        m.headers
            .push(("list-id".into(), "Other <other.list.example>".into()));
        assert_eq!(
            classify(&m, &r),
            Classification::Loop(LoopReason::OtherList)
        );
        let mut m = human("x", "y");
        m.headers
            .push(("list-id".into(), "abuser@rg.com Mailing List".into()));
        assert_eq!(classify(&m, &r), Classification::Request);
        let mut m = human("Re: help", "help");
        m.return_path = ReturnPath::Null;
        assert_eq!(
            classify(&m, &r),
            Classification::AutoReply(AutoReason::NullSender)
        );
    }

    #[test]
    fn unreadable_without_sender_or_content() {
        let r = relay();
        let m = human("", "");
        assert_eq!(classify(&m, &r), Classification::Unreadable);
        let m = human("", "\u{FFFD}\u{FFFD}\u{1}\u{2}ab");
        assert_eq!(classify(&m, &r), Classification::Unreadable);
    }
}
