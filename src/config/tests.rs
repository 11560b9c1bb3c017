use super::*;
use std::io::Write;

fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    Config::load_from(
        Some(f.path()),
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

#[test]
fn sample_has_every_key_with_its_default() {
    let c = load(SAMPLE, &[]).unwrap();
    c.validate_all().unwrap();
    fn keys<T: Serialize + Default>() -> Vec<String> {
        match toml::Value::try_from(T::default()).unwrap() {
            toml::Value::Table(t) => t.keys().cloned().collect(),
            _ => vec![],
        }
    }
    let sample: toml::Table = toml::from_str(SAMPLE).unwrap();
    let expect = [
        ("circle", keys::<CircleConfig>()),
        ("database", keys::<DatabaseConfig>()),
        ("inbox", keys::<InboxConfig>()),
        ("outbound", keys::<OutboundConfig>()),
        ("matching", keys::<MatchingConfig>()),
        ("relay", keys::<RelayConfig>()),
        ("digest", keys::<DigestConfig>()),
        ("security", keys::<SecurityConfig>()),
        ("log", keys::<LogConfig>()),
        ("server", keys::<ServerConfig>()),
        ("moderation", keys::<ModerationConfig>()),
        ("oauth2", keys::<OAuth2Config>()),
    ];
    for (section, want) in expect {
        let have = sample[section].as_table().unwrap();
        for k in want {
            assert!(have.contains_key(&k), "sample lacks [{section}] {k}");
        }
        // And the sample's values are the defaults.
        let from_sample = toml::Value::try_from(match section {
            "relay" => toml::Value::try_from(c.relay().unwrap()).unwrap(),
            "matching" => toml::Value::try_from(c.matching().unwrap()).unwrap(),
            "inbox" => toml::Value::try_from(c.inbox().unwrap()).unwrap(),
            _ => continue,
        })
        .unwrap();
        let defaults = match section {
            "relay" => toml::Value::try_from(RelayConfig::default()).unwrap(),
            "matching" => toml::Value::try_from(MatchingConfig::default()).unwrap(),
            _ => toml::Value::try_from(InboxConfig::default()).unwrap(),
        };
        assert_eq!(from_sample, defaults, "[{section}]");
    }
}

#[test]
fn unknown_key_names_file_section_and_key() {
    let err = load("[relay]\nwavez = 3\n", &[])
        .unwrap()
        .relay()
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("[relay]"), "{msg}");
    assert!(msg.contains("wavez"), "{msg}");
    assert!(msg.contains(".toml") || msg.contains("tmp"), "{msg}");
}

#[test]
fn wrong_type_names_the_key_and_the_expectation() {
    let err = load("[inbox]\nport = \"imap\"\n", &[])
        .unwrap()
        .inbox()
        .unwrap_err();
    assert_eq!(err.place, "[inbox] port", "{err}");
    assert!(err.message.contains("expected"), "{err}");
}

#[test]
fn unknown_section_is_an_error() {
    let err = load("[databse]\nurl = \"x\"\n", &[]).unwrap_err();
    assert_eq!(err.place, "[databse]");
}

#[test]
fn only_loaded_sections_are_validated() {
    // A broken [inbox] must not stop a command that needs only [database].
    let c = load(
        "[inbox]\nkind = \"pigeon\"\n[database]\nurl = \"sqlite://x.db\"\n",
        &[],
    )
    .unwrap();
    assert!(c.database().is_ok());
    assert!(c.inbox().is_err());
}

#[test]
fn environment_overrides_file_with_typed_values() {
    let c = load(
        "[database]\nurl = \"sqlite://file.db\"\n[relay]\nwaves = 2\n",
        &[
            ("CIRCLE_RELAY_DATABASE_URL", "postgres://u:p@127.0.0.1:1/db"),
            ("CIRCLE_RELAY_RELAY_WAVES", "4"),
            ("CIRCLE_RELAY_INBOX_IDLE", "false"),
            ("CIRCLE_RELAY_CIRCLE_ADMINS", "a@example.org, b@example.org"),
            ("CIRCLE_RELAY_SECURITY_TOKEN_SECRET", "0123456789abcdef0123"),
            ("CIRCLE_RELAY_INBOX_PASSWORD", "123456"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert!(c.database().unwrap().url.is_postgres());
    assert_eq!(c.relay().unwrap().waves, 4);
    assert!(!c.inbox().unwrap().idle);
    assert_eq!(c.inbox().unwrap().password.expose(), "123456");
    assert_eq!(
        c.circle().unwrap().admins,
        vec!["a@example.org", "b@example.org"]
    );
    assert_eq!(c.token_secret().unwrap().expose(), "0123456789abcdef0123");
}

#[test]
fn bad_environment_value_names_the_variable() {
    let err = load("", &[("CIRCLE_RELAY_RELAY_WAVES", "many")]).unwrap_err();
    assert!(err.origin.contains("CIRCLE_RELAY_RELAY_WAVES"), "{err}");
    let err = load("", &[("CIRCLE_RELAY_RELAY_WAVEZ", "3")])
        .unwrap()
        .relay()
        .unwrap_err();
    assert!(err.origin.contains("CIRCLE_RELAY_RELAY_WAVEZ"), "{err}");
}

#[test]
fn validation_errors_are_specific() {
    let c = load(
        "[circle]\ntimezone = \"Mars/Olympus\"\naddress = \"circle@x.org\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.circle().unwrap_err().place, "[circle] timezone");
    let c = load("[digest]\nweekday = \"funday\"\n", &[]).unwrap();
    assert_eq!(c.digest().unwrap_err().place, "[digest] weekday");
    let c = load("[database]\nurl = \"mysql://x\"\n", &[]).unwrap();
    assert_eq!(c.database().unwrap_err().place, "[database] url");
    let c = load("", &[]).unwrap();
    assert_eq!(
        c.token_secret().unwrap_err().place,
        "[security] token_secret"
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let c = load(
        "[inbox]\npassword = \"hunter2\"\n[security]\ntoken_secret = \"hunter2hunter2hunter2\"\n",
        &[],
    )
    .unwrap();
    let dbg = format!("{:?} {:?}", c.inbox().unwrap(), c.security().unwrap());
    assert!(!dbg.contains("hunter2"), "{dbg}");
}

/// The error `validate_all` finds in a config file of `text`.
fn invalid(text: &str) -> ConfigError {
    load(text, &[]).unwrap().validate_all().unwrap_err()
}

const OAUTH_INBOX: &str = "[inbox]\nkind = \"imap\"\nhost = \"imap.example.org\"\nusername = \"circle@example.org\"\nauth = \"xoauth2\"\n";

#[test]
fn oauth2_keys_are_checked_for_the_provider_and_name_section_and_key() {
    let e = invalid(&format!(
        "{OAUTH_INBOX}[oauth2]\nprovider = \"microsoft\"\nclient_id = \"app\"\n"
    ));
    assert_eq!(e.place, "[oauth2] tenant_id");
    assert!(e.message.contains("microsoft"), "{e}");
    let e = invalid(&format!(
        "{OAUTH_INBOX}[oauth2]\nprovider = \"generic\"\nclient_id = \"app\"\ntoken_url = \"http://idp.example.org/token\"\n"
    ));
    assert_eq!(e.place, "[oauth2] token_url");
    assert!(e.message.contains("https"), "{e}");
    let e = invalid(&format!("{OAUTH_INBOX}[oauth2]\nprovider = \"yahoo\"\n"));
    assert_eq!(e.place, "[oauth2] provider");
}

#[test]
fn oauth2_secret_comes_from_the_environment_and_is_never_shown() {
    let text = format!(
        "{OAUTH_INBOX}[oauth2]\nprovider = \"microsoft\"\ntenant_id = \"t\"\nclient_id = \"app\"\n"
    );
    let c = load(
        &text,
        &[("CIRCLE_RELAY_OAUTH2_CLIENT_SECRET", "s3cr3t-value")],
    )
    .unwrap();
    let o = c.oauth2().unwrap();
    assert_eq!(o.client_secret.expose(), "s3cr3t-value");
    assert_eq!(
        o.mailbox, "circle@example.org",
        "mailbox defaults to the inbox username"
    );
    assert!(!format!("{o:?}").contains("s3cr3t-value"));
    // Loopback may be plain http (tests); a password-only config ignores [oauth2].
    let local = load(
        "[oauth2]\nprovider = \"generic\"\nclient_id = \"a\"\ntoken_url = \"http://127.0.0.1:9/token\"\nmailbox = \"m@x.org\"\n",
        &[],
    )
    .unwrap();
    local.validate_all().unwrap();
    local.oauth2().unwrap();
}

#[test]
fn unknown_key_points_at_its_line_with_a_caret_and_a_suggestion() {
    let text = "# my circle\n[circle]\nname = \"C\"\n\n[inbox]\nkind = \"maildir\"\npath = \"m\"\npoll_secs = 5\n";
    let err = load(text, &[]).unwrap().inbox().unwrap_err();
    let at = err.location.clone().expect("a location in the file");
    assert_eq!((at.line, at.column, at.width), (8, 1, 9), "{err}");
    assert_eq!(err.help.as_deref(), Some("did you mean `poll_seconds`?"));
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines[0].contains(":8:1: [inbox] poll_secs: unknown field `poll_secs`"),
        "{shown}"
    );
    assert_eq!(
        lines[1..4],
        ["  |", "8 | poll_secs = 5", "  | ^^^^^^^^^"],
        "{shown}"
    );
    assert_eq!(
        lines[4], "  = help: did you mean `poll_seconds`?",
        "{shown}"
    );
}

#[test]
fn wrong_value_points_at_the_value() {
    let err = load("[inbox]\n\nport = \"imap\"\n", &[])
        .unwrap()
        .inbox()
        .unwrap_err();
    let at = err.location.clone().unwrap();
    assert_eq!((at.line, at.column, at.width), (3, 8, 6), "{err}");
    let err = load("[circle]\ntimezone = \"Mars/Olympus\"\n", &[])
        .unwrap()
        .circle()
        .unwrap_err();
    assert_eq!(err.location.unwrap().line, 2);
}

#[test]
fn syntax_error_keeps_the_diagram_on_its_own_lines() {
    let err = load("[inbox]\nkind = \"maildir\n", &[]).unwrap_err();
    assert_eq!(err.location.as_ref().unwrap().line, 2, "{err}");
    assert!(err.to_string().lines().count() >= 4, "{err}");
}

#[test]
fn environment_errors_name_the_variable_and_no_line() {
    let err = load(
        "[inbox]\nkind = \"maildir\"\npath = \"m\"\n",
        &[("CIRCLE_RELAY_INBOX_PORT", "99999")],
    )
    .unwrap()
    .inbox()
    .unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with("environment variable CIRCLE_RELAY_INBOX_PORT: [inbox] port:"),
        "{shown}"
    );
    assert!(!shown.contains("line"), "{shown}");
    assert!(err.location.is_none());
    let err = load("", &[("CIRCLE_RELAY_INBOX_POLL_SECS", "5")])
        .unwrap()
        .inbox()
        .unwrap_err();
    assert!(err.origin.contains("CIRCLE_RELAY_INBOX_POLL_SECS"), "{err}");
    assert_eq!(err.help.as_deref(), Some("did you mean `poll_seconds`?"));
}

#[test]
fn unknown_section_suggests_the_real_one() {
    let err = load("\n[databse]\nurl = \"x\"\n", &[]).unwrap_err();
    assert_eq!(err.location.as_ref().unwrap().line, 2);
    assert_eq!(err.help.as_deref(), Some("did you mean `[database]`?"));
}
