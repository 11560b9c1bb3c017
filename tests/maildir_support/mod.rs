//! Helpers for tests of the daemon on the embedded deployment (SQLite,
//! Maildir in and out), shared by the test binaries that need them.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use circle_relay::config::Config;

pub const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    aiko@example.org,佐藤 愛子,看護師;救命講習,看護師です。企業向けの救命講習をしています。,ja,東京,\n\
    dan@example.org,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";

pub fn config(dir: &Path) -> Config {
    let text = format!(
        "[circle]\nname = \"Care Circle\"\naddress = \"circle@circle.test\"\nadmins = [\"admin@circle.test\"]\nposting = \"anyone\"\n\
         [database]\nurl = \"sqlite://{db}\"\n\
         [inbox]\nkind = \"maildir\"\npath = \"{inbox}\"\npoll_seconds = 1\n\
         [outbound]\nkind = \"maildir\"\npath = \"{out}\"\n\
         [security]\ntoken_secret = \"a-test-secret-long-enough\"\n",
        db = dir.join("relay.db").display(),
        inbox = dir.join("inbox").display(),
        out = dir.join("sent").display(),
    );
    let path = dir.join("circle-relay.toml");
    std::fs::write(&path, text).unwrap();
    Config::load_from(Some(&path), std::iter::empty()).unwrap()
}

pub fn drop_in(inbox: &Path, name: &str, raw: &str) {
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    std::fs::write(inbox.join("tmp").join(name), raw.replace('\n', "\r\n")).unwrap();
    std::fs::rename(inbox.join("tmp").join(name), inbox.join("new").join(name)).unwrap();
}

pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Waits (bounded) until `dir` holds `n` files.
pub async fn until_files(dir: &Path, n: usize) -> Vec<PathBuf> {
    for _ in 0..200 {
        let f = files(dir);
        if f.len() >= n {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never held {n} files: {:?}", dir.display(), files(dir));
}

/// Waits (bounded) until the daemon has moved `n` messages from `inbox` to
/// `.Processed` and sent all it queued: a message's mails are queued in the
/// transaction that handles it, so no more are coming for those messages.
pub async fn until_settled(inbox: &Path, store: &circle_relay::store::Store, n: usize) {
    let processed = inbox.join(".Processed/cur");
    for _ in 0..200 {
        let unsent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")
                .fetch_one(store.pool())
                .await
                .expect("count the outbox");
        if files(&processed).len() >= n && unsent == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{} messages of {n} processed, or mail left unsent",
        files(&processed).len()
    );
}

pub fn parsed(path: &Path) -> (String, String, String) {
    let raw = std::fs::read(path).unwrap();
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let to = m
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_string();
    let id = m.message_id().unwrap_or("").to_string();
    (
        to,
        id,
        format!(
            "{}\n{}",
            m.subject().unwrap_or(""),
            m.body_text(0).unwrap_or_default()
        ),
    )
}
