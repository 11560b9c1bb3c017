//! Quiet, readable output (issue 13): the demo prints its tour and only
//! warnings, logs carry no colour codes when stderr is not a terminal, and
//! CLI times are in the circle's time zone.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");

fn demo(dir: &std::path::Path, extra: &[&str]) -> Output {
    let out = Command::new(BIN)
        .arg("demo")
        .args(extra)
        .current_dir(dir)
        .env_remove("CIRCLE_RELAY_DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn the_demo_shows_its_tour_and_no_info_lines_unless_verbose() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("== Three requests arrive"), "{stdout}");
    assert!(!stdout.contains("INFO"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr, "", "only warnings may appear, and there are none");

    let out = demo(dir.path(), &["--verbose"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(" INFO "), "{stderr}");
    assert!(stderr.contains("mail sent"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI colours into a pipe: {stderr:?}"
    );
}

#[test]
fn requests_are_listed_in_the_circles_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), &[]);
    let config = dir.path().join("circle-relay-demo/circle-relay.toml");
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .args(args)
            .current_dir(dir.path())
            .env_remove("CIRCLE_RELAY_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // The demo's circle is in Tokyo (the default zone): the time shown is
    // Tokyo's wall clock, within minutes of now.
    let list = run(&["requests", "list"]);
    let first = list.lines().nth(1).unwrap();
    let shown = first.split_whitespace().skip(3).take(3).collect::<Vec<_>>();
    assert_eq!(shown[2], "JST", "{list}");
    let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    let when =
        jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", format!("{} {}", shown[0], shown[1]))
            .unwrap()
            .to_zoned_datetime(tokyo)
            .unwrap()
            .timestamp();
    let off = (jiff::Timestamp::now().as_second() - when.as_second()).abs();
    assert!(off < 600, "{list}: {off} s from now in Tokyo");
    assert!(!list.contains("UTC"), "{list}");
    let show = run(&["requests", "show", "1"]);
    assert!(
        show.contains("Received: ") && show.contains(" JST"),
        "{show}"
    );
    assert!(!show.contains("UTC"), "{show}");
}
