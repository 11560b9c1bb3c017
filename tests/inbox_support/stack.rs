//! The mail stack itself (deploy/mailstack): its folders and scripts, users'
//! Maildirs reset and changed through doveadm, Dovecot's log, Postfix's routes.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// The stack's SMTP and IMAP: 10025 and 10143 unless MAILSTACK_SMTP_PORT /
/// MAILSTACK_IMAP_PORT name a second stack's (deploy/mailstack/common.sh).
pub static SMTP: LazyLock<(&str, u16)> =
    LazyLock::new(|| ("127.0.0.1", port_from_env("MAILSTACK_SMTP_PORT", 10025)));
pub static IMAP: LazyLock<(&str, u16)> =
    LazyLock::new(|| ("127.0.0.1", port_from_env("MAILSTACK_IMAP_PORT", 10143)));
pub const DOMAIN: &str = "circle.test";

/// A port from `var`, else `default` (a bad value is a test setup error).
pub fn port_from_env(var: &str, default: u16) -> u16 {
    std::env::var(var).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{var}={v:?} is not a port number"))
    })
}

/// Where Postfix delivers lmtp.circle.test: a daemon's LMTP intake listens there.
pub fn lmtp_intake_port() -> u16 {
    port_from_env("MAILSTACK_LMTP_INTAKE_PORT", 11049)
}

pub fn stack_dir() -> PathBuf {
    std::env::var_os("MAILSTACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/circle-relay-mailstack"))
}

pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/mailstack")
        .join(name)
}

/// Fails (never skips) when the stack is not running.
pub fn require_stack() {
    for (what, addr) in [("SMTP", *SMTP), ("IMAP", *IMAP)] {
        if std::net::TcpStream::connect_timeout(
            &format!("{}:{}", addr.0, addr.1)
                .parse()
                .expect("literal address"),
            Duration::from_secs(2),
        )
        .is_err()
        {
            panic!(
                "the mail stack's {what} port {}:{} is closed: run deploy/mailstack/up.sh first",
                addr.0, addr.1
            );
        }
    }
}

fn doveadm(args: &[&str]) -> std::process::Output {
    let conf = stack_dir().join("dovecot/dovecot.conf");
    Command::new("doveadm")
        .arg("-c")
        .arg(conf)
        .args(args)
        .output()
        .expect("doveadm runs")
}

/// Empties every folder of `user` and removes Processed/Failed (test reset).
pub fn reset_user(user: &str) {
    let u = format!("{user}@{DOMAIN}");
    let out = doveadm(&["mailbox", "status", "-u", &u, "messages", "INBOX"]);
    assert!(
        out.status.success(),
        "doveadm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    doveadm(&["expunge", "-u", &u, "mailbox", "*", "all"]);
    doveadm(&["mailbox", "delete", "-u", &u, "Processed", "Failed"]);
}

/// Gives `user`'s INBOX a new UIDVALIDITY.
pub fn change_uidvalidity(user: &str, value: u32) {
    let u = format!("{user}@{DOMAIN}");
    let v = value.to_string();
    let out = doveadm(&["mailbox", "update", "-u", &u, "--uid-validity", &v, "INBOX"]);
    assert!(
        out.status.success(),
        "doveadm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn restart_imap() {
    let out = Command::new(script("restart-imap.sh"))
        .output()
        .expect("restart-imap.sh runs");
    assert!(
        out.status.success(),
        "restart-imap.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn maildir_of(user: &str) -> PathBuf {
    stack_dir()
        .join("mail")
        .join(DOMAIN)
        .join(user)
        .join("Maildir")
}

fn dovecot_log() -> PathBuf {
    stack_dir().join("log/dovecot.log")
}

pub fn dovecot_log_len() -> u64 {
    std::fs::metadata(dovecot_log())
        .map(|m| m.len())
        .unwrap_or(0)
}

/// What Dovecot logged after `offset`.
pub fn dovecot_log_since(offset: u64) -> String {
    let all = std::fs::read(dovecot_log()).expect("dovecot log");
    let start = usize::try_from(offset).unwrap_or(0).min(all.len());
    String::from_utf8_lossy(&all[start..]).into_owned()
}

/// The LMTP-routed test domains (lmtp.circle.test, cyrus.circle.test) and the
/// intake tests' users (deploy/mailstack/users/intake.txt) are part of the
/// stack this tree's `deploy/mailstack/up.sh` renders; when the running stack
/// lacks them (started from an older tree), up.sh (idempotent) adds them.
pub fn ensure_intake_routes() {
    // One at a time: two up.sh runs at once would write the same files.
    static ONCE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONCE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    require_stack();
    let transport =
        std::fs::read_to_string(stack_dir().join("postfix/transport")).unwrap_or_default();
    let users = std::fs::read_to_string(stack_dir().join("dovecot/users")).unwrap_or_default();
    let ready = transport.contains("lmtp.circle.test")
        && users.contains("lmasker1@")
        && users.contains("cyasker2@");
    const PROBES: [&str; 4] = [
        "probe@lmtp.circle.test",
        "probe@cyrus.circle.test",
        "lmasker1@circle.test",
        "cyasker2@circle.test",
    ];
    let routed = || PROBES.iter().all(|a| postfix_routes(a));
    if !ready || !routed() {
        let out = Command::new(script("up.sh"))
            .output()
            .expect("deploy/mailstack/up.sh runs");
        assert!(
            out.status.success(),
            "deploy/mailstack/up.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A reload reaches Postfix's idle smtpd processes one by one, as each
    // serves its next client: probe until several in a row take them all.
    let (start, mut in_a_row) = (Instant::now(), 0);
    while in_a_row < 5 {
        in_a_row = if routed() { in_a_row + 1 } else { 0 };
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Postfix still refuses the LMTP-routed test domains after deploy/mailstack/up.sh"
        );
        if in_a_row == 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Whether Postfix's queue holds mail from `sender` (envelope sender):
/// mail accepted but not yet delivered.
pub fn postfix_queue_holds_from(sender: &str) -> bool {
    let out = Command::new("postqueue")
        .arg("-c")
        .arg(stack_dir().join("postfix"))
        .arg("-j")
        .output()
        .expect("postqueue runs");
    let compact = format!("\"sender\":\"{sender}\"");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.replace(' ', "").contains(&compact))
}

/// Whether Postfix takes `address` as a recipient (RCPT only; nothing is sent).
fn postfix_routes(address: &str) -> bool {
    use std::io::{BufRead, Write};
    let Ok(stream) = std::net::TcpStream::connect(*SMTP) else {
        return false;
    };
    let mut r = std::io::BufReader::new(stream);
    let reply = |r: &mut std::io::BufReader<std::net::TcpStream>| {
        let mut last = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return last;
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return line;
            }
            last = line;
        }
    };
    reply(&mut r);
    let mut ok = true;
    for (cmd, code) in [
        ("EHLO probe\r\n".to_string(), "250"),
        ("MAIL FROM:<>\r\n".to_string(), "250"),
        (format!("RCPT TO:<{address}>\r\n"), "250"),
    ] {
        let _ = r.get_mut().write_all(cmd.as_bytes());
        ok = ok && reply(&mut r).starts_with(code);
    }
    let _ = r.get_mut().write_all(b"QUIT\r\n");
    ok
}
