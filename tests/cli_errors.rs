//! What a person sees when something is wrong (issue 13, "errors that say
//! what to do"): the real binary, its stderr and stdout, word for word where
//! the words matter.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");

/// Runs the binary in `dir` with no CIRCLE_RELAY_* variables but `env`.
fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("CIRCLE_RELAY_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run circle-relay")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// stderr of a run that must fail.
fn failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure; stdout:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn unknown_key_is_shown_at_its_line_with_the_caret_and_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    write(
        dir.path(),
        "circle-relay.toml",
        &format!(
            "# The circle's config\n\n[database]\nurl = \"sqlite://{}\"\nmax_conections = 5\n",
            db.display()
        ),
    );
    let err = failure(&run_in(dir.path(), &["members", "list"], &[]));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        "error: circle-relay.toml:5:1: [database] max_conections: unknown field `max_conections`, \
         expected `url` or `max_connections`",
        "{err}"
    );
    assert_eq!(
        lines[1..5],
        [
            "  |",
            "5 | max_conections = 5",
            "  | ^^^^^^^^^^^^^^",
            "  = help: did you mean `max_connections`?"
        ],
        "{err}"
    );
    assert!(!db.exists(), "nothing may be created by a failed command");
}

#[test]
fn check_shows_the_diagram_for_the_inbox_section() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "circle-relay.toml",
        "[inbox]\nkind = \"maildir\"\npath = \"mail/inbox\"\npoll_secs = 5\n",
    );
    let out = run_in(dir.path(), &["check"], &[]);
    failure(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "FAIL config: circle-relay.toml:4:1: [inbox] poll_secs: unknown field `poll_secs`"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n4 | poll_secs = 5\n  | ^^^^^^^^^\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("= help: did you mean `poll_seconds`?"),
        "{stdout}"
    );
}

#[test]
fn a_bad_environment_variable_is_named_without_a_toml_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "circle-relay.toml",
        "[database]\nurl = \"sqlite://c.db\"\n",
    );
    let err = failure(&run_in(
        dir.path(),
        &["members", "list"],
        &[("CIRCLE_RELAY_DATABASE_MAX_CONNECTIONS", "-3")],
    ));
    assert_eq!(
        err.trim_end(),
        "error: environment variable CIRCLE_RELAY_DATABASE_MAX_CONNECTIONS: \
         [database] max_connections: invalid value: integer `-3`, expected u32",
        "{err}"
    );
    let err = failure(&run_in(
        dir.path(),
        &["members", "list"],
        &[("CIRCLE_RELAY_DATABASE_MAX_CONNECTIONS", "many")],
    ));
    assert_eq!(
        err.trim_end(),
        "error: environment variable CIRCLE_RELAY_DATABASE_MAX_CONNECTIONS: \
         [database] max_connections: \"many\" is not a whole number",
        "{err}"
    );
}

#[test]
fn csv_rows_are_numbered_as_an_editor_shows_them_for_crlf_lf_and_cr() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "circle-relay.toml",
        "[database]\nurl = \"sqlite://c.db\"\n",
    );
    let lf = "email,name,skills,bio,languages,region,status\n\
        ok@example.org,A,coaching,,ja,,\n\
        not-an-address,B,coaching,,ja,,\n\
        c@example.org,C,coaching,\"two\nlines\",ja,,\n\
        d@example.org,D,coaching,,ja,,retired\n";
    for (name, text) in [
        ("lf.csv", lf.to_string()),
        ("crlf.csv", lf.replace('\n', "\r\n")),
        ("cr.csv", lf.replace('\n', "\r")),
    ] {
        let file = write(dir.path(), name, &text);
        let err = failure(&run_in(
            dir.path(),
            &["members", "import", file.to_str().unwrap()],
            &[],
        ));
        assert!(
            err.contains("2 bad row(s), nothing was imported"),
            "{name}: {err}"
        );
        assert!(
            err.contains("  line 3: email: address \"not-an-address\""),
            "{name}: {err}"
        );
        assert!(
            err.contains("  line 6: status: unknown status \"retired\""),
            "{name}: {err}"
        );
    }
}

/// The one error line and its hint, and the driver's words only once.
fn database_error(config: &str, env: &[(&str, &str)]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "circle-relay.toml", config);
    let err = failure(&run_in(dir.path(), &["members", "list"], env));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "one error and one hint: {err}");
    assert!(lines[1].starts_with("  = help: "), "{err}");
    (lines[0].to_string(), lines[1].to_string())
}

#[test]
fn database_errors_say_what_is_wrong_once_with_a_hint() {
    let (err, help) = database_error("[database]\nurl = \"sqlite:///no/such/folder/c.db\"\n", &[]);
    assert_eq!(
        err,
        "error: cannot open the database sqlite:///no/such/folder/c.db: \
         the folder /no/such/folder does not exist"
    );
    assert!(help.contains("mkdir -p"), "{help}");

    // /proc takes no new files, not even from root.
    let (err, help) = database_error("[database]\nurl = \"sqlite:///proc/c.db\"\n", &[]);
    assert!(
        err.starts_with(
            "error: cannot open the database sqlite:///proc/c.db: cannot create files in /proc"
        ),
        "{err}"
    );
    assert!(help.contains("permissions"), "{help}");

    let (err, help) = database_error(
        "[database]\nurl = \"postgres://circle@127.0.0.1:1/x\"\n",
        &[],
    );
    assert_eq!(
        err,
        "error: cannot open the database postgres://circle@127.0.0.1:1/x: \
         nothing is listening there (connection refused)"
    );
    assert!(help.contains("start PostgreSQL"), "{help}");
}

#[test]
fn postgres_login_failures_name_the_login_and_hide_the_password() {
    let admin = common::postgres_admin_url();
    let hostport = admin
        .split_once('@')
        .map(|(_, h)| h.split('/').next().unwrap_or(h).to_string())
        .expect("TEST_POSTGRES_URL has a host");
    let url = format!("postgres://nobody_here:hunter2@{hostport}/postgres");
    let (err, help) = database_error("", &[("CIRCLE_RELAY_DATABASE_URL", &url)]);
    assert!(
        err.starts_with(&format!(
            "error: cannot open the database postgres://nobody_here:***@{hostport}/postgres: \
             PostgreSQL refused the login: "
        )),
        "{err}"
    );
    assert!(err.contains("nobody_here"), "{err}");
    assert!(
        !err.contains("hunter2") && !help.contains("hunter2"),
        "{err}"
    );
    assert!(help.contains("user name and password"), "{help}");
}

#[test]
fn without_a_config_file_commands_say_where_they_looked_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["members", "list"][..],
        &["requests", "list"][..],
        &["members", "export"][..],
    ] {
        let err = failure(&run_in(dir.path(), args, &[]));
        let looked = dir.path().canonicalize().unwrap().join("circle-relay.toml");
        assert!(
            err.starts_with(&format!(
                "error: no config file: looked for {}, and there is no database circle-relay.db here either",
                looked.display()
            )),
            "{args:?}: {err}"
        );
        assert!(err.contains("run `circle-relay init`"), "{err}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} created {left:?}");
    }
    // `init` then makes the folder a circle's, and the same command works.
    let out = run_in(dir.path(), &["init"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_in(dir.path(), &["members", "list"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 members"));
}

#[test]
fn a_missing_config_file_given_by_name_says_how_to_write_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = failure(&run_in(
        dir.path(),
        &["--config", "elsewhere.toml", "members", "list"],
        &[],
    ));
    assert!(
        err.starts_with("error: elsewhere.toml: file: cannot read: "),
        "{err}"
    );
    assert!(
        err.contains(
            "= help: `circle-relay --config elsewhere.toml init` writes a commented sample there"
        ),
        "{err}"
    );
}

#[test]
fn check_flags_a_user_name_without_password_and_speaks_of_maildir_folders() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "circle-relay.toml",
        "[outbound]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 10025\ntls = \"none\"\n\
         username = \"relay@circle.test\"\n\
         [inbox]\nkind = \"maildir\"\npath = \"mail/inbox\"\n\
         [security]\ntoken_secret = \"0123456789abcdef0123\"\n",
    );
    assert!(run_in(dir.path(), &["migrate"], &[]).status.success());
    let out = run_in(dir.path(), &["check"], &[]);
    failure(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "FAIL [outbound] username relay@circle.test has no password: \
             set CIRCLE_RELAY_OUTBOUND_PASSWORD (or [outbound] password)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok   Maildir inbox mail/inbox: folders ready"),
        "{stdout}"
    );
    assert!(!stdout.contains("logged in"), "{stdout}");
}
