//! The outbox at the admin's hand (issue 13, part 3), as an admin uses it:
//! the daemon runs as a real process on the mail stack; the hourly cap holds
//! a mail, Postfix refuses another; `outbox list/show/release/retry/discard`
//! show and change them, and `requests show` tells who did what.

#[path = "inbox_support/mod.rs"]
mod support;

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{DaemonProcess, circle_config, cli, inbox_mails, send_text, until_inbox};

const RELAY: &str = "relayob@circle.test";
const ASKER: &str = "obasker@circle.test";
/// Postfix answers 550 5.1.1 for this one: the mail fails for good.
const GHOST: &str = "ghost-nobody@circle.test";

/// `circle-relay ARGS` that must fail; its stderr.
fn cli_fails(config: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_circle-relay"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Polls `outbox list ARGS` until it shows `n` mails; returns their ids.
async fn until_listed(config: &Path, args: &[&str], n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let mut full = vec!["outbox", "list"];
        full.extend_from_slice(args);
        let out = cli(config, &full);
        let ids: Vec<String> = out
            .lines()
            .skip(1)
            .filter(|l| !l.ends_with("mail(s)"))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        if ids.len() == n {
            return ids;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{args:?}: {out}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn request_nobody_fits(from: &str) {
    send_text(
        from,
        RELAY,
        "Need a plumber this week",
        "",
        "Our sink is leaking. Anyone who does plumbing?",
    )
    .await;
}

#[tokio::test]
async fn held_and_failed_mail_are_shown_released_retried_and_discarded() {
    support::require_stack();
    for u in ["relayob", "obasker"] {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("ob.db").display());
    let config = circle_config(
        dir.path(),
        "relayob",
        &db,
        &[],
        "[security]\ntoken_secret = \"outbox-test-secret-12345\"\nmax_mails_per_address_per_hour = 1\n",
    );
    let daemon = DaemonProcess::run(&config);

    // Two requests from one address in an hour: the second notice is held.
    request_nobody_fits(ASKER).await;
    until_inbox("obasker", 1, Duration::from_secs(30)).await;
    request_nobody_fits(ASKER).await;
    let held = until_listed(&config, &["--status", "held"], 1)
        .await
        .remove(0);
    request_nobody_fits(GHOST).await;
    let failed = until_listed(&config, &["--status", "failed"], 1)
        .await
        .remove(0);

    let list = cli(&config, &["outbox", "list", "--to", "OBASKER@circle.test"]);
    assert!(list.contains(" sent ") && list.contains(" held "), "{list}");
    assert!(list.ends_with("2 mail(s)\n"), "{list}");
    assert!(list.contains(" JST "), "times in the circle's zone: {list}");

    let show = cli(&config, &["outbox", "show", &held]);
    assert!(
        show.starts_with(&format!("Mail {held}: no_match to {ASKER}\n")),
        "{show}"
    );
    assert!(show.contains("Status:       held\n"), "{show}");
    assert!(
        show.contains("Last error:   hourly cap for this recipient reached"),
        "{show}"
    );
    assert!(
        show.contains(&format!("  To: {ASKER}")),
        "headers are shown: {show}"
    );
    assert!(show.contains("`outbox release ID` sends it"), "{show}");
    let show = cli(&config, &["outbox", "show", &failed]);
    assert!(show.contains("Status:       failed\n"), "{show}");
    assert!(
        show.contains("5.1.1"),
        "Postfix's answer is the last error: {show}"
    );

    // Release: the daemon sends it at once, past the cap.
    let out = cli(&config, &["outbox", "release", &held]);
    assert!(
        out.starts_with(&format!(
            "mail {held} to {ASKER} released; it goes out past the hourly cap\n"
        )),
        "{out}"
    );
    assert!(out.contains("the running daemon ("), "{out}");
    let mails = until_inbox("obasker", 2, Duration::from_secs(30)).await;
    assert_eq!(mails.len(), 2);
    let err = cli_fails(&config, &["outbox", "release", &held]);
    assert!(err.contains(&format!("mail {held} is ")), "{err}");
    assert!(err.contains("only held mail can be released"), "{err}");

    // Without a daemon: retry queues the failed mail again, discard drops it.
    daemon.signal("TERM");
    let store = common::store_at(&db).await;
    let start = Instant::now();
    while store
        .running_daemon(jiff::Timestamp::now().as_second())
        .await
        .unwrap()
        .is_some()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the daemon never stopped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
    let out = cli(&config, &["outbox", "retry", &failed]);
    assert!(
        out.starts_with(&format!("mail {failed} to {GHOST} queued again\n")),
        "{out}"
    );
    assert!(out.contains("no daemon is running: "), "{out}");
    let show = cli(&config, &["outbox", "show", &failed]);
    assert!(show.contains("Status:       queued\n"), "{show}");
    assert!(show.contains("Attempts:     0\n"), "{show}");
    assert!(
        show.contains("Next attempt: ") && show.contains(" JST"),
        "{show}"
    );
    let out = cli(&config, &["outbox", "discard", &failed]);
    assert!(
        out.starts_with(&format!("mail {failed} to {GHOST} discarded")),
        "{out}"
    );
    let show = cli(&config, &["outbox", "show", &failed]);
    assert!(show.contains("Status:       failed\n"), "{show}");
    assert!(show.contains("Last error:   discarded by "), "{show}");
    let err = cli_fails(&config, &["outbox", "retry", "9999"]);
    assert!(err.contains("there is no mail 9999 in the outbox"), "{err}");

    // requests show tells who did what: request 2's notice was released,
    // request 3's retried and discarded.
    let two = cli(&config, &["requests", "show", "2"]);
    assert!(two.contains("Admin actions:\n"), "{two}");
    assert!(
        two.contains(&format!(" outbox_release mail {held} by ")),
        "{two}"
    );
    let three = cli(&config, &["requests", "show", "3"]);
    let retry = three
        .find(&format!(" outbox_retry mail {failed} by "))
        .expect(&three);
    let discard = three
        .find(&format!(" outbox_discard mail {failed} by "))
        .expect(&three);
    assert!(retry < discard, "{three}");
    let one = cli(&config, &["requests", "show", "1"]);
    assert!(!one.contains("Admin actions"), "{one}");
    assert_eq!(
        inbox_mails("obasker").len(),
        2,
        "nothing else went to the asker"
    );
}
