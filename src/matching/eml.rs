//! Reading a request message for matching: sender, subject and text body
//! (HTML-only mail as text), any charset mail-parser knows. Kept to one
//! function so the general message-understanding module can replace it.

use mail_parser::MessageParser;

use super::MatchError;
use crate::domain::EmailAddress;

#[derive(Debug, Clone, PartialEq)]
pub struct RequestText {
    pub from: Option<EmailAddress>,
    pub subject: String,
    pub body: String,
}

pub fn read_request(raw: &[u8]) -> Result<RequestText, MatchError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| MatchError::Message("not a MIME message".into()))?;
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .and_then(|a| EmailAddress::parse(a).ok());
    let subject = message.subject().unwrap_or_default().to_string();
    let body = message
        .body_text(0)
        .map(|b| b.into_owned())
        .unwrap_or_default();
    if subject.trim().is_empty() && body.trim().is_empty() {
        return Err(MatchError::Message(
            "the message has no subject and no text".into(),
        ));
    }
    Ok(RequestText {
        from,
        subject,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_iso_2022_jp_subject_and_html_only_body() {
        let raw = b"From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <a@example.jp>\r\n\
Subject: =?ISO-2022-JP?B?GyRCNEc4bjtVGyhC?=\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<p>\xe8\x96\xac\xe5\x89\xa4\xe5\xb8\xab<br>test</p>\r\n";
        let r = read_request(raw).expect("parses");
        assert_eq!(
            r.from.map(|f| f.as_str().to_string()),
            Some("a@example.jp".into())
        );
        assert_eq!(r.subject, "看護師");
        assert!(r.body.contains("薬剤師"), "{}", r.body);
        assert!(!r.body.contains("<p>"));
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(read_request(b"").is_err());
    }
}
