//! Bounces and replies judged the way bounce libraries are: every file of
//! tests/fixtures/bounces/EXPECTED.tsv (real notices from sisimai's test set
//! and the shared corpus) must be recognised with its failed recipients and
//! their severities; ordinary and automatic mail of the corpus must never be
//! taken as a bounce; replies must give their new text exactly. The figures
//! are printed (`-- --nocapture`) and held to the product's targets.

use std::path::{Path, PathBuf};

use circle_relay::understand::{
    BounceReport, Classification, Limits, RelayIdentity, Severity, classify, new_text, parse,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Data rows of a TSV file: tab-separated fields, `#` lines skipped.
fn tsv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn field(row: &[String], i: usize) -> &str {
    row.get(i).map_or("", String::as_str)
}

fn classify_file(path: &Path) -> Classification {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let relay = RelayIdentity::new("circle@circle.example").expect("valid relay address");
    match parse(&raw, &Limits::default()) {
        Ok(msg) => classify(&msg, &relay),
        Err(_) => Classification::Unreadable,
    }
}

fn severity_name(s: Severity) -> &'static str {
    s.as_str()
}

#[derive(Default)]
struct Figures {
    notices: usize,
    detected: usize,
    right_recipients: usize,
    recipients: usize,
    severity_agree: usize,
    misses: Vec<String>,
}

fn judge(f: &mut Figures, row: &[String]) {
    let file = field(row, 0);
    let kind = field(row, 1);
    let want: Vec<&str> = field(row, 2).split(';').filter(|s| !s.is_empty()).collect();
    let want_sev: Vec<&str> = field(row, 3).split(';').collect();
    f.notices += 1;
    let c = classify_file(&fixtures().join("bounces").join(file));
    let report: Option<&BounceReport> = match (&c, kind) {
        (Classification::Bounce(r), "bounce") | (Classification::Delay(r), "delay") => Some(r),
        _ => None,
    };
    let Some(r) = report else {
        f.misses
            .push(format!("{file}: not detected as {kind}: {c:?}"));
        return;
    };
    f.detected += 1;
    let mut got: Vec<String> = r.failures().into_iter().map(|x| x.address).collect();
    got.sort();
    let mut expected: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    expected.sort();
    if got == expected {
        f.right_recipients += 1;
    } else {
        f.misses
            .push(format!("{file}: recipients {got:?}, expected {expected:?}"));
    }
    for (addr, sev) in want.iter().zip(&want_sev) {
        f.recipients += 1;
        let got = severity_name(r.severity_for(addr));
        if got == *sev {
            f.severity_agree += 1;
        } else {
            f.misses
                .push(format!("{file}: {addr} severity {got}, expected {sev}"));
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

#[test]
fn bounces_are_detected_with_recipient_and_severity() {
    let rows = tsv(&fixtures().join("bounces/EXPECTED.tsv"));
    assert!(
        rows.len() >= 40,
        "bounce corpus looks empty: {} rows",
        rows.len()
    );
    let mut f = Figures::default();
    for row in &rows {
        judge(&mut f, row);
    }
    let detection = ratio(f.detected, f.notices);
    let recipient = ratio(f.right_recipients, f.notices);
    let severity = ratio(f.severity_agree, f.recipients);
    println!(
        "bounces: {} notices, detection {:.3}, right recipient {:.3}, severity agreement {:.3} ({}/{} recipients)",
        f.notices, detection, recipient, severity, f.severity_agree, f.recipients
    );
    for m in &f.misses {
        println!("MISS {m}");
    }
    assert!(detection >= 0.98, "detection {detection:.3} < 0.98");
    assert!(recipient >= 0.95, "right recipient {recipient:.3} < 0.95");
    assert!(severity >= 0.90, "severity agreement {severity:.3} < 0.90");
}

/// Every corpus file that is not a delivery report: people's mail, replies,
/// auto-replies, read receipts, abuse reports, broken mail. (A corpus file
/// listed in bounces/EXPECTED.tsv is judged there.)
#[test]
fn ordinary_and_automatic_mail_is_never_a_bounce() {
    let corpus = fixtures().join("corpus");
    let notices: Vec<String> = tsv(&fixtures().join("bounces/EXPECTED.tsv"))
        .into_iter()
        .map(|r| field(&r, 0).trim_start_matches("../corpus/").to_string())
        .collect();
    let mut checked = 0;
    let mut false_bounces = Vec::new();
    for row in tsv(&corpus.join("EXPECTED.tsv")) {
        if matches!(field(&row, 1), "bounce" | "delay")
            || notices.iter().any(|n| n == field(&row, 0))
        {
            continue;
        }
        checked += 1;
        let c = classify_file(&corpus.join(field(&row, 0)));
        if matches!(c, Classification::Bounce(_) | Classification::Delay(_)) {
            false_bounces.push(format!("{}: {c:?}", field(&row, 0)));
        }
    }
    println!(
        "negative controls: {checked} messages, false bounces {}",
        false_bounces.len()
    );
    assert!(checked >= 50, "too few negative controls: {checked}");
    assert!(
        false_bounces.is_empty(),
        "false bounces: {false_bounces:#?}"
    );
}

/// The new text of every reply with an expectation, in the shared corpus
/// (talon's client fixtures, Japanese replies) and tests/fixtures/replies.
#[test]
fn reply_new_text_is_exact() {
    let mut cases: Vec<(PathBuf, String)> = Vec::new();
    for (dir, col) in [("corpus", 3), ("replies", 1)] {
        let base = fixtures().join(dir);
        for row in tsv(&base.join("EXPECTED.tsv")) {
            let want = field(&row, col).replace("\\n", "\n");
            if !want.is_empty() {
                cases.push((base.join(field(&row, 0)), want));
            }
        }
    }
    let mut exact = 0;
    for (path, want) in &cases {
        let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let got = parse(&raw, &Limits::default())
            .map(|m| new_text(&m.text))
            .unwrap_or_default();
        if got.trim() == want.trim() {
            exact += 1;
        } else {
            println!("MISS {}: got {got:?}, expected {want:?}", path.display());
        }
    }
    let r = ratio(exact, cases.len());
    println!(
        "replies: {} with expected new text, exact {:.3}",
        cases.len(),
        r
    );
    assert!(cases.len() >= 25, "too few replies: {}", cases.len());
    assert!(r >= 0.85, "reply new text exact {r:.3} < 0.85");
}
