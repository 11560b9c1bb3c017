//! Mail sent into the stack over real SMTP conversations with Postfix.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::*;

/// A unique Message-ID for a test message.
pub fn new_message_id(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("<{tag}.{t}.{n}.{}@test.{DOMAIN}>", std::process::id())
}

async fn expect(reader: &mut BufReader<TcpStream>, code: &str) {
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.expect("SMTP reply");
        assert!(
            line.starts_with(code),
            "SMTP: expected {code}, got {line:?}"
        );
        if line.as_bytes().get(3) != Some(&b'-') {
            return;
        }
    }
}

/// Submits one message to Postfix over a real SMTP conversation.
pub async fn send_mail(to: &str, subject: &str, message_id: &str, body_bytes: usize) {
    let stream = TcpStream::connect(*SMTP).await.expect("SMTP connect");
    let mut r = BufReader::new(stream);
    expect(&mut r, "220").await;
    let mut body = String::from("Hello circle.\r\n");
    while body.len() < body_bytes {
        body.push_str("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv\r\n");
    }
    let msg = format!(
        "From: Requester <req@example.org>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\
         Message-ID: {message_id}\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    );
    for (cmd, code) in [
        ("EHLO test.circle.test\r\n".to_string(), "250"),
        ("MAIL FROM:<req@example.org>\r\n".to_string(), "250"),
        (format!("RCPT TO:<{to}>\r\n"), "250"),
        ("DATA\r\n".to_string(), "354"),
        (format!("{msg}\r\n.\r\n"), "250"),
        ("QUIT\r\n".to_string(), "221"),
    ] {
        r.get_mut()
            .write_all(cmd.as_bytes())
            .await
            .expect("SMTP write");
        expect(&mut r, code).await;
    }
}

/// Submits a whole message over SMTP; `\n` line ends become CRLF.
pub async fn submit_raw(from: &str, to: &str, raw: &str) {
    use lettre::address::Envelope;
    use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(SMTP.0)
        .port(SMTP.1)
        .build();
    let envelope = Envelope::new(
        Some(from.parse::<Address>().expect("from address")),
        vec![to.parse::<Address>().expect("to address")],
    )
    .expect("envelope");
    let crlf = raw.replace("\r\n", "\n").replace('\n', "\r\n");
    smtp.send_raw(&envelope, crlf.as_bytes())
        .await
        .expect("SMTP submit");
}

/// An RFC 2047 encoded word (UTF-8, base64) for non-ASCII header text.
pub fn encode_word(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("=?UTF-8?B?{out}?=")
}

/// Sends a plain-text UTF-8 message by SMTP: `From: from`, `To: to`, the
/// subject (encoded when not ASCII), `headers` (each ending in `\n`), a fresh
/// Message-ID, and `body`. Returns the Message-ID (without brackets).
pub async fn send_text(from: &str, to: &str, subject: &str, headers: &str, body: &str) -> String {
    let id = new_message_id("e2e");
    let raw = format!(
        "From: {from}\nTo: {to}\nSubject: {subject}\n{headers}Message-ID: {id}\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n{body}\n",
        subject = encode_word(subject),
    );
    submit_raw(from, to, &raw).await;
    id.trim_matches(['<', '>']).to_string()
}

/// Submits, from `from` to `to`, a plain English request for a first-aid
/// nurse with Message-ID `<id>` and `subject`.
pub async fn submit_request(from: &str, to: &str, id: &str, subject: &str) {
    submit_raw(
        from,
        to,
        &format!(
            "From: {from}\nTo: {to}\nSubject: {subject}\nMessage-ID: <{id}>\n\
             MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
             We need a registered nurse to teach first aid to our staff in Tokyo.\n"
        ),
    )
    .await;
}
