//! The inbox's Failed folder at the admin's hand (issue 13, part 3): a
//! non-member's request is moved aside; `inbox failed` shows it with its
//! reason and sender; once the sender is a member, `inbox reprocess` handles
//! it as if new, the running daemon sends its mails at once, and a second
//! reprocess is refused so nothing is sent twice. The daemon runs as a real
//! process on SQLite with Maildir in and out.

#[path = "maildir_support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");

fn cli(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

fn ok(config: &Path, args: &[&str]) -> String {
    let out = cli(config, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const REQUEST: &str = "From: Greg Miller <greg@school.example>\nTo: circle@circle.test\n\
    Subject: First aid course for our teachers\nMessage-ID: <reprocess-1@school.example>\n\
    Content-Type: text/plain; charset=UTF-8\n\n\
    Our school in Tokyo needs a nurse to teach a first aid course to 15 teachers.\n";

#[tokio::test]
async fn a_refused_request_is_listed_and_reprocessed_once_without_doubles() {
    let dir = tempfile::tempdir().unwrap();
    support::config(dir.path());
    let config = dir.path().join("circle-relay.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("posting = \"anyone\"", "posting = \"members\""),
    )
    .unwrap();
    std::fs::write(dir.path().join("m.csv"), support::MEMBERS).unwrap();
    ok(
        &config,
        &[
            "members",
            "import",
            dir.path().join("m.csv").to_str().unwrap(),
        ],
    );
    let _daemon = Daemon(
        Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap(),
    );
    support::drop_in(&dir.path().join("inbox"), "1.eml", REQUEST);

    // Moved aside, and listed with its reason and sender.
    let start = Instant::now();
    let list = loop {
        let list = ok(&config, &["inbox", "failed"]);
        if list.contains("1 message(s)") {
            break list;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let row = list.lines().nth(1).unwrap();
    let id = row.split_whitespace().next().unwrap().to_string();
    assert!(row.contains("greg@school.example"), "{list}");
    assert!(row.contains(" request "), "{list}");
    assert!(row.contains("First aid course for our"), "{list}");
    assert!(
        row.ends_with("request from an address that is not an active member (hold 1)"),
        "{list}"
    );
    assert!(row.contains(" JST "), "{list}");
    let sent = dir.path().join("sent/new");
    assert!(
        support::files(&sent).is_empty(),
        "a refused request is not answered"
    );

    // Still not a member: it fails again, and nothing is kept but the note.
    let out = cli(&config, &["inbox", "reprocess", &id]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "message {id} still cannot be handled: request from an address that is not an active member"
        )),
        "{err}"
    );

    ok(
        &config,
        &[
            "members",
            "add",
            "greg@school.example",
            "--name",
            "Greg Miller",
        ],
    );
    let out = ok(&config, &["inbox", "reprocess", &id]);
    assert!(
        out.starts_with(&format!("message {id} handled again: request\n")),
        "{out}"
    );
    assert!(
        out.contains("it is request 1 (`circle-relay requests show 1`)"),
        "{out}"
    );
    assert!(out.contains("the running daemon ("), "{out}");

    // The running daemon sends the forward and the acknowledgement at once.
    let files = support::until_files(&sent, 2).await;
    let mut to: Vec<String> = files.iter().map(|f| support::parsed(f).0).collect();
    to.sort();
    assert_eq!(to, ["aiko@example.org", "greg@school.example"]);

    let out = cli(&config, &["inbox", "reprocess", &id]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("message {id} was handled already")),
        "{err}"
    );
    assert!(ok(&config, &["inbox", "failed"]).contains("0 message(s)"));

    let show = ok(&config, &["requests", "show", "1"]);
    assert!(show.contains("Admin actions:\n"), "{show}");
    let action = format!(" inbox_reprocess inbound message {id} by ");
    let lines: Vec<&str> = show.lines().filter(|l| l.contains(&action)).collect();
    assert_eq!(lines.len(), 2, "{show}");
    assert!(
        lines[0].ends_with(
            "(still fails: request from an address that is not an active member (hold 1))"
        ),
        "{show}"
    );
    assert!(lines[1].ends_with("(handled again as request)"), "{show}");
    // Both mails went out once, whatever else the daemon does meanwhile.
    let outbox = ok(&config, &["outbox", "list"]);
    assert!(outbox.ends_with("2 mail(s)\n"), "{outbox}");
    assert_eq!(support::files(&sent).len(), 2);
}
