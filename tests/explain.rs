//! `circle-relay explain` as a person runs it: the real binary, a message
//! file or stdin, the SPEC's JSON on stdout. It answers every corpus file,
//! truncated and bit-flipped copies and a 50 MB message, each in a few
//! seconds, and `--inbound ID` explains a stored message.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use circle_relay::config::DatabaseConfig;
use circle_relay::store::Store;
use circle_relay::store::ledger::{LedgerHeaders, LedgerKey, NewLedgerRow, record};

/// Generous: a loaded CI machine, a debug build. The real figure is printed.
const A_FEW_SECONDS: Duration = Duration::from_secs(20);

const KINDS: &[&str] = &[
    "request",
    "reply",
    "command",
    "automatic",
    "bounce",
    "delay",
    "loop",
    "spam",
    "unreadable",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs the binary in `dir` (no config file there unless the test wrote one).
fn explain(dir: &Path, args: &[&str], stdin: &[u8]) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_circle-relay"))
        .current_dir(dir)
        .arg("explain")
        .args(args)
        .env_remove("CIRCLE_RELAY_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut input = child.stdin.take().expect("stdin");
    // A child that stops reading early (it never does) must not fail the write.
    let _ = input.write_all(stdin);
    drop(input);
    let out = child.wait_with_output().expect("the binary ends");
    (out, start.elapsed())
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "explain failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Exactly the SPEC's fields, with the SPEC's values.
fn assert_spec_shape(v: &serde_json::Value) {
    let obj = v.as_object().expect("an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "bounce", "command", "from", "intent", "kind", "new_text", "reason", "subject", "text"
        ]
    );
    let kind = v["kind"].as_str().expect("kind is a string");
    assert!(KINDS.contains(&kind), "kind {kind}");
    for k in ["reason", "subject", "from", "text", "new_text"] {
        assert!(v[k].is_string(), "{k} is a string: {v}");
    }
    assert!(
        !v["reason"].as_str().unwrap_or("").is_empty(),
        "a reason is given"
    );
    assert!(
        v["intent"].is_null()
            || ["accept", "decline", "close", "question"]
                .contains(&v["intent"].as_str().unwrap_or(""))
    );
    let is_bounce = kind == "bounce" || kind == "delay";
    assert_eq!(
        v["bounce"].is_null(),
        !is_bounce,
        "bounce only for bounces: {v}"
    );
    if is_bounce {
        for r in v["bounce"]["recipients"].as_array().expect("recipients") {
            assert!(r["address"].is_string() && r["status"].is_string());
            assert!(
                ["hard", "soft", "policy", "unknown"]
                    .contains(&r["severity"].as_str().unwrap_or(""))
            );
        }
    }
}

#[test]
fn a_reply_is_explained_with_new_text_and_intent() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("circle-relay.toml"),
        "[circle]\naddress = \"circle@circle.example\"\n",
    )
    .expect("config");
    let file = fixtures().join("replies/ja-gmail-iphone.eml");
    let (out, _) = explain(
        dir.path(),
        &["--json", file.to_str().expect("utf-8 path")],
        b"",
    );
    let v = json(&out);
    assert_spec_shape(&v);
    assert_eq!(v["kind"], "reply");
    assert_eq!(v["from"], "hanako@example.jp");
    assert_eq!(v["subject"], "Re: フランス語の通訳");
    assert_eq!(
        v["new_text"],
        "お受けできます。\n12月10日の午後が空いています。"
    );
    assert_eq!(v["intent"], "accept");
    assert!(v["command"].is_null() && v["bounce"].is_null());
    // Nothing was created beside the config: no database, no mail folders.
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(left.len(), 1, "explain left files behind: {left:?}");
}

#[test]
fn a_bounce_lists_each_recipient_with_status_and_severity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = fixtures().join("bounces/sisimai/email-exim-02.eml");
    let raw = std::fs::read(&file).expect("fixture");
    let (out, _) = explain(dir.path(), &["--json", "-"], &raw);
    let v = json(&out);
    assert_spec_shape(&v);
    assert_eq!(v["kind"], "bounce");
    assert_eq!(
        v["bounce"]["recipients"],
        serde_json::json!([
            {"address": "kijitora@example.jp", "status": "5.1.1", "severity": "hard"},
            {"address": "sabatora@example.jp", "status": "5.2.1", "severity": "hard"}
        ])
    );
    let (text, _) = explain(dir.path(), &[file.to_str().expect("utf-8 path")], b"");
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("kind:     bounce\n"), "{text}");
    assert!(
        text.contains("  kijitora@example.jp  status 5.1.1  hard\n"),
        "{text}"
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, _) = explain(dir.path(), &["no-such.eml"], b"");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read no-such.eml"), "{err}");
    assert!(out.stdout.is_empty());
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["corpus", "bounces/sisimai", "replies"] {
        let mut stack = vec![fixtures().join(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("fixture dir") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "eml") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    files
}

/// xorshift64*: repeatable bit flips without another crate.
fn flips(raw: &[u8], seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut m = raw.to_vec();
    for _ in 0..16 {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        if !m.is_empty() {
            let i = (r as usize) % m.len();
            m[i] ^= 1 << (r >> 61);
        }
    }
    m
}

#[test]
fn every_corpus_file_truncated_and_bit_flipped_is_answered_quickly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = corpus_files();
    assert!(files.len() >= 120, "fixtures missing: {}", files.len());
    let (mut runs, mut worst, mut worst_name) = (0, Duration::ZERO, String::new());
    for (n, path) in files.iter().enumerate() {
        let raw = std::fs::read(path).expect("fixture");
        let variants = [
            raw.clone(),
            raw[..raw.len() / 2].to_vec(),
            raw[..raw.len() / 5].to_vec(),
            flips(&raw, n as u64 + 1),
        ];
        for (i, v) in variants.iter().enumerate() {
            let (out, took) = explain(dir.path(), &["--json", "-"], v);
            assert_spec_shape(&json(&out));
            assert!(
                took < A_FEW_SECONDS,
                "{} variant {i}: {took:?}",
                path.display()
            );
            runs += 1;
            if took > worst {
                worst = took;
                worst_name = format!("{} variant {i}", path.display());
            }
        }
    }
    println!("explain: {runs} runs, worst {worst:?} ({worst_name})");
}

/// A 50 MB message: refused by size under the default limit, and read in
/// full under a config that allows it.
#[test]
fn a_fifty_megabyte_message_is_answered_quickly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut raw =
        b"From: big@example.org\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    let line = b"0123456789 abcdefghij klmnopqrst uvwxyz > quoted ABCDEFGHIJ KLMNOPQRST UV\r\n";
    while raw.len() < 50 * 1024 * 1024 {
        raw.extend_from_slice(line);
    }
    let (out, took) = explain(dir.path(), &["--json", "-"], &raw);
    let v = json(&out);
    assert_spec_shape(&v);
    assert_eq!(v["kind"], "unreadable");
    assert!(
        v["reason"]
            .as_str()
            .unwrap_or("")
            .contains("exceeds the limit"),
        "{v}"
    );
    assert!(took < A_FEW_SECONDS, "refused in {took:?}");
    std::fs::write(
        dir.path().join("circle-relay.toml"),
        "[inbox]\nkind = \"maildir\"\nmax_message_bytes = 104857600\n",
    )
    .expect("config");
    let (out, took_full) = explain(dir.path(), &["--json", "-"], &raw);
    let v = json(&out);
    assert_spec_shape(&v);
    assert_eq!(v["kind"], "request");
    assert!(took_full < A_FEW_SECONDS, "read in {took_full:?}");
    println!("explain 50 MB: refused in {took:?}, read in full in {took_full:?}");
}

#[tokio::test]
async fn a_stored_message_is_explained_by_its_ledger_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("circle-relay.db").display());
    std::fs::write(
        dir.path().join("circle-relay.toml"),
        format!("[circle]\naddress = \"circle@circle.example\"\n[database]\nurl = \"{url}\"\n"),
    )
    .expect("config");
    let store = Store::connect(&DatabaseConfig {
        url: circle_relay::config::DatabaseUrl::new(url),
        ..Default::default()
    })
    .await
    .expect("database");
    let raw = std::fs::read(fixtures().join("replies/en-gmail-android.eml")).expect("fixture");
    let mut conn = store.pool().acquire().await.expect("connection");
    let row = NewLedgerRow {
        key: LedgerKey {
            mailbox: "INBOX",
            uidvalidity: 1,
            uid: "7",
        },
        headers: LedgerHeaders::default(),
        kind: "reply",
        outcome: "processed",
        error: None,
        size_bytes: raw.len() as u64,
        raw: Some(&raw),
    };
    assert!(
        record(&mut conn, &row, store.now())
            .await
            .expect("recorded")
    );
    drop(conn);
    let id: i64 = sqlx::query_scalar("SELECT id FROM inbound_messages")
        .fetch_one(store.pool())
        .await
        .expect("id");
    store.close().await;
    let id = id.to_string();
    let (out, _) = explain(dir.path(), &["--json", "--inbound", &id], b"");
    let v = json(&out);
    assert_spec_shape(&v);
    assert_eq!(v["kind"], "reply");
    assert_eq!(v["new_text"], "Sorry, I can't this month.");
    assert_eq!(v["intent"], "decline");
    let (out, _) = explain(dir.path(), &["--inbound", "999"], b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no inbound message 999"));
}
