//! Runs every row of tests/fixtures/corpus/EXPECTED.tsv through parse +
//! classify + new_text, in LF and CRLF forms, and checks kind, decoded text
//! and reply text.

use std::path::{Path, PathBuf};

use circle_relay::understand::{Classification, Limits, RelayIdentity, Severity, new_text, parse};

struct Row {
    file: String,
    kind: String,
    decoded: String,
    reply: String,
    note: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

fn rows() -> Vec<Row> {
    let path = corpus_dir().join("EXPECTED.tsv");
    let tsv = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("corpus missing: cannot read {}: {e}", path.display()));
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t').map(str::to_string);
            let mut next = || f.next().unwrap_or_default();
            Row {
                file: next(),
                kind: next(),
                decoded: next(),
                reply: next().replace("\\n", "\n"),
                note: next(),
            }
        })
        .collect()
}

fn kind_matches(expected: &str, c: &Classification, note: &str) -> bool {
    let human = matches!(
        c,
        Classification::Request | Classification::Reply(_) | Classification::Command(_)
    );
    match expected {
        "human" => human,
        "human-or-unreadable" => human || *c == Classification::Unreadable,
        "auto-reply" => matches!(c, Classification::AutoReply(_)),
        "delay" => matches!(c, Classification::Delay(_)),
        "automatic" => c.is_automatic(),
        "bounce" => match c {
            // The note says when the failure must not count as a bad address.
            Classification::Bounce(r) => {
                let soft = note.starts_with("soft") || note.starts_with("transient");
                !soft || r.severity == Severity::Soft
            }
            _ => false,
        },
        other => panic!("unknown kind {other:?} in EXPECTED.tsv"),
    }
}

fn check(row: &Row, raw: &[u8], relay: &RelayIdentity) -> Result<(), String> {
    let msg = parse(raw, &Limits::default()).map_err(|e| format!("parse error: {e}"))?;
    let c = circle_relay::understand::classify(&msg, relay);
    if !kind_matches(&row.kind, &c, &row.note) {
        return Err(format!(
            "kind: expected {} ({}), got {c:?}",
            row.kind, row.note
        ));
    }
    if !row.decoded.is_empty()
        && !msg.subject.contains(&row.decoded)
        && !msg.text.contains(&row.decoded)
    {
        return Err(format!(
            "decoded text {:?} not in subject {:?} nor body {:?}",
            row.decoded,
            msg.subject,
            msg.text.chars().take(300).collect::<String>()
        ));
    }
    if !row.reply.is_empty() {
        let got = new_text(&msg.text);
        if got.trim() != row.reply.trim() {
            return Err(format!(
                "reply text: expected {:?}, got {:?}",
                row.reply, got
            ));
        }
    }
    Ok(())
}

fn lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    for &b in &lf(raw) {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[test]
fn corpus_matches_expected() {
    let relay = RelayIdentity::new("circle@circle.example").expect("valid relay address");
    let rows = rows();
    assert!(rows.len() >= 80, "corpus looks empty: {} rows", rows.len());
    let mut passed = 0;
    let mut failures = Vec::new();
    for row in &rows {
        let path = corpus_dir().join(&row.file);
        let raw = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("corpus file {} unreadable: {e}", path.display()));
        let mut ok = true;
        for (form, bytes) in [("LF", lf(&raw)), ("CRLF", crlf(&raw))] {
            if let Err(e) = check(row, &bytes, &relay) {
                failures.push(format!("{} [{form}]: {e}", row.file));
                ok = false;
            }
        }
        passed += usize::from(ok);
    }
    println!("corpus: {passed}/{} rows pass (LF and CRLF)", rows.len());
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} corpus checks failed",
        failures.len()
    );
}

#[test]
fn every_corpus_file_has_an_expectation() {
    let listed: Vec<String> = rows().into_iter().map(|r| r.file).collect();
    let mut missing = Vec::new();
    for dir in std::fs::read_dir(corpus_dir()).expect("corpus dir") {
        let dir = dir.expect("dir entry").path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("corpus subdir") {
            let p = f.expect("file").path();
            let rel = p
                .strip_prefix(corpus_dir())
                .expect("inside corpus")
                .to_string_lossy()
                .replace('\\', "/");
            if rel.ends_with(".eml") && !listed.contains(&rel) {
                missing.push(rel);
            }
        }
    }
    assert!(missing.is_empty(), "files without a row: {missing:?}");
}

/// `cargo test --test corpus dump -- --ignored --nocapture` shows what each
/// file decodes and classifies as.
#[test]
#[ignore]
fn dump() {
    let relay = RelayIdentity::new("circle@circle.example").expect("valid relay address");
    for row in rows() {
        let raw = std::fs::read(corpus_dir().join(&row.file)).expect("readable");
        match parse(&raw, &Limits::default()) {
            Ok(msg) => {
                let c = circle_relay::understand::classify(&msg, &relay);
                println!("== {} [{}]\n   kind: {c:?}", row.file, row.kind);
                println!("   subject: {:?}", msg.subject);
                println!("   from: {:?}", msg.from);
                let t: String = msg.text.chars().take(160).collect();
                println!("   text: {t:?}");
                println!(
                    "   new: {:?}",
                    new_text(&msg.text).chars().take(120).collect::<String>()
                );
            }
            Err(e) => println!("== {}: parse error {e}", row.file),
        }
    }
}
