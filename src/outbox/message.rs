//! Rendering one outgoing mail into RFC 5322 bytes, once, when it is queued.
//!
//! Every mail the relay sends is from the relay itself (so SPF/DMARC hold),
//! UTF-8 with RFC 2047 headers (lettre encodes them), text and HTML parts,
//! `Auto-Submitted` (RFC 3834), `X-Auto-Response-Suppress: All` (Exchange),
//! and a mailto `List-Unsubscribe` (RFC 2369), led by the member's one-click
//! https link with `List-Unsubscribe-Post` (RFC 8058) when `[web]` is on.

use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};

use crate::domain::EmailAddress;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoSubmitted {
    /// Mail the relay starts (forwards, digests): `auto-generated`.
    Generated,
    /// Mail answering someone's mail (acknowledgements): `auto-replied`.
    Replied,
}

#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub from: EmailAddress,
    pub from_name: String,
    pub reply_to: Option<EmailAddress>,
    pub to: EmailAddress,
    pub to_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Without angle brackets.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub auto_submitted: AutoSubmitted,
    /// The mailto URL, e.g. `mailto:circle@x.org?subject=unsubscribe`.
    pub list_unsubscribe: String,
    /// The member's one-click https URL (`[web]` on, a mail to a member).
    pub one_click_unsubscribe: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("address {0} cannot be written in a header: {1}")]
    Address(String, String),
    #[error("message cannot be built: {0}")]
    Build(String),
}

/// A lettre address; carrier addresses with `..` get a quoted local part,
/// the one form RFC 5321 allows for them.
pub fn lettre_address(a: &EmailAddress) -> Result<Address, RenderError> {
    let local = if a.needs_quoting() {
        format!("\"{}\"", a.local_part())
    } else {
        a.local_part().to_string()
    };
    Address::new(local, a.domain()).map_err(|e| RenderError::Address(a.to_string(), e.to_string()))
}

/// Removes what could end a header line or hide in one: user text (names,
/// subjects) is never able to add a header.
pub fn header_safe(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    one_line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn msg_id(id: &str) -> String {
    format!("<{}>", id.trim_matches(|c| c == '<' || c == '>'))
}

fn raw_header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

impl OutgoingMail {
    /// `<https://…/u/TOKEN>, <mailto:…>` (RFC 8058 wants the https URL), or
    /// the mailto alone.
    fn list_unsubscribe_value(&self) -> String {
        let mailto = format!("<{}>", header_safe(&self.list_unsubscribe));
        match &self.one_click_unsubscribe {
            Some(url) => format!("<{}>, {mailto}", header_safe(url)),
            None => mailto,
        }
    }

    pub fn render(&self) -> Result<Vec<u8>, RenderError> {
        let from_addr = lettre_address(&self.from)?;
        let to_addr = lettre_address(&self.to)?;
        // The envelope is given, not derived: lettre cannot derive one from a quoted local part.
        let envelope = Envelope::new(Some(from_addr.clone()), vec![to_addr.clone()])
            .map_err(|e| RenderError::Build(e.to_string()))?;
        let from = Mailbox::new(Some(header_safe(&self.from_name)), from_addr);
        let to_name = header_safe(&self.to_name);
        let to = Mailbox::new((!to_name.is_empty()).then_some(to_name), to_addr);
        let mut b = Message::builder()
            .envelope(envelope)
            .from(from)
            .to(to)
            .subject(header_safe(&self.subject))
            .message_id(Some(msg_id(&self.message_id)))
            .raw_header(raw_header(
                "Auto-Submitted",
                match self.auto_submitted {
                    AutoSubmitted::Generated => "auto-generated".into(),
                    AutoSubmitted::Replied => "auto-replied".into(),
                },
            ))
            .raw_header(raw_header("X-Auto-Response-Suppress", "All".into()))
            .raw_header(raw_header(
                "List-Unsubscribe",
                self.list_unsubscribe_value(),
            ));
        if self.one_click_unsubscribe.is_some() {
            b = b.raw_header(raw_header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
        }
        if let Some(r) = &self.reply_to {
            b = b.reply_to(Mailbox::new(None, lettre_address(r)?));
        }
        if let Some(irt) = &self.in_reply_to {
            b = b.in_reply_to(msg_id(irt));
        }
        if !self.references.is_empty() {
            let refs: Vec<String> = self.references.iter().map(|r| msg_id(r)).collect();
            b = b.references(refs.join(" "));
        }
        let body = MultiPart::alternative()
            .singlepart(SinglePart::plain(self.text.clone()))
            .singlepart(SinglePart::html(self.html.clone()));
        let message = b
            .multipart(body)
            .map_err(|e| RenderError::Build(e.to_string()))?;
        Ok(message.formatted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> OutgoingMail {
        OutgoingMail {
            from: EmailAddress::parse("circle@circle.test").unwrap(),
            from_name: "山田 花子 via コーチング・サークル".into(),
            reply_to: Some(EmailAddress::parse("circle+abc123def4@circle.test").unwrap()),
            to: EmailAddress::parse("taro..yamada@docomo.ne.jp").unwrap(),
            to_name: "山田 太郎".into(),
            subject: "看護師さんを探しています\r\nBcc: victim@example.org".into(),
            text: "本文です。".into(),
            html: "<p>本文です。</p>".into(),
            message_id: "cr.abc123def4.fwd@circle.test".into(),
            in_reply_to: Some("<orig@example.org>".into()),
            references: vec!["orig@example.org".into()],
            auto_submitted: AutoSubmitted::Generated,
            list_unsubscribe: "mailto:circle@circle.test?subject=unsubscribe".into(),
            one_click_unsubscribe: None,
        }
    }

    #[test]
    fn renders_headers_parts_and_quoted_carrier_address() {
        let raw = String::from_utf8(mail().render().unwrap()).unwrap();
        assert!(
            raw.contains("Message-ID: <cr.abc123def4.fwd@circle.test>"),
            "{raw}"
        );
        assert!(raw.contains("Auto-Submitted: auto-generated"));
        assert!(raw.contains("X-Auto-Response-Suppress: All"));
        assert!(raw.contains("List-Unsubscribe: <mailto:circle@circle.test?subject=unsubscribe>"));
        assert!(raw.contains("In-Reply-To: <orig@example.org>"));
        assert!(raw.contains("\"taro..yamada\"@docomo.ne.jp"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/html"));
        assert!(
            raw.contains("=?utf-8?"),
            "Japanese headers are RFC 2047 encoded"
        );
    }

    #[test]
    fn a_one_click_url_leads_list_unsubscribe_and_adds_the_post_header() {
        let plain = String::from_utf8(mail().render().unwrap()).unwrap();
        assert!(!plain.contains("List-Unsubscribe-Post"));
        let mut m = mail();
        m.one_click_unsubscribe = Some("https://circle.example/u/7-abc".into());
        let raw = String::from_utf8(m.render().unwrap()).unwrap();
        let unfolded = raw.replace("\r\n ", " ");
        assert!(
            unfolded.contains("List-Unsubscribe: <https://circle.example/u/7-abc>, <mailto:circle@circle.test?subject=unsubscribe>"),
            "{raw}"
        );
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    }

    #[test]
    fn user_text_cannot_inject_a_header() {
        let raw = String::from_utf8(mail().render().unwrap()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            !headers
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "{headers}"
        );
    }
}
