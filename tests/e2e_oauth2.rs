//! The daemon signs in with OAuth2 (XOAUTH2) to a real Dovecot (oauth2
//! passdb) and a real Postfix (XOAUTH2 through Dovecot's SASL), against a
//! stand-in identity provider of short-lived tokens (tests/oauth2_support).
//! Each test has its own OAuth client, mailboxes and database.

#[path = "common/mod.rs"]
mod common;
#[path = "oauth2_support/mod.rs"]
mod idp;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use idp::CLIENT_SECRET;

const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");

struct Circle {
    dir: tempfile::TempDir,
    config: PathBuf,
    relay: String,
    client: String,
    listen: String,
    db_url: String,
    /// `[outbound] port` and `auth`: XOAUTH2 on the submission port by default.
    outbound: (u16, &'static str),
}

impl Circle {
    /// A circle reading `relay@oauth.test` whose one member is `nurse`.
    fn new(tag: &str, refresh: &str, http_port: u16) -> Self {
        idp::require_servers();
        let relay = format!("relay{tag}");
        for u in [
            relay.as_str(),
            &format!("nurse{tag}"),
            &format!("asker{tag}"),
        ] {
            idp::reset_user(u);
        }
        let dir = tempfile::tempdir().unwrap();
        let client = format!("client{tag}");
        let circle = Self {
            outbound: (idp::SUBMISSION_PORT, "xoauth2"),
            db_url: format!("sqlite://{}", dir.path().join("relay.db").display()),
            config: dir.path().join("circle-relay.toml"),
            relay,
            client,
            listen: format!("127.0.0.1:{http_port}"),
            dir,
        };
        circle.write_config(refresh);
        circle.import_members(tag);
        circle
    }

    fn import_members(&self, tag: &str) {
        let circle = self;
        let csv = circle.dir.path().join("members.csv");
        std::fs::write(
            &csv,
            format!("email,name,skills,bio,languages,region,status\nnurse{tag}@oauth.test,Amy Clark,registered nurse;first aid instructor,Nurse.,en,Tokyo,\n"),
        )
        .unwrap();
        let out = circle.command(&["members", "import", csv.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Moves the circle to another database (members imported again).
    fn use_database(&mut self, url: &str, refresh: &str, tag: &str) {
        self.db_url = url.to_string();
        self.write_config(refresh);
        self.import_members(tag);
    }

    fn write_config(&self, refresh: &str) {
        self.write_config_with(refresh, "");
    }

    fn write_config_with(&self, refresh: &str, extra_oauth2: &str) {
        std::fs::write(
            &self.config,
            format!(
                "[circle]\nname = \"Care Circle\"\naddress = \"{relay}@oauth.test\"\nadmins = [\"admin{tag}@oauth.test\"]\nposting = \"anyone\"\nlanguage = \"en\"\n\
                 [database]\nurl = \"{db}\"\n\
                 [inbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap}\ntls = \"none\"\nusername = \"{relay}@oauth.test\"\nauth = \"xoauth2\"\nlease_seconds = 3\n\
                 [outbound]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\nauth = \"{smtp_auth}\"\n\
                 [oauth2]\nprovider = \"generic\"\ntoken_url = \"http://127.0.0.1:{idp}/token\"\nclient_id = \"{client}\"\nrefresh_token = \"{refresh}\"\n{extra_oauth2}\
                 [security]\ntoken_secret = \"an-end-to-end-secret\"\n\
                 [server]\nlisten = \"{listen}\"\n",
                relay = self.relay,
                db = self.db_url,
                imap = idp::IMAP_PORT,
                smtp = self.outbound.0,
                smtp_auth = self.outbound.1,
                tag = self.relay.trim_start_matches("relay"),
                idp = idp::IDP_PORT,
                client = self.client,
                listen = self.listen,
            ),
        )
        .unwrap();
    }

    fn command(&self, args: &[&str]) -> std::process::Output {
        self.command_logging(args, "info")
    }

    fn command_logging(&self, args: &[&str], level: &str) -> std::process::Output {
        Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("CIRCLE_RELAY_OAUTH2_CLIENT_SECRET", CLIENT_SECRET)
            .env("RUST_LOG", level)
            .output()
            .unwrap()
    }

    /// `circle-relay run`, its log (info level) going to `log_name`.
    fn run(&self, log_name: &str) -> Daemon {
        self.run_with(log_name, &[])
    }

    fn run_with(&self, log_name: &str, env: &[(&str, &str)]) -> Daemon {
        let log = self.dir.path().join(log_name);
        let child = Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env("CIRCLE_RELAY_OAUTH2_CLIENT_SECRET", CLIENT_SECRET)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn user(&self, role: &str) -> String {
        format!("{role}{}", self.relay.trim_start_matches("relay"))
    }

    async fn request(&self, n: u32) {
        let asker = self.user("asker");
        idp::deliver(
            &format!("{asker}@oauth.test"),
            &format!("{}@oauth.test", self.relay),
            &format!("Nurse for first aid, week {n}"),
            &format!("oauth-{}-{n}@oauth.test", self.relay),
            "We need a registered nurse to teach first aid to our volunteers.",
        )
        .await;
    }

    /// Waits until the nurse holds `n` forwards and the asker `n` acknowledgements.
    async fn until_delivered(&self, n: usize) {
        let (nurse, asker) = (self.user("nurse"), self.user("asker"));
        idp::until(&format!("{n} forwards and acknowledgements"), || {
            idp::inbox_count(&nurse) >= n && idp::inbox_count(&asker) >= n
        })
        .await;
    }

    fn delivered(&self) -> (usize, usize) {
        (
            idp::inbox_count(&self.user("nurse")),
            idp::inbox_count(&self.user("asker")),
        )
    }

    async fn healthz(&self) -> (String, String) {
        common::http_get(&self.listen, "/healthz").await
    }
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        self.log()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// No access token, refresh token or client secret in `text`.
fn assert_no_secrets(client: &str, text: &str, what: &str) {
    use base64::Engine;
    let mut secrets = idp::all_secrets(client);
    secrets.push(CLIENT_SECRET.to_string());
    // Nor the XOAUTH2 exchange's base64 of them.
    let n = client.trim_start_matches("client");
    let encoded: Vec<String> = secrets
        .iter()
        .map(|s| {
            base64::engine::general_purpose::STANDARD.encode(format!(
                "user=relay{n}@oauth.test\x01auth=Bearer {s}\x01\x01"
            ))
        })
        .collect();
    secrets.extend(encoded);
    for s in secrets {
        assert!(!text.contains(&s), "{what} shows a secret ({s}):\n{text}");
    }
}

async fn stored_refresh_is(circle: &Circle, want: &str) {
    // The database is read through sqlx, so no sqlite3 binary is needed.
    let store = common::store_at(&circle.db_url).await;
    let row: (String,) = sqlx::query_as("SELECT refresh_token FROM oauth2_grants")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.0, want, "the stored refresh token is the newest one");
    store.close().await;
}

#[tokio::test]
async fn reads_and_sends_with_short_lived_tokens_rotating_refresh_tokens_across_a_restart() {
    let circle = Circle::new("1", "rt-client1-0", 11191);
    // Access tokens live 3 s; every refresh rotates the refresh token.
    idp::register(&circle.client, "relay1@oauth.test", "rt-client1-0", 3, true);

    let check = circle.command(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout).to_string();
    assert!(
        check.status.success(),
        "check failed:\n{said}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        said.contains("OAuth2: signed in as relay1@oauth.test as the grant of client client1; the access token expires at"),
        "{said}"
    );
    assert!(
        said.contains("IMAP relay1@oauth.test@127.0.0.1:11143 folder INBOX: logged in"),
        "{said}"
    );
    assert!(said.contains("SMTP 127.0.0.1:11125: reachable"), "{said}");
    // check stored the refresh token the provider rotated, as run does.
    stored_refresh_is(&circle, &idp::current_refresh(&circle.client)).await;

    let daemon = circle.run("run-1.log");
    circle.request(1).await;
    circle.until_delivered(1).await;
    // The tokens run out; the server drops the session; the reader signs in again.
    let before = idp::issued(&circle.client);
    idp::until("the access tokens to expire", || {
        idp::all_expired(&circle.client)
    })
    .await;
    idp::kick("relay1@oauth.test");
    circle.request(2).await;
    circle.until_delivered(2).await;
    assert!(
        idp::issued(&circle.client) > before,
        "a fresh access token was fetched"
    );
    let first_log = daemon.stop();
    assert_eq!(circle.delivered(), (2, 2), "nothing lost, nothing doubled");
    stored_refresh_is(&circle, &idp::current_refresh(&circle.client)).await;

    // The configured refresh token is spent; the restarted daemon uses the stored one.
    let daemon = circle.run("run-2.log");
    circle.request(3).await;
    circle.until_delivered(3).await;
    let second_log = daemon.stop();
    assert_eq!(circle.delivered(), (3, 3));
    assert!(!second_log.contains("revoked"), "{second_log}");
    for (what, text) in [
        ("check", said.as_str()),
        ("run", &first_log),
        ("restarted run", &second_log),
    ] {
        assert_no_secrets(&circle.client, text, what);
    }
    assert!(
        first_log.contains("rotated the OAuth2 refresh token"),
        "{first_log}"
    );
}

#[tokio::test]
async fn a_revoked_grant_is_reported_mail_waits_and_a_new_grant_lets_it_flow() {
    let circle = Circle::new("2", "rt-client2-0", 11192);
    idp::register(&circle.client, "relay2@oauth.test", "rt-client2-0", 3, true);
    let daemon = circle.run("run-1.log");
    circle.request(1).await;
    circle.until_delivered(1).await;

    idp::revoke(&circle.client);
    idp::kick("relay2@oauth.test");
    circle.request(2).await;
    idp::until("the revoked grant in the log", || {
        daemon
            .log()
            .contains("the refresh token was revoked or has expired: run circle-relay auth login")
    })
    .await;
    let (status, body) = circle.healthz().await;
    assert!(status.contains("200"), "{status}");
    assert!(
        body.starts_with("degraded\noauth2: the refresh token was revoked"),
        "{body}"
    );
    idp::until("the request waiting in the relay's inbox", || {
        idp::inbox_count("relay2") == 1
    })
    .await;
    assert_eq!(
        circle.delivered(),
        (1, 1),
        "nothing went out while signed out"
    );
    let log = daemon.stop();
    assert_eq!(
        log.matches("OAuth2 sign-in fails").count(),
        1,
        "reported once, not on every retry:\n{log}"
    );

    let check = circle.command(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout).to_string();
    assert!(!check.status.success());
    assert!(said.contains("FAIL OAuth2 (relay2@oauth.test as the grant of client client2): the refresh token was revoked"), "{said}");

    // A new grant, configured by the admin, wins over the stored chain.
    idp::grant_again(&circle.client, "rt-client2-new");
    circle.write_config("rt-client2-new");
    let daemon = circle.run("run-2.log");
    circle.until_delivered(2).await;
    let after = daemon.stop();
    assert_eq!(
        circle.delivered(),
        (2, 2),
        "the waiting request went out once"
    );
    assert_eq!(idp::inbox_count("relay2"), 0, "the inbox was read");
    for (what, text) in [
        ("run", log.as_str()),
        ("check", &said),
        ("run after the new grant", &after),
    ] {
        assert_no_secrets(&circle.client, text, what);
    }
}

#[tokio::test]
async fn a_refused_token_logs_the_servers_decoded_reason() {
    let circle = Circle::new("3", "rt-client3-0", 11193);
    // The provider issues tokens for another mailbox: Dovecot refuses them.
    idp::register(
        &circle.client,
        "someone-else@oauth.test",
        "rt-client3-0",
        60,
        false,
    );
    let check = circle.command(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout).to_string();
    let log = String::from_utf8_lossy(&check.stderr).to_string();
    assert!(!check.status.success());
    assert!(
        said.contains("XOAUTH2 token refused") && said.contains("status 401"),
        "{said}"
    );
    assert!(
        log.contains("the mail server refused the OAuth2 access token"),
        "{log}"
    );
    assert!(
        log.contains("schemes bearer, scope mail, status 401"),
        "{log}"
    );
    assert!(said.contains("SMTP 127.0.0.1:11125: temporary failure: XOAUTH2 token refused: schemes bearer, scope mail, status 401"), "{said}");
    assert_no_secrets(&circle.client, &format!("{said}{log}"), "check");
}

#[tokio::test]
async fn auth_login_stores_the_grant_a_person_gave_in_the_browser() {
    use std::io::BufRead;
    let circle = Circle::new("4", "", 11194);
    idp::register(&circle.client, "relay4@oauth.test", "", 60, false);
    circle.write_config_with(
        "",
        &format!(
            "auth_url = \"http://127.0.0.1:{}/authorize\"\n",
            idp::IDP_PORT
        ),
    );
    let before = circle.command(&["check"]);
    let said = String::from_utf8_lossy(&before.stdout).to_string();
    assert!(
        said.contains("there is no refresh token yet: run circle-relay auth login"),
        "{said}"
    );

    let mut login = Command::new(BIN)
        .arg("--config")
        .arg(&circle.config)
        .args(["auth", "login", "--wait-seconds", "30"])
        .env("CIRCLE_RELAY_OAUTH2_CLIENT_SECRET", CLIENT_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(login.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let url = loop {
        let line = lines
            .next()
            .expect("auth login printed the address")
            .unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(u) = line
            .trim()
            .strip_prefix("http://127.0.0.1:11180/authorize?")
        {
            break u.to_string();
        }
    };
    // The browser: the provider sends it back to the redirect address with a code.
    let q: std::collections::HashMap<String, String> = url::form_urlencoded::parse(url.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["login_hint"], "relay4@oauth.test");
    let back = q["redirect_uri"]
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let (status, page) =
        common::http_get(&back, &format!("/?state={}&code=code-client4", q["state"])).await;
    assert!(
        status.contains("200") && page.contains("Signed in"),
        "{status} {page}"
    );
    for line in lines {
        printed.push_str(&line.unwrap());
        printed.push('\n');
    }
    let done = login.wait().unwrap();
    assert!(done.success(), "{printed}");
    assert!(
        printed.contains("The grant for relay4@oauth.test is stored in the database"),
        "{printed}"
    );
    stored_refresh_is(&circle, "rt-client4-login").await;

    let after = circle.command(&["check"]);
    let said = String::from_utf8_lossy(&after.stdout).to_string();
    assert!(after.status.success(), "{said}");
    assert!(
        said.contains("OAuth2: signed in as relay4@oauth.test"),
        "{said}"
    );
    assert_no_secrets(
        &circle.client,
        &format!("{printed}{said}"),
        "auth login and check",
    );
}

#[tokio::test]
async fn a_second_replica_on_postgresql_uses_the_rotated_refresh_token() {
    let mut circle = Circle::new("5", "rt-client5-0", 11195);
    circle.use_database(&common::fresh_postgres_url().await, "rt-client5-0", "5");
    idp::register(&circle.client, "relay5@oauth.test", "rt-client5-0", 3, true);
    let first = circle.run("first.log");
    circle.request(1).await;
    circle.until_delivered(1).await;
    assert_ne!(
        idp::current_refresh(&circle.client),
        "rt-client5-0",
        "the first replica rotated it"
    );
    // A second replica on the same database; the first one stops and the
    // second takes the inbox over, signing in with the stored refresh token.
    let second = circle.run_with(
        "second.log",
        &[("CIRCLE_RELAY_SERVER_LISTEN", "127.0.0.1:11196")],
    );
    let first_log = first.stop();
    idp::until("the first replica's tokens to expire", || {
        idp::all_expired(&circle.client)
    })
    .await;
    circle.request(2).await;
    circle.until_delivered(2).await;
    let second_log = second.stop();
    assert_eq!(circle.delivered(), (2, 2), "nothing lost, nothing doubled");
    assert!(!second_log.contains("revoked"), "{second_log}");
    assert!(
        second_log.contains("took the inbox over") || second_log.contains("IMAP inbox connected"),
        "{second_log}"
    );
    stored_refresh_is(&circle, &idp::current_refresh(&circle.client)).await;
    for (what, text) in [
        ("first replica", first_log.as_str()),
        ("second replica", &second_log),
    ] {
        assert_no_secrets(&circle.client, text, what);
    }
}

#[tokio::test]
async fn a_token_endpoint_in_trouble_is_retried_while_mail_waits() {
    let circle = Circle::new("6", "rt-client6-0", 11197);
    idp::register(
        &circle.client,
        "relay6@oauth.test",
        "rt-client6-0",
        60,
        false,
    );
    idp::unavailable_for(&circle.client, 3);
    circle.request(1).await;
    let daemon = circle.run("run.log");
    circle.until_delivered(1).await;
    let log = daemon.stop();
    assert_eq!(circle.delivered(), (1, 1));
    assert_eq!(
        log.matches("OAuth2 token request failed; retrying").count(),
        3,
        "three 503s, each retried:\n{log}"
    );
    assert!(
        !log.contains("OAuth2 sign-in fails"),
        "a passing trouble is no grant problem:\n{log}"
    );
    assert_no_secrets(&circle.client, &log, "run");
}

#[tokio::test]
async fn the_admins_are_mailed_once_when_sending_still_works() {
    let mut circle = Circle::new("7", "rt-client7-0", 11198);
    // Mail goes out without OAuth2 (the Postfix port without AUTH).
    circle.outbound = (idp::INJECT_PORT, "password");
    circle.write_config("rt-client7-0");
    idp::register(
        &circle.client,
        "relay7@oauth.test",
        "rt-client7-0",
        60,
        true,
    );
    idp::reset_user("admin7");
    idp::revoke(&circle.client);
    let daemon = circle.run("run.log");
    circle.request(1).await;
    idp::until("the notice in the admin's inbox", || {
        idp::inbox_count("admin7") == 1
    })
    .await;
    let notice = std::fs::read_dir(idp::maildir("admin7").join("new"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(
        notice.contains("Subject: [Care Circle] OAuth2 sign-in fails"),
        "{notice}"
    );
    assert!(
        notice.contains("the refresh token was revoked or has expired"),
        "{notice}"
    );
    // The watcher looks every 5 s: wait for its next look, then count again.
    idp::until("the reader to try again", || {
        daemon.log().matches("IMAP connection failed").count() >= 3
    })
    .await;
    let log = daemon.stop();
    assert_eq!(idp::inbox_count("admin7"), 1, "told once:\n{log}");
    assert_eq!(
        idp::inbox_count("relay7"),
        1,
        "the request waits on the server"
    );
    assert_no_secrets(
        &circle.client,
        &format!("{log}{notice}"),
        "run and the notice",
    );
}
