//! The README's first command: `circle-relay demo` runs to the end with
//! nothing installed and shows forwards, an abstention and introductions.

use std::process::Command;

#[test]
fn demo_runs_to_the_end_and_leaves_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_circle-relay"))
        .arg("demo")
        .current_dir(dir.path())
        .env_remove("CIRCLE_RELAY_DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("→ forwarded to hanako.yamada@example.org"),
        "{stdout}"
    );
    assert!(
        stdout.contains("→ forwarded to kenta.sato@example.org"),
        "{stdout}"
    );
    assert!(stdout.contains("nobody fits"), "{stdout}");
    assert!(
        stdout.contains("introduction to greg@school.example"),
        "{stdout}"
    );
    assert!(
        stdout.contains("introduction to hanako.yamada@example.org"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("yui.tanaka@example.org    because"),
        "paused members get nothing"
    );
    let sent = std::fs::read_dir(dir.path().join("circle-relay-demo/mail/sent/new"))
        .unwrap()
        .count();
    assert_eq!(
        sent, 8,
        "2 forwards, 2 acknowledgements, 1 no-match notice, 1 admin alert, 2 introductions"
    );
}
