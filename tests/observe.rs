//! `[server] listen`: /healthz answers and /metrics counts what the daemon
//! did. Its own test binary, because the metrics recorder is process-wide.

#[path = "maildir_support/mod.rs"]
mod support;

mod common;

use std::time::Duration;

use circle_relay::config::Config;
use circle_relay::daemon::Daemon;
use circle_relay::directory::parse_members_csv;
use circle_relay::shutdown::ShutdownTrigger;
use common::{http_get, sample};
use support::{MEMBERS, config, drop_in, until_files};

#[tokio::test]
async fn healthz_and_metrics_show_the_work_done() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut config = config(dir.path());
    let path = dir.path().join("circle-relay.toml");
    let text =
        std::fs::read_to_string(&path).unwrap() + &format!("[server]\nlisten = \"{address}\"\n");
    std::fs::write(&path, text).unwrap();
    config = Config::load_from(Some(&path), std::iter::empty()).unwrap_or(config);
    let daemon = Daemon::build(&config).await.unwrap();
    daemon
        .store
        .import_members(&parse_members_csv(MEMBERS.as_bytes()).unwrap(), false)
        .await
        .unwrap();
    let (trigger, shutdown) = ShutdownTrigger::new();
    let running = tokio::spawn(daemon.run(shutdown));
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&address).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the listener never came up on {address}");

    let (status, body) = http_get(&address, "/healthz").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(body.trim(), "ok");
    let (_, before) = http_get(&address, "/metrics").await;
    assert_eq!(
        sample(&before, "circle_relay_forwards_total"),
        0.0,
        "{before}"
    );

    drop_in(
        &dir.path().join("inbox"),
        "1.request",
        "From: Greg Miller <greg@school.example>\nTo: circle@circle.test\n\
         Subject: First aid course for our teachers\nMessage-ID: <metrics1@school.example>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
         We need a nurse to teach first aid and CPR to our teachers in Tokyo.\n",
    );
    until_files(&dir.path().join("sent/new"), 2).await;
    let mut after = String::new();
    for _ in 0..100 {
        after = http_get(&address, "/metrics").await.1;
        if sample(&after, "circle_relay_outbox_mails{status=\"sent\"}") >= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = http_get(&address, "/nothing-here").await;
    trigger.trigger();
    running.await.unwrap();

    for (series, want) in [
        ("circle_relay_requests_total", 1.0),
        ("circle_relay_forwards_total", 1.0),
        ("circle_relay_accepts_total", 0.0),
        ("circle_relay_outbox_mails{status=\"sent\"}", 2.0),
        ("circle_relay_outbox_mails{status=\"queued\"}", 0.0),
        (
            "circle_relay_messages_total{kind=\"request\",outcome=\"processed\"}",
            1.0,
        ),
        ("circle_relay_mails_sent_total{kind=\"forward\"}", 1.0),
        ("circle_relay_mails_sent_total{kind=\"ack\"}", 1.0),
        ("circle_relay_message_processing_seconds_count", 1.0),
    ] {
        assert_eq!(sample(&after, series), want, "{series} in:\n{after}");
    }
    assert!(
        status.contains("404"),
        "unknown paths are not found: {status}"
    );
}
