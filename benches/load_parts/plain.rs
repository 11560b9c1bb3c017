//! What the mail stack alone delivers per second: plain mails submitted over
//! a few kept-open SMTP connections (as the daemon's outbox lanes send),
//! timed until the last is in its Maildir. The daemon's figures are read
//! against this one.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::support;

/// The users the plain mails go to (deploy/mailstack/users/intake.txt):
/// as many mailboxes as the load's mails go to (8 members' and the
/// requesters'), since Dovecot delivers to one mailbox at a time.
pub const PLAIN_USERS: [&str; 9] = [
    "loadplain1",
    "loadplain2",
    "loadplain3",
    "loadplain4",
    "loadplain5",
    "loadplain6",
    "loadplain7",
    "loadplain8",
    "loadplain9",
];

fn delivered() -> usize {
    PLAIN_USERS.iter().map(|u| support::inbox_count(u)).sum()
}

fn reset() {
    for u in PLAIN_USERS {
        support::reset_user(u);
    }
}

/// Reads one SMTP reply (all its lines); panics unless it starts with `code`.
async fn expect(r: &mut BufReader<TcpStream>, code: &str) {
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await.expect("SMTP reply");
        assert!(
            line.starts_with(code),
            "SMTP: expected {code}, got {line:?}"
        );
        if line.as_bytes().get(3) != Some(&b'-') {
            return;
        }
    }
}

/// One connection sending `count` mails, one transaction each.
async fn lane(lane: usize, count: usize) {
    let stream = TcpStream::connect(*support::SMTP)
        .await
        .expect("SMTP connect");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let mut r = BufReader::new(stream);
    expect(&mut r, "220").await;
    r.get_mut()
        .write_all(b"EHLO plain.circle.test\r\n")
        .await
        .expect("write");
    expect(&mut r, "250").await;
    for n in 0..count {
        let to = format!(
            "{}@{}",
            PLAIN_USERS[(lane + n) % PLAIN_USERS.len()],
            support::DOMAIN
        );
        let envelope = format!("MAIL FROM:<asker6@circle.test>\r\nRCPT TO:<{to}>\r\nDATA\r\n");
        r.get_mut()
            .write_all(envelope.as_bytes())
            .await
            .expect("write");
        for code in ["250", "250", "354"] {
            expect(&mut r, code).await;
        }
        let body = format!(
            "From: asker6@circle.test\r\nTo: {to}\r\nSubject: plain {lane}.{n}\r\n\
             Message-ID: <plain-{lane}-{n}@circle.test>\r\n\r\nA plain delivery of about a forward's size.\r\n{}\r\n.\r\n",
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n".repeat(20)
        );
        r.get_mut().write_all(body.as_bytes()).await.expect("write");
        expect(&mut r, "250").await;
    }
    let _ = r.get_mut().write_all(b"QUIT\r\n").await;
}

/// Submits `mails` over `lanes` connections; returns the mails/s from the
/// first submission to the last mail in the Maildir, and the submission rate.
pub async fn stack_rate(mails: usize, lanes: usize) -> (f64, f64) {
    reset();
    let t0 = Instant::now();
    let per_lane = mails.div_ceil(lanes);
    let sends: Vec<_> = (0..lanes)
        .map(|l| tokio::spawn(lane(l, per_lane)))
        .collect();
    for s in sends {
        s.await.expect("a plain lane");
    }
    let submitted = t0.elapsed();
    let total = per_lane * lanes;
    while delivered() < total {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "plain delivery: {} of {total} after 5 minutes",
            delivered()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = t0.elapsed();
    reset();
    (
        total as f64 / took.as_secs_f64(),
        total as f64 / submitted.as_secs_f64(),
    )
}
