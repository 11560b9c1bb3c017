//! Request submitted → forward visible in the member's mailbox, through the
//! daemon running as a real process against deploy/mailstack (IMAP IDLE in,
//! SMTP out), next to the stack's own direct delivery time measured in the
//! same run. Median of 20 each; target (issue 5): relay ≤ 3× direct.
//!
//! Run: `deploy/mailstack/up.sh && cargo bench --bench relay_latency`.

#[path = "../tests/inbox_support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const SAMPLES: usize = 20;
const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");

async fn submit(from: &str, to: &str, subject: &str, body: &str) {
    let raw = format!(
        "From: {from}
To: {to}
Subject: {subject}
Message-ID: {}
MIME-Version: 1.0
\
         Content-Type: text/plain; charset=UTF-8

{body}
",
        support::new_message_id("lat")
    );
    support::submit_raw(from, to, &raw).await;
}

async fn until_more(user: &str, before: usize, t0: Instant) -> Duration {
    while support::inbox_count(user) <= before {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{user} received nothing within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    t0.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn setup(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("circle-relay.toml");
    std::fs::write(
        &config,
        format!(
            "[circle]\nname = \"Bench Circle\"\naddress = \"relay5@circle.test\"\nposting = \"anyone\"\n\
             [database]\nurl = \"sqlite://{}\"\n\
             [inbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = 10143\ntls = \"none\"\nusername = \"relay5\"\npassword = \"test\"\n\
             [outbound]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 10025\ntls = \"none\"\n\
             [matching]\nmax_forwards_per_member_per_week = 10000\n\
             [security]\ntoken_secret = \"a-benchmark-secret\"\nmax_mails_per_address_per_hour = 10000\n\
             [moderation]\nmax_requests_per_sender_per_day = 100000\n",
            dir.join("relay.db").display()
        ),
    )
    .expect("config");
    let csv = dir.join("members.csv");
    std::fs::write(
        &csv,
        "email,name,skills,bio,languages,region,status\nnurse6@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse.,en,Tokyo,\n",
    )
    .expect("members");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["members", "import"])
        .arg(&csv)
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    config
}

#[tokio::main]
async fn main() {
    support::require_stack();
    for u in ["relay5", "nurse6", "asker5", "direct"] {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = setup(dir.path());
    let _daemon = support::DaemonProcess::run(&config);
    tokio::time::sleep(Duration::from_secs(2)).await; // logged in and idling

    let (mut direct, mut relayed) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        let before = support::inbox_count("direct");
        let t0 = Instant::now();
        submit(
            "asker5@circle.test",
            "direct@circle.test",
            "direct",
            "plain delivery",
        )
        .await;
        direct.push(until_more("direct", before, t0).await);

        let before = support::inbox_count("nurse6");
        let t0 = Instant::now();
        submit(
            "asker5@circle.test",
            "relay5@circle.test",
            &format!("Nurse for a first aid class #{i}"),
            "We need a registered nurse to teach first aid to our staff.",
        )
        .await;
        relayed.push(until_more("nurse6", before, t0).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (d, r) = (median(direct), median(relayed));
    let ratio = r.as_secs_f64() / d.as_secs_f64();
    println!(
        "request submitted -> forward in the member's mailbox: median {:.1} ms over {SAMPLES}; \
         direct delivery on the same stack: median {:.1} ms; ratio {ratio:.1}x (target <= 3x: {})",
        r.as_secs_f64() * 1000.0,
        d.as_secs_f64() * 1000.0,
        if ratio <= 3.0 { "met" } else { "not met" }
    );
}
