//! Other projects' reply-extraction test suites run against our reader
//! (`new_text`; HTML through `html_to_text` first, as the pipeline does for
//! an HTML-only mail). Fixtures and their sources: tests/fixtures/replies/.
//!
//! Each case asserts what the other project's test asserts. A case where
//! our product deliberately differs is listed in `EXPECTED_DIFFERENCES` with
//! the reason: it must still fail their assertion (so the list stays true)
//! and it does not count as a pass. Every suite must pass all its other
//! cases; the pass rate per suite is printed.

use std::path::{Path, PathBuf};

use circle_relay::understand::{Limits, html_to_text, new_text, parse};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    name: String,
    #[serde(default)]
    skip: Option<String>,
    #[serde(default)]
    input: String,
    #[serde(default)]
    expect: String,
}

/// Cases whose expectation our product does not share, and why.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[
    (
        "talon/standard_replies/iphone",
        "talon keeps \"Sent from my iPhone\"; a member's words are passed on without their client's signature",
    ),
    (
        "talon/standard_replies/sparrow",
        "talon keeps the \"-- \" signature; a member's words are passed on without their signature",
    ),
    (
        "talon/text/test_dont_parse_quotations_for_forwarded_messages",
        "talon keeps a forwarded message; a third party's mail (their address and words) is not passed on as the member's",
    ),
    (
        "talon/html/test_gmail_forwarded_msg",
        "talon keeps a forwarded message; a third party's mail is not passed on as the member's",
    ),
    (
        "talon/text/test_quotation_marker_false_positive",
        "talon keeps '>' lines that follow no attribution; we drop every '>' line, since mobile clients quote without one",
    ),
    (
        "talon/html/test_gmail_quote_blockquote",
        "talon keeps a blockquote that follows no attribution; a blockquote in a reply is the quoted request",
    ),
    (
        "talon/html/test_regular_blockquote",
        "talon keeps a blockquote that follows no attribution; a blockquote in a reply is the quoted request",
    ),
    (
        "talon/html/test_readable_html_empty",
        "talon returns the whole mail when all of it is quoted; for us an all-quoted reply has no new words",
    ),
    (
        "talon/html/test_reply_separated_by_hr",
        "talon drops the whole <div> that holds the rule, with the name written above it; we cut at the rule's header block and keep the line above, a sign-off name",
    ),
    (
        "planer/html/outlook-mixed.html",
        "the mail opens with a forward's header block (Subject: FW:) with nothing above it; planer keeps the forwarded text, we do not pass a forwarded mail's words on as the member's",
    ),
    (
        "talon/text/test_too_many_lines",
        "asserts talon with its MAX_LINES_COUNT patched to 1 (it then reads only up to the first separator); we have no such limit",
    ),
    (
        "talon/html/test_too_large_html",
        "asserts talon giving up on HTML over its tag limit (patched to 4) and returning it whole; we have no such limit",
    ),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replies")
}

fn read(rel: &str) -> Vec<u8> {
    let path = dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn cases(rel: &str) -> Vec<Case> {
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Blank lines and trailing spaces do not matter to a reader (talon keeps
/// or drops the blank line where a quote was, depending on the quote); the
/// lines of text must be the same, in order.
fn normal(s: &str) -> String {
    s.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn no_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// One suite's outcome: which cases failed, and the counts.
#[derive(Default)]
struct Outcome {
    passed: usize,
    failed: Vec<String>,
    differences_that_pass: Vec<String>,
    differences: usize,
}

impl Outcome {
    fn record(&mut self, name: &str, ok: bool, detail: impl FnOnce() -> String) {
        let difference = EXPECTED_DIFFERENCES.iter().any(|(n, _)| *n == name);
        match (ok, difference) {
            (true, false) => self.passed += 1,
            (false, false) => self.failed.push(format!("{name}: {}", detail())),
            (true, true) => self.differences_that_pass.push(name.to_string()),
            (false, true) => self.differences += 1,
        }
    }

    fn finish(self, suite: &str) {
        let total = self.passed + self.failed.len() + self.differences;
        println!(
            "{suite}: {}/{total} pass, {} expected differences",
            self.passed, self.differences
        );
        assert!(
            self.failed.is_empty() && self.differences_that_pass.is_empty(),
            "{suite}: {} failed:\n{}\nlisted as differences but pass: {:?}",
            self.failed.len(),
            self.failed.join("\n"),
            self.differences_that_pass
        );
    }
}

/// Plain-text cases: line by line, trailing spaces and blank lines aside.
fn text_cases(out: &mut Outcome, file: &str, prefix: &str) {
    for case in cases(file).into_iter().filter(|c| c.skip.is_none()) {
        let got = new_text(&case.input);
        let name = format!("{prefix}/{}", case.name);
        out.record(&name, normal(&got) == normal(&case.expect), || {
            format!("expected {:?}, got {:?}", case.expect, got)
        });
    }
}

/// HTML cases: through `html_to_text` as the pipeline reads an HTML-only
/// mail, compared with the expected HTML's text, all whitespace removed.
fn html_cases(out: &mut Outcome, file: &str, prefix: &str) {
    for case in cases(file).into_iter().filter(|c| c.skip.is_none()) {
        let got = new_text(&html_to_text(&case.input));
        let want = html_to_text(&case.expect);
        let name = format!("{prefix}/{}", case.name);
        out.record(&name, no_whitespace(&got) == no_whitespace(&want), || {
            format!("expected {want:?}, got {got:?}")
        });
    }
}

#[test]
fn talon_text_quotations() {
    let mut out = Outcome::default();
    text_cases(&mut out, "talon/text_quotations.json", "talon/text");
    out.finish("talon text_quotations_test.py");
}

/// talon compares its output HTML with all whitespace removed; we compare
/// the text of the expected HTML with ours the same way.
#[test]
fn talon_html_quotations() {
    let mut out = Outcome::default();
    html_cases(&mut out, "talon/html_quotations.json", "talon/html");
    // test_reply_quotations_share_block: something is left, and no "From".
    let text = body_of("talon/reply-quotations-share-block.eml");
    let got = new_text(&text);
    out.record(
        "talon/html/test_reply_quotations_share_block",
        !got.is_empty() && !got.contains("From"),
        || format!("got {got:?}"),
    );
    out.finish("talon html_quotations_test.py");
}

fn body_of(rel: &str) -> String {
    let msg = parse(&read(rel), &Limits::default()).unwrap_or_else(|e| panic!("{rel}: {e}"));
    msg.text
}

/// test_standard_replies: the text/plain part of each .eml reduces to its
/// `_reply_text` file, or to "Hello" where there is none.
#[test]
fn talon_standard_replies() {
    let mut out = Outcome::default();
    let base = dir().join("talon/standard_replies");
    let mut files: Vec<_> = std::fs::read_dir(&base)
        .expect("standard_replies")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    files.sort();
    for file in files {
        let stem = file.trim_end_matches(".eml");
        let expect_path = base.join(format!("{stem}_reply_text"));
        let expect = std::fs::read_to_string(&expect_path).unwrap_or_else(|_| "Hello".into());
        let got = new_text(&body_of(&format!("talon/standard_replies/{file}")));
        let name = format!("talon/standard_replies/{stem}");
        out.record(&name, normal(&got) == normal(&expect), || {
            format!("expected {expect:?}, got {got:?}")
        });
    }
    out.finish("talon standard_replies");
}

/// planer's "examples from files" (planerHtml.test.coffee): Outlook and
/// Office 365 HTML replies keep the reply's words and lose the quoted
/// message's.
#[test]
fn planer_outlook_html_examples() {
    let mut out = Outcome::default();
    for (file, reply, original) in [
        (
            "microsoft-namespaces.html",
            "Lorem ipsum dolor sit amet",
            "Odio et pretium rutrum neque",
        ),
        (
            "office-365.html",
            "I really hope that you're doing well!",
            "Do you like the holidays?",
        ),
        (
            "outlook-mixed.html",
            "This is how it looks on my emails",
            "We'd love to set up a quick phone call with you",
        ),
    ] {
        let html = String::from_utf8(read(&format!("planer/{file}"))).expect("UTF-8");
        assert!(html.contains(reply) && html.contains(original), "{file}");
        let got = new_text(&html_to_text(&html));
        let name = format!("planer/html/{file}");
        out.record(
            &name,
            got.contains(reply) && !got.contains(original),
            || format!("got {got:?}"),
        );
    }
    out.finish("planer planerHtml.test.coffee (examples from files)");
}

/// quotequail's test_quote and test_quote_html: the part it marks as the
/// reply (with `quote_intro_line=True`, so the "On … wrote:" line is quoted)
/// is what we keep. HTML is compared as text, all whitespace removed.
#[test]
fn quotequail_quotes() {
    let mut out = Outcome::default();
    text_cases(&mut out, "quotequail/test_quote.json", "quotequail");
    html_cases(&mut out, "quotequail/test_quote_html.json", "quotequail");
    out.finish("quotequail test_quote.py and test_quote_html.py");
}
