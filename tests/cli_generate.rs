//! `completions SHELL` and `man`: generated from the command line itself, and
//! usable before any config exists (they read none).

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");

/// Runs the binary in an empty folder with a config path that does not exist
/// and an environment override that would be an error for any other command.
fn run(args: &[&str]) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--config", "/nonexistent/circle-relay.toml"])
        .args(args)
        .current_dir(dir.path())
        .env("CIRCLE_RELAY_NO_SUCH_KEY", "x")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out, stdout)
}

#[test]
fn bash_completion_knows_the_commands() {
    let (_, script) = run(&["completions", "bash"]);
    assert!(script.contains("circle-relay"), "{script}");
    for word in ["members", "match", "requests", "digest", "run", "--config"] {
        assert!(script.contains(word), "bash completion lacks {word}");
    }
    // The nested commands too.
    assert!(
        script.contains("import"),
        "bash completion lacks members import"
    );
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (_, script) = run(&["completions", shell]);
        assert!(script.contains("members"), "{shell}: {script}");
    }
}

#[test]
fn unknown_shell_is_an_error() {
    let out = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn man_page_has_the_usual_sections() {
    let (_, page) = run(&["man"]);
    assert!(page.contains(".TH circle-relay 1"), "{page}");
    assert!(page.contains(".SH NAME"), "{page}");
    assert!(page.contains(".SH SYNOPSIS"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    assert!(page.contains("members"), "{page}");
    // `--config` can come from the environment; the page says so.
    assert!(page.contains("CIRCLE_RELAY_CONFIG"), "{page}");
}

#[test]
fn man_out_dir_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    run(&["man", "--out-dir", pages.to_str().unwrap()]);
    for name in [
        "circle-relay.1",
        "circle-relay-run.1",
        "circle-relay-members.1",
        "circle-relay-members-import.1",
    ] {
        let text =
            std::fs::read_to_string(pages.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains(".SH NAME"), "{name}: {text}");
    }
}
