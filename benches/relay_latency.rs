//! Request submitted → forward visible in the member's mailbox, through the
//! daemon running as a real process against deploy/mailstack, next to the
//! stack's own plain delivery measured in the same run: through the IMAP
//! inbox (IDLE on Dovecot) and through the LMTP intake (Postfix delivers
//! lmtp.circle.test straight to a second daemon). Median of 20 each.
//! Targets: issue 5, relay via IMAP ≤ 3× plain; issue 15, via LMTP ≤ 2×
//! plain, and via IMAP within 30 ms of Dovecot's floor (plain delivery in,
//! Dovecot's fixed 500 ms IDLE hold, plain delivery out).
//!
//! Run: `deploy/mailstack/up.sh && cargo bench --bench relay_latency`.

#[path = "../tests/inbox_support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const SAMPLES: usize = 20;
const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");
/// Dovecot holds every IDLE notification this long (a compile-time constant).
const DOVECOT_IDLE_HOLD: Duration = Duration::from_millis(500);

async fn submit(from: &str, to: &str, subject: &str, body: &str) {
    let raw = format!(
        "From: {from}\nTo: {to}\nSubject: {subject}\nMessage-ID: {}\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=UTF-8\n\n{body}\n",
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

/// A circle at `address` reading `inbox` (a TOML `[inbox]` body), with one
/// member, the nurse `member`, in `dir`.
fn setup(dir: &Path, address: &str, inbox: &str, member: &str) -> std::path::PathBuf {
    let config = dir.join("circle-relay.toml");
    std::fs::write(
        &config,
        format!(
            "[circle]\nname = \"Bench Circle\"\naddress = \"{address}\"\nposting = \"anyone\"\n\
             [database]\nurl = \"sqlite://{}\"\n\
             [inbox]\n{inbox}\n\
             [outbound]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
             [matching]\nmax_forwards_per_member_per_week = 10000\n\
             [security]\ntoken_secret = \"a-benchmark-secret\"\nmax_mails_per_address_per_hour = 10000\n\
             [moderation]\nmax_requests_per_sender_per_day = 100000\n",
            dir.join("relay.db").display(),
            support::SMTP.1,
        ),
    )
    .expect("config");
    let csv = dir.join("members.csv");
    std::fs::write(
        &csv,
        format!("email,name,skills,bio,languages,region,status\n{member}@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse.,en,Tokyo,\n"),
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

/// One request to `circle`; how long until `member` has its forward.
async fn relayed(circle: &str, member: &str, i: usize) -> Duration {
    let before = support::inbox_count(member);
    let t0 = Instant::now();
    submit(
        "asker5@circle.test",
        circle,
        &format!("Nurse for a first aid class #{i}"),
        "We need a registered nurse to teach first aid to our staff.",
    )
    .await;
    until_more(member, before, t0).await
}

async fn plain(i: usize) -> Duration {
    let before = support::inbox_count("direct");
    let t0 = Instant::now();
    submit(
        "asker5@circle.test",
        "direct@circle.test",
        &format!("direct {i}"),
        "plain delivery",
    )
    .await;
    until_more("direct", before, t0).await
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

#[tokio::main]
async fn main() {
    support::require_stack();
    support::ensure_intake_routes();
    for u in ["relay5", "nurse6", "latnurse", "asker5", "direct"] {
        support::reset_user(u);
    }
    let (imap_dir, lmtp_dir) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let imap = format!(
        "kind = \"imap\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"relay5\"\npassword = \"test\"",
        support::IMAP.1
    );
    let lmtp = format!(
        "kind = \"lmtp\"\nlisten = \"127.0.0.1:{}\"",
        support::lmtp_intake_port()
    );
    let imap_config = setup(imap_dir.path(), "relay5@circle.test", &imap, "nurse6");
    let lmtp_config = setup(
        lmtp_dir.path(),
        "relay5@lmtp.circle.test",
        &lmtp,
        "latnurse",
    );
    let _imap_daemon = support::DaemonProcess::run(&imap_config);
    let _lmtp_daemon = support::DaemonProcess::run(&lmtp_config);
    tokio::time::sleep(Duration::from_secs(2)).await; // logged in and idling, listening

    let (mut direct, mut via_imap, mut via_lmtp) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        direct.push(plain(i).await);
        via_imap.push(relayed("relay5@circle.test", "nurse6", i).await);
        via_lmtp.push(relayed("relay5@lmtp.circle.test", "latnurse", i).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    report(median(direct), median(via_imap), median(via_lmtp));
}

fn report(d: Duration, imap: Duration, lmtp: Duration) {
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().next().unwrap_or("?");
    println!(
        "plain delivery on the same stack: median {:.1} ms over {SAMPLES} (load {load})",
        ms(d)
    );
    let ratio = imap.as_secs_f64() / d.as_secs_f64();
    let floor = 2 * d + DOVECOT_IDLE_HOLD;
    println!(
        "request submitted -> forward in the member's mailbox through IMAP (Dovecot IDLE): median {:.1} ms; \
         ratio {ratio:.1}x plain (issue 5 target <= 3x: {}); {:+.1} ms from Dovecot's floor of {:.1} ms \
         (plain in + 500 ms IDLE hold + plain out; issue 15 target <= 30 ms: {})",
        ms(imap),
        verdict(ratio <= 3.0),
        ms(imap) - ms(floor),
        ms(floor),
        verdict(imap <= floor + Duration::from_millis(30)),
    );
    let ratio = lmtp.as_secs_f64() / d.as_secs_f64();
    println!(
        "request submitted -> forward in the member's mailbox through the LMTP intake: median {:.1} ms; \
         ratio {ratio:.1}x plain (issue 15 target <= 2x: {})",
        ms(lmtp),
        verdict(ratio <= 2.0),
    );
}
