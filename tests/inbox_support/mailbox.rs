//! What users received, read from their Maildirs, and waits that poll for
//! it (never fixed sleeps).

use std::time::{Duration, Instant};

use circle_relay::store::Store;

use super::*;

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
/// messages to `Processed` (and left none in INBOX), and then until what it
/// sent in answer has been delivered: nothing is left to send in its outbox
/// (the database `config` names) and nothing from it waits in Postfix's queue.
pub async fn until_processed(config: &std::path::Path, relay_user: &str, n: usize) {
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
    until_delivered(config, &format!("{relay_user}@{DOMAIN}")).await;
}

/// Waits until what the relay `config` describes has queued is delivered:
/// nothing is left to send in its outbox and nothing from `sender` (the
/// circle's address) waits in Postfix's queue.
pub async fn until_delivered(config: &std::path::Path, sender: &str) {
    let store = store_of(config).await;
    wait_until(MAIL_TIMEOUT, "the relay's outbox is sent", || {
        outbox_unsent(&store)
    })
    .await;
    store.close().await;
    wait_until(
        MAIL_TIMEOUT,
        "Postfix delivered the relay's mail",
        || async { !postfix_queue_holds_from(sender) },
    )
    .await;
}

/// The database of the circle `config` describes, as the daemon migrated it.
async fn store_of(config: &std::path::Path) -> Store {
    let db = circle_relay::config::Config::load(Some(config))
        .and_then(|c| c.database())
        .expect("the test's config names a database");
    Store::connect_without_migrating(&db)
        .await
        .expect("the relay's database opens")
}

/// True when the outbox holds no mail waiting to be sent or being sent.
async fn outbox_unsent(store: &Store) -> bool {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")
            .fetch_one(store.pool())
            .await
            .expect("count the outbox");
    n == 0
}

/// The mails in `user`'s INBOX (not in other folders).
pub fn inbox_mails(user: &str) -> Vec<Mail> {
    mailbox(user)
        .into_iter()
        .filter(|m| m.folder.is_empty())
        .collect()
}
