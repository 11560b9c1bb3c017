//! The files under deploy/ stay true to the program: every provider sample
//! loads and validates with its secrets given by the environment (and holds
//! none itself), and the systemd unit and the container start a real command.

use std::path::{Path, PathBuf};

use circle_relay::cli::{Cli, Command};
use circle_relay::config::{
    AuthMethod, Config, InboxKind, OAuth2Provider, OutboundKind, SAMPLE, Tls,
};
use clap::Parser;

const INBOX_PASSWORD: &str = "inbox-app-password";
const OUTBOUND_PASSWORD: &str = "outbound-app-password";
const TOKEN_SECRET: &str = "a-token-secret-of-forty-characters-000000";
const CLIENT_SECRET: &str = "oauth2-client-secret";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn providers() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy/providers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no deploy/providers/*.toml");
    files
}

fn secrets() -> Vec<(String, String)> {
    [
        ("CIRCLE_RELAY_INBOX_PASSWORD", INBOX_PASSWORD),
        ("CIRCLE_RELAY_OUTBOUND_PASSWORD", OUTBOUND_PASSWORD),
        ("CIRCLE_RELAY_SECURITY_TOKEN_SECRET", TOKEN_SECRET),
        ("CIRCLE_RELAY_OAUTH2_CLIENT_SECRET", CLIENT_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn load(path: &Path, env: Vec<(String, String)>) -> Config {
    Config::load_from(Some(path), env).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn provider_configs_validate_with_secrets_from_the_environment() {
    for path in providers() {
        let name = path.display();
        let config = load(&path, secrets());
        // Every section `run` reads, each through its own validating accessor.
        config
            .validate_all()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        config.circle().unwrap_or_else(|e| panic!("{name}: {e}"));
        config.database().unwrap_or_else(|e| panic!("{name}: {e}"));
        config.matching().unwrap_or_else(|e| panic!("{name}: {e}"));
        config.relay().unwrap_or_else(|e| panic!("{name}: {e}"));
        config.digest().unwrap_or_else(|e| panic!("{name}: {e}"));
        config.log().unwrap_or_else(|e| panic!("{name}: {e}"));
        config.server().unwrap_or_else(|e| panic!("{name}: {e}"));
        let secret = config
            .token_secret()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(secret.expose(), TOKEN_SECRET, "{name}");

        // A real provider: IMAP in, SMTP out, both over TLS, both logged in.
        let inbox = config.inbox().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(inbox.kind, InboxKind::Imap, "{name}");
        assert_ne!(inbox.tls, Tls::None, "{name}: inbox without TLS");
        assert!(!inbox.username.is_empty(), "{name}");
        let outbound = config.outbound().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(outbound.kind, OutboundKind::Smtp, "{name}");
        assert_ne!(outbound.tls, Tls::None, "{name}: SMTP without TLS");
        assert!(!outbound.username.is_empty(), "{name}");
        assert_eq!(inbox.auth, outbound.auth, "{name}: one way to sign in");
        if inbox.auth == AuthMethod::Xoauth2 {
            check_oauth2(&config, &inbox.username, &name.to_string());
        } else {
            assert_eq!(inbox.password.expose(), INBOX_PASSWORD, "{name}");
            assert_eq!(outbound.password.expose(), OUTBOUND_PASSWORD, "{name}");
        }

        let db = config.database().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            db.url.is_sqlite() || db.url.is_postgres(),
            "{name}: {}",
            db.url
        );
    }
}

/// An OAuth2 sample: its provider's grant, for the inbox's mailbox, and the
/// client secret (where it takes one) from the environment.
fn check_oauth2(config: &Config, username: &str, name: &str) {
    let o = config.oauth2().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        o.mailbox, username,
        "{name}: the app acts as the inbox's mailbox"
    );
    match o.provider {
        OAuth2Provider::Microsoft => {
            assert_eq!(o.client_secret.expose(), CLIENT_SECRET, "{name}");
            let grant = circle_relay::oauth2::grant::Grant::from_config(&o).unwrap();
            assert!(
                grant
                    .token_url
                    .starts_with("https://login.microsoftonline.com/")
                    && grant.scope == "https://outlook.office365.com/.default",
                "{name}: {grant:?}"
            );
        }
        OAuth2Provider::Google => {
            assert!(
                o.service_account_key.starts_with("/etc/circle-relay/"),
                "{name}"
            );
        }
        OAuth2Provider::Generic => panic!("{name}: a provider sample names its provider"),
    }
}

#[test]
fn provider_configs_hold_no_secret() {
    for path in providers() {
        let name = path.display();
        // Only this process's CIRCLE_RELAY_ variables would leak in: pass none.
        let config = load(&path, vec![]);
        assert!(config.inbox().unwrap().password.is_empty(), "{name}");
        assert!(config.outbound().unwrap().password.is_empty(), "{name}");
        let text = std::fs::read_to_string(&path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        if let Some(o) = table.get("oauth2").and_then(|o| o.as_table()) {
            for key in ["client_secret", "refresh_token"] {
                let v = o.get(key).and_then(|v| v.as_str()).unwrap_or("");
                assert!(
                    v.is_empty(),
                    "{name}: [oauth2] {key} belongs in the environment"
                );
            }
        }
        let err = config.token_secret().unwrap_err();
        assert_eq!(err.place, "[security] token_secret", "{name}: {err}");
        // The database URL carries no password either.
        let url = config.database().unwrap().url;
        assert_eq!(url.expose(), url.redacted(), "{name}");
    }
}

#[test]
fn provider_configs_name_real_environment_variables() {
    let sample: toml::Table = toml::from_str(SAMPLE).unwrap();
    for path in providers() {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display();
        let oauth2 = text.contains("auth = \"xoauth2\"");
        let needed: &[&str] = if oauth2 {
            &[
                "CIRCLE_RELAY_OAUTH2_CLIENT_SECRET",
                "CIRCLE_RELAY_SECURITY_TOKEN_SECRET",
            ]
        } else {
            &[
                "CIRCLE_RELAY_INBOX_PASSWORD",
                "CIRCLE_RELAY_OUTBOUND_PASSWORD",
                "CIRCLE_RELAY_SECURITY_TOKEN_SECRET",
            ]
        };
        for var in needed {
            assert!(text.contains(var), "{name} does not document {var}");
        }
        // Every CIRCLE_RELAY_<SECTION>_<KEY> it mentions is a key of the sample.
        for (i, _) in text.match_indices("CIRCLE_RELAY_") {
            let var: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let rest = var.trim_start_matches("CIRCLE_RELAY_").to_ascii_lowercase();
            if rest.is_empty() {
                continue; // the CIRCLE_RELAY_<SECTION>_<KEY> pattern itself
            }
            let (section, key) = rest.split_once('_').unwrap_or((&rest, ""));
            let known = sample
                .get(section)
                .and_then(|s| s.as_table())
                .is_some_and(|s| s.contains_key(key));
            assert!(known, "{name} mentions {var}, which is no config key");
        }
    }
}

/// The words after the binary in a command line; ExecStart= takes no shell
/// quoting here, so whitespace splitting is exact.
fn args_of(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn unit() -> String {
    std::fs::read_to_string(repo().join("deploy/systemd/circle-relay.service")).unwrap()
}

fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
        .collect()
}

#[test]
fn systemd_unit_runs_the_daemon() {
    let unit = unit();
    let exec = unit_values(&unit, "ExecStart");
    assert_eq!(exec.len(), 1, "one ExecStart: {exec:?}");
    let args = args_of(&exec[0]);
    assert!(
        args[0].starts_with('/') && args[0].ends_with("/circle-relay"),
        "ExecStart needs the binary's absolute path: {}",
        args[0]
    );
    let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{}: {e}", exec[0]));
    assert!(matches!(cli.command, Command::Run), "{:?}", cli.command);
    assert_eq!(
        cli.config.as_deref(),
        Some(Path::new("/etc/circle-relay/circle-relay.toml"))
    );
}

#[test]
fn systemd_unit_is_hardened() {
    let unit = unit();
    for (key, want) in [
        ("StateDirectory", "circle-relay"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
        ("MemoryDenyWriteExecute", "yes"),
        ("LockPersonality", "yes"),
        ("CapabilityBoundingSet", ""),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
    ] {
        let values = unit_values(&unit, key);
        assert!(
            values.iter().any(|v| v == want),
            "{key}={want} missing (have {values:?})"
        );
    }
    assert!(!unit_values(&unit, "TimeoutStopSec").is_empty());
    assert!(
        !unit_values(&unit, "User").is_empty() || unit_values(&unit, "DynamicUser") == ["yes"],
        "the unit must not run as root"
    );
}

/// `systemd-analyze verify` where the machine has it, on a copy of the unit
/// that points at the binary just built.
#[test]
fn systemd_unit_verifies() {
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("systemd-analyze not installed; skipped");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("circle-relay.service");
    let text = unit().replace(
        "/usr/local/bin/circle-relay",
        env!("CARGO_BIN_EXE_circle-relay"),
    );
    std::fs::write(&copy, text).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Lines about the copy itself; other units on the machine are not ours.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("circle-relay.service"))
        .collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify: {stderr}"
    );
}

#[test]
fn container_starts_the_daemon() {
    let file = std::fs::read_to_string(repo().join("deploy/container/Containerfile")).unwrap();
    let json_of = |instr: &str| -> Vec<String> {
        let line = file
            .lines()
            .find_map(|l| l.strip_prefix(instr))
            .unwrap_or_else(|| panic!("no {instr}"));
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{instr} {line}: {e}"))
    };
    let mut args = json_of("ENTRYPOINT ");
    assert_eq!(args, ["circle-relay"]);
    args.extend(json_of("CMD "));
    let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(matches!(cli.command, Command::Run), "{:?}", cli.command);
    assert!(file.contains("cargo build --release --locked"));
    assert!(file.contains("VOLUME [\"/data\"]"));
    assert!(
        file.lines()
            .any(|l| l.starts_with("USER ") && !l.contains("root")),
        "the container must not run as root"
    );
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim() == "target/"), "{ignore}");
}
