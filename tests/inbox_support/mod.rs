//! Helpers for the inbox tests and benchmark: they talk to the real mail stack
//! of `deploy/mailstack/up.sh` (SMTP 10025, IMAP 10143), never to a fake.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_imap::Session;
use circle_relay::config::{DatabaseConfig, DatabaseUrl, InboxConfig, InboxKind, Tls};
use circle_relay::inbox::{HandleError, Handled, InboundMail, MessageHandler};
use circle_relay::store::Store;
use futures_util::TryStreamExt;
use sqlx::{Any, Transaction};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Notify;

pub const SMTP: (&str, u16) = ("127.0.0.1", 10025);
pub const IMAP: (&str, u16) = ("127.0.0.1", 10143);
pub const DOMAIN: &str = "circle.test";

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
    for (what, addr) in [("SMTP", SMTP), ("IMAP", IMAP)] {
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
    let stream = TcpStream::connect(SMTP).await.expect("SMTP connect");
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

pub type TestSession = Session<TcpStream>;

pub async fn imap_login(user: &str) -> TestSession {
    let tcp = TcpStream::connect(IMAP).await.expect("IMAP connect");
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await
        .expect("greeting")
        .expect("greeting");
    client
        .login(format!("{user}@{DOMAIN}"), "test")
        .await
        .map_err(|e| e.0)
        .expect("login")
}

/// Message-IDs of every message in `folder` (deleted-flagged ones included);
/// empty when the folder does not exist.
pub async fn folder_message_ids(user: &str, folder: &str) -> Vec<String> {
    let mut s = imap_login(user).await;
    if s.examine(folder).await.is_err() {
        let _ = s.logout().await;
        return Vec::new();
    }
    let uids = s.uid_search("ALL").await.expect("search");
    let mut ids = Vec::new();
    if !uids.is_empty() {
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let fetches: Vec<_> = s
            .uid_fetch(set, "(UID BODY.PEEK[HEADER])")
            .await
            .expect("fetch")
            .try_collect()
            .await
            .expect("fetch");
        for f in &fetches {
            let header = f.header().unwrap_or_default();
            let m = mail_parser::MessageParser::new().parse_headers(header);
            ids.push(
                m.and_then(|m| m.message_id().map(|x| format!("<{x}>")))
                    .unwrap_or_default(),
            );
        }
    }
    ids.sort();
    let _ = s.logout().await;
    ids
}

/// Polls `cond` until true or `timeout` passes (then panics with `what`).
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if cond().await {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn imap_config(user: &str) -> InboxConfig {
    InboxConfig {
        kind: InboxKind::Imap,
        host: "localhost".into(),
        port: IMAP.1,
        tls: Tls::Starttls,
        username: format!("{user}@{DOMAIN}"),
        password: circle_relay::config::Secret::new("test"),
        poll_seconds: 1,
        ..InboxConfig::default()
    }
}

pub fn ca_file() -> PathBuf {
    stack_dir().join("ssl/ca.pem")
}

pub async fn temp_store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}", dir.path().join("relay.db").display());
    let config = DatabaseConfig {
        url: DatabaseUrl::new(url),
        ..DatabaseConfig::default()
    };
    Store::connect(&config).await.expect("store")
}

/// A handler that records what it saw and writes one effect row (in the
/// `leases` table) inside the runner's transaction. Subjects containing
/// "FAIL" are refused permanently.
/// Message-ID (in brackets) and when the handler saw it.
pub type Seen = (Option<String>, Instant);

#[derive(Clone, Default)]
pub struct Recorder {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub notify: Arc<Notify>,
}

impl Recorder {
    pub fn message_ids(&self) -> Vec<String> {
        let seen = self.seen.lock().expect("recorder lock");
        let mut ids: Vec<String> = seen.iter().filter_map(|(m, _)| m.clone()).collect();
        ids.sort();
        ids
    }

    pub fn count(&self) -> usize {
        self.seen.lock().expect("recorder lock").len()
    }
}

impl MessageHandler for Recorder {
    async fn handle(
        &self,
        tx: &mut Transaction<'static, Any>,
        mail: &InboundMail<'_>,
    ) -> Result<Handled, HandleError> {
        let text = String::from_utf8_lossy(mail.raw);
        if text.contains("Subject: FAIL") {
            return Err(HandleError::Permanent(
                "test handler refuses FAIL subjects".into(),
            ));
        }
        sqlx::query("INSERT INTO leases (name, holder, expires_at) VALUES ($1, 'test', 0)")
            .bind(format!("effect:{}", mail.inbound_id))
            .execute(&mut **tx)
            .await?;
        let id = mail.message_id.map(|m| format!("<{m}>"));
        self.seen
            .lock()
            .expect("recorder lock")
            .push((id, Instant::now()));
        self.notify.notify_waiters();
        Ok(Handled::processed("request"))
    }
}

pub async fn effect_rows(store: &Store) -> i64 {
    use sqlx::Row;
    let row = sqlx::query("SELECT COUNT(*) AS n FROM leases WHERE name LIKE 'effect:%'")
        .fetch_one(store.pool())
        .await
        .expect("count");
    row.try_get("n").expect("n")
}

/// A reader running in the background until [`Reader::stop`].
pub struct Reader {
    trigger: circle_relay::shutdown::ShutdownTrigger,
    handle: tokio::task::JoinHandle<()>,
}

impl Reader {
    pub fn spawn(
        inbox: circle_relay::inbox::Inbox,
        store: Store,
        handler: Recorder,
        hook: Option<circle_relay::inbox::AfterCommitHook>,
    ) -> Self {
        // Logs stay silent unless asked for with RUST_LOG.
        if std::env::var_os("RUST_LOG").is_some() {
            circle_relay::telemetry::init(circle_relay::config::LogFormat::Text, "info");
        }
        let (trigger, shutdown) = circle_relay::shutdown::ShutdownTrigger::new();
        let handle = tokio::spawn(async move {
            let mut inbox = inbox;
            let options = circle_relay::inbox::RunOptions {
                batch_size: 50,
                after_commit: hook,
            };
            circle_relay::inbox::run_inbox(&mut inbox, &store, &handler, &options, shutdown).await;
        });
        Self { trigger, handle }
    }

    /// Asks the reader to stop and waits for it; Err when it panicked.
    pub async fn stop(self) -> Result<(), tokio::task::JoinError> {
        self.trigger.trigger();
        self.handle.await
    }

    /// Waits for the reader task to end by itself (e.g. a crash hook).
    pub async fn join(self) -> Result<(), tokio::task::JoinError> {
        self.handle.await
    }
}

/// An IMAP inbox on the stack for `user` over STARTTLS, retrying fast.
pub fn imap_inbox(user: &str, max_message_bytes: u64) -> circle_relay::inbox::Inbox {
    let mut config = imap_config(user);
    config.max_message_bytes = max_message_bytes;
    let timeouts = circle_relay::inbox::ImapTimeouts {
        command: Duration::from_secs(10),
        backoff_min: Duration::from_millis(200),
        backoff_max: Duration::from_secs(2),
        ..circle_relay::inbox::ImapTimeouts::default()
    };
    let inbox = circle_relay::inbox::ImapInbox::with_timeouts(config, timeouts)
        .expect("inbox config")
        .with_extra_ca(ca_file());
    circle_relay::inbox::Inbox::Imap(Box::new(inbox))
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

/// The `circle-relay` binary run as a real process (`run`); killed when dropped.
pub struct DaemonProcess(std::process::Child);

impl DaemonProcess {
    pub fn run(config: &std::path::Path) -> Self {
        Self::run_with_env(config, &[])
    }

    /// `run` with extra environment (e.g. `CIRCLE_RELAY_CLOCK_OFFSET_FILE`).
    pub fn run_with_env(config: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_circle-relay"))
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .spawn()
            .expect("start circle-relay run");
        Self(child)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// SIGKILL: no chance to finish anything or release a lease.
    pub fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Sends `signal` (e.g. "STOP", "CONT") with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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

/// How many messages `user`'s INBOX holds (Maildir new/ and cur/).
pub fn inbox_count(user: &str) -> usize {
    let root = maildir_of(user);
    ["new", "cur"]
        .iter()
        .map(|d| {
            std::fs::read_dir(root.join(d))
                .map(|r| r.count())
                .unwrap_or(0)
        })
        .sum()
}

/// One message found in a user's Maildir, parsed.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Without angle brackets.
    pub message_id: String,
    /// The From address.
    pub from: String,
    /// In-Reply-To, without angle brackets ("" when absent).
    pub in_reply_to: String,
    pub subject: String,
    /// Subject, a newline, then the decoded text body.
    pub text: String,
    pub raw: Vec<u8>,
    /// `""` for INBOX, else the folder's name (e.g. `Processed`).
    pub folder: String,
}

impl Mail {
    fn parse(raw: Vec<u8>, folder: &str) -> Option<Self> {
        let m = mail_parser::MessageParser::default().parse(&raw)?;
        let from = m
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or("")
            .to_string();
        let subject = m.subject().unwrap_or("").to_string();
        let text = format!("{subject}\n{}", m.body_text(0).unwrap_or_default());
        Some(Self {
            message_id: m.message_id().unwrap_or("").to_string(),
            in_reply_to: m.in_reply_to().as_text().unwrap_or("").to_string(),
            from,
            subject,
            text,
            folder: folder.to_string(),
            raw,
        })
    }

    /// A header's raw value, trimmed and unfolded; `None` when absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let m = mail_parser::MessageParser::default().parse(&self.raw)?;
        let v = m.header_raw(name)?;
        Some(v.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// The Reply-To address ("" when there is none).
    pub fn reply_to(&self) -> String {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .and_then(|m| {
                m.reply_to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .map(str::to_string)
            })
            .unwrap_or_default()
    }

    /// True when the raw message (headers and all parts) contains `s`.
    pub fn raw_contains(&self, s: &str) -> bool {
        self.raw.windows(s.len()).any(|w| w == s.as_bytes())
    }
}

/// Every message in `user`'s mailbox (INBOX and every folder), parsed.
pub fn mailbox(user: &str) -> Vec<Mail> {
    let root = maildir_of(user);
    let mut dirs = vec![(String::new(), root.clone())];
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(folder) = name.strip_prefix('.')
                && e.path().is_dir()
            {
                dirs.push((folder.to_string(), e.path()));
            }
        }
    }
    let mut files = Vec::new();
    for (folder, dir) in dirs {
        for sub in ["new", "cur"] {
            for f in std::fs::read_dir(dir.join(sub))
                .into_iter()
                .flatten()
                .flatten()
            {
                files.push((f.file_name(), folder.clone(), f.path()));
            }
        }
    }
    // Dovecot names files `SECONDS.M…`: roughly the delivery order.
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, folder, path)| Mail::parse(std::fs::read(path).ok()?, &folder))
        .collect()
}

/// How long an e2e test waits for a mail to arrive.
pub const MAIL_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits (up to [`MAIL_TIMEOUT`]) until `user`'s mailbox (all folders)
/// holds at least `n` messages, and returns them all.
pub async fn until_mail(user: &str, n: usize) -> Vec<Mail> {
    until_count(user, n, MAIL_TIMEOUT, mailbox, "mailbox").await
}

/// Waits (up to `within`) until `user`'s INBOX holds at least `n` mails.
pub async fn until_inbox(user: &str, n: usize, within: Duration) -> Vec<Mail> {
    until_count(user, n, within, inbox_mails, "INBOX").await
}

async fn until_count(
    user: &str,
    n: usize,
    within: Duration,
    read: fn(&str) -> Vec<Mail>,
    what: &str,
) -> Vec<Mail> {
    let start = Instant::now();
    loop {
        let mails = read(user);
        if mails.len() >= n {
            return mails;
        }
        if start.elapsed() > within {
            let subjects: Vec<_> = mails.iter().map(|m| m.subject.clone()).collect();
            panic!("{user}'s {what} never held {n} mails in {within:?}: has {subjects:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (up to [`MAIL_TIMEOUT`]) until `user`'s mailbox holds a message
/// for which `pred` holds (`what` names it in the panic), and returns it.
pub async fn until_mail_where(user: &str, what: &str, pred: impl Fn(&Mail) -> bool) -> Mail {
    let start = Instant::now();
    loop {
        let all = mailbox(user);
        if let Some(m) = all.iter().find(|m| pred(m)) {
            return m.clone();
        }
        if start.elapsed() > MAIL_TIMEOUT {
            let subjects: Vec<_> = all.iter().map(|m| m.subject.clone()).collect();
            panic!("{user} never received {what}: has {subjects:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the daemon reading `relay_user`'s INBOX has moved `n`
/// messages to `Processed` (and left none in INBOX), then a little longer
/// so that whatever it sent in answer has been delivered.
pub async fn until_processed(relay_user: &str, n: usize) {
    let start = Instant::now();
    loop {
        let all = mailbox(relay_user);
        let done = all.iter().filter(|m| m.folder == "Processed").count();
        let waiting = all.iter().filter(|m| m.folder.is_empty()).count();
        if done >= n && waiting == 0 {
            break;
        }
        assert!(
            start.elapsed() < MAIL_TIMEOUT,
            "{relay_user}: {done} of {n} messages processed, {waiting} still in INBOX"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The outbox is drained right after each message; Postfix delivers at once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

/// A circle on the mail stack as [`circle_config`] makes it, on SQLite in
/// `dir` with a test token secret and `admins` (user names), and `members`
/// (CSV) imported.
pub fn setup_circle(
    dir: &std::path::Path,
    relay_user: &str,
    admins: &[&str],
    members: &str,
    extra: &str,
) -> PathBuf {
    let config = circle_config(
        dir,
        relay_user,
        &format!("sqlite://{}", dir.join("relay.db").display()),
        admins,
        &format!("[security]\ntoken_secret = \"an-end-to-end-secret\"\n{extra}"),
    );
    import_members(&config, members);
    config
}

/// [`circle_config`] with `relayadmin` as the admin.
pub fn write_config(dir: &std::path::Path, relay_user: &str, db_url: &str, extra: &str) -> PathBuf {
    circle_config(dir, relay_user, db_url, &["relayadmin"], extra)
}

/// Writes a config for a circle at `relay_user@circle.test` that reads its
/// IMAP inbox and sends over SMTP on the mail stack, on the database at
/// `db_url`, `admins` (user names), anyone may post; `extra` is appended
/// (more sections: `[security]` is required).
pub fn circle_config(
    dir: &std::path::Path,
    relay_user: &str,
    db_url: &str,
    admins: &[&str],
    extra: &str,
) -> PathBuf {
    let config = dir.join("circle-relay.toml");
    let admins: Vec<String> = admins.iter().map(|a| format!("\"{a}@{DOMAIN}\"")).collect();
    std::fs::write(
        &config,
        format!(
            "[circle]\nname = \"Care Circle\"\naddress = \"{relay_user}@{DOMAIN}\"\nadmins = [{admins}]\nposting = \"anyone\"\n\
             [database]\nurl = \"{db_url}\"\n\
             [inbox]\nkind = \"imap\"\nhost = \"{host}\"\nport = {imap}\ntls = \"none\"\nusername = \"{relay_user}\"\npassword = \"test\"\n\
             [outbound]\nkind = \"smtp\"\nhost = \"{host}\"\nport = {smtp}\ntls = \"none\"\n\
             {extra}\n",
            admins = admins.join(", "),
            host = IMAP.0,
            imap = IMAP.1,
            smtp = SMTP.1,
        ),
    )
    .expect("write config");
    config
}

/// `circle-relay members import` of `csv` with `config`; panics on failure.
pub fn import_members(config: &std::path::Path, csv: &str) {
    let file = config.with_file_name("members.csv");
    std::fs::write(&file, csv).expect("write members.csv");
    cli(config, &["members", "import", &file.display().to_string()]);
}

/// The mails in `user`'s INBOX (not in other folders).
pub fn inbox_mails(user: &str) -> Vec<Mail> {
    mailbox(user)
        .into_iter()
        .filter(|m| m.folder.is_empty())
        .collect()
}

/// Runs `circle-relay --config CONFIG ARGS…`, which must succeed; its stdout.
pub fn cli(config: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_circle-relay"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("circle-relay runs");
    assert!(
        out.status.success(),
        "circle-relay {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `email`'s status as `members list` shows it (`None`: not in the directory).
pub fn member_status(config: &std::path::Path, email: &str) -> Option<String> {
    cli(config, &["members", "list"]).lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.get(2) == Some(&email)).then(|| cols[1].to_string())
    })
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
