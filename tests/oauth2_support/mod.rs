//! The OAuth2 test servers (deploy/oauth2-test: a Dovecot whose oauth2 passdb
//! asks us, a Postfix whose submission port takes XOAUTH2 through Dovecot)
//! and the identity provider they cannot reach from here, played by this
//! process: a token endpoint that issues short-lived access tokens, rotates
//! refresh tokens and can be told to revoke a grant, and the RFC 7662
//! introspection endpoint Dovecot checks every login with.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

pub const IDP_PORT: u16 = 11180;
pub const IMAP_PORT: u16 = 11143;
pub const SUBMISSION_PORT: u16 = 11125;
pub const INJECT_PORT: u16 = 11126;
pub const CLIENT_SECRET: &str = "client-secret-never-shown-7Q2";

pub fn state_dir() -> PathBuf {
    std::env::var_os("OAUTH2_TEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/circle-relay-oauth-dovecot"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Starts the OAuth2 Dovecot and Postfix (idempotent) and our identity provider.
pub fn require_servers() {
    static UP: OnceLock<()> = OnceLock::new();
    UP.get_or_init(|| {
        let out = Command::new(repo().join("deploy/oauth2-test/up.sh"))
            .output()
            .expect("run deploy/oauth2-test/up.sh");
        assert!(
            out.status.success(),
            "deploy/oauth2-test/up.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        start_idp();
    });
}

/// One OAuth client of the identity provider, with the mailbox its tokens are for.
#[derive(Debug, Default)]
struct Client {
    mailbox: String,
    /// The refresh token that works now ("" when none does).
    refresh: String,
    /// Seconds an access token lives.
    lifetime: u64,
    rotate: bool,
    revoked: bool,
    /// Token requests still to answer 503 (the provider is having trouble).
    unavailable: u32,
    issued: u32,
    /// Access tokens handed out, with when they expire.
    tokens: Vec<(String, Instant)>,
}

static CLIENTS: Mutex<Option<HashMap<String, Client>>> = Mutex::new(None);

fn with_clients<T>(f: impl FnOnce(&mut HashMap<String, Client>) -> T) -> T {
    let mut guard = CLIENTS.lock().unwrap();
    f(guard.get_or_insert_with(HashMap::new))
}

/// Registers `client_id` for `mailbox`: its refresh token is `first_refresh`,
/// its access tokens live `lifetime` seconds, and each refresh rotates the
/// refresh token when `rotate`.
pub fn register(client_id: &str, mailbox: &str, first_refresh: &str, lifetime: u64, rotate: bool) {
    with_clients(|c| {
        c.insert(
            client_id.to_string(),
            Client {
                mailbox: mailbox.to_string(),
                refresh: first_refresh.to_string(),
                lifetime,
                rotate,
                ..Client::default()
            },
        )
    });
}

/// The user withdrew consent: the refresh token and every access token stop working.
pub fn revoke(client_id: &str) {
    with_clients(|c| {
        if let Some(cl) = c.get_mut(client_id) {
            cl.revoked = true;
            cl.refresh.clear();
        }
    });
}

/// A new grant (what `auth login` obtains): a fresh refresh token.
pub fn grant_again(client_id: &str, refresh: &str) {
    with_clients(|c| {
        if let Some(cl) = c.get_mut(client_id) {
            cl.revoked = false;
            cl.refresh = refresh.to_string();
        }
    });
}

/// The next `n` token requests of the client get 503.
pub fn unavailable_for(client_id: &str, n: u32) {
    with_clients(|c| {
        if let Some(cl) = c.get_mut(client_id) {
            cl.unavailable = n;
        }
    });
}

/// How many access tokens the client was issued.
pub fn issued(client_id: &str) -> u32 {
    with_clients(|c| c.get(client_id).map_or(0, |cl| cl.issued))
}

/// Whether every access token issued to the client has run out.
pub fn all_expired(client_id: &str) -> bool {
    with_clients(|c| {
        c.get(client_id)
            .is_some_and(|cl| cl.tokens.iter().all(|(_, e)| Instant::now() >= *e))
    })
}

/// The refresh token that works now.
pub fn current_refresh(client_id: &str) -> String {
    with_clients(|c| {
        c.get(client_id)
            .map(|cl| cl.refresh.clone())
            .unwrap_or_default()
    })
}

/// Every token (access and refresh) ever issued to the client, to check
/// that none leaks into output.
pub fn all_secrets(client_id: &str) -> Vec<String> {
    with_clients(|c| {
        let Some(cl) = c.get(client_id) else {
            return vec![];
        };
        let mut v: Vec<String> = cl.tokens.iter().map(|(t, _)| t.clone()).collect();
        v.extend((0..=cl.issued).map(|n| format!("rt-{client_id}-{n}")));
        v.push(format!("rt-{client_id}-login"));
        v
    })
}

fn start_idp() {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", IDP_PORT))
                .await
                .expect("the identity provider's port 11180 is free");
            let app = Router::new()
                .route("/token", post(token))
                .route("/introspect", post(introspect));
            ready_tx.send(()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("identity provider started");
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        // One request per connection, as Dovecot's HTTP client expects of
        // an introspection server that may close idle connections.
        [
            ("content-type", "application/json"),
            ("connection", "close"),
        ],
        value.to_string(),
    )
        .into_response()
}

async fn token(body: Bytes) -> Response {
    let f = form(&body);
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let client_id = get("client_id");
    with_clients(|c| {
        let Some(cl) = c.get_mut(&client_id) else {
            return json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"error": "invalid_client"}),
            );
        };
        if get("client_secret") != CLIENT_SECRET {
            return json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"error": "invalid_client", "error_description": "AADSTS7000222: The provided client secret keys are expired."}),
            );
        }
        if cl.unavailable > 0 {
            cl.unavailable -= 1;
            return json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": "temporarily_unavailable"}),
            );
        }
        let grant = get("grant_type");
        // `auth login`: the browser brought back code-CLIENT; PKCE's verifier must come with it.
        if grant == "authorization_code" {
            if get("code") != format!("code-{client_id}") || get("code_verifier").len() < 43 {
                return json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"error": "invalid_grant"}),
                );
            }
            cl.revoked = false;
            cl.refresh = format!("rt-{client_id}-login");
        }
        if grant == "refresh_token"
            && (cl.revoked || get("refresh_token") != cl.refresh || cl.refresh.is_empty())
        {
            return json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": "invalid_grant", "error_description": "The refresh token has been revoked."}),
            );
        }
        cl.issued += 1;
        let access = format!("at-{client_id}-{}", cl.issued);
        cl.tokens.push((
            access.clone(),
            Instant::now() + Duration::from_secs(cl.lifetime),
        ));
        let mut answer = serde_json::json!({
            "access_token": access, "token_type": "Bearer", "expires_in": cl.lifetime,
        });
        if grant == "refresh_token" && cl.rotate {
            cl.refresh = format!("rt-{client_id}-{}", cl.issued);
            answer["refresh_token"] = cl.refresh.clone().into();
        }
        if grant == "authorization_code" {
            answer["refresh_token"] = cl.refresh.clone().into();
        }
        json(StatusCode::OK, answer)
    })
}

async fn introspect(body: Bytes) -> Response {
    let f = form(&body);
    let token = f.get("token").cloned().unwrap_or_default();
    with_clients(|c| {
        let found = c.values().find_map(|cl| {
            let (_, expires) = cl.tokens.iter().find(|(t, _)| *t == token)?;
            (!cl.revoked && Instant::now() < *expires).then(|| cl.mailbox.clone())
        });
        match found {
            Some(user) => json(
                StatusCode::OK,
                serde_json::json!({"active": true, "username": user}),
            ),
            None => json(StatusCode::OK, serde_json::json!({"active": false})),
        }
    })
}

/// Ends `user`'s IMAP sessions, as a provider does when a token runs out.
pub fn kick(user: &str) {
    let conf = state_dir().join("dovecot/dovecot.conf");
    let _ = Command::new("doveadm")
        .arg("-c")
        .arg(conf)
        .args(["kick", user])
        .output();
}

pub fn maildir(user: &str) -> PathBuf {
    state_dir()
        .join("mail/oauth.test")
        .join(user)
        .join("Maildir")
}

/// Empties `user`'s mailbox (all folders).
pub fn reset_user(user: &str) {
    let _ = std::fs::remove_dir_all(state_dir().join("mail/oauth.test").join(user));
}

/// Messages in `user`'s INBOX.
pub fn inbox_count(user: &str) -> usize {
    ["new", "cur"]
        .iter()
        .map(|d| std::fs::read_dir(maildir(user).join(d)).map_or(0, |r| r.count()))
        .sum()
}

/// Waits (up to 30 s) for `cond`, panicking with `what` when it never holds.
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Delivers a message to `to` through the Postfix port without AUTH.
pub async fn deliver(from: &str, to: &str, subject: &str, message_id: &str, body: &str) {
    use lettre::address::Envelope;
    use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(INJECT_PORT)
        .build();
    let envelope = Envelope::new(
        Some(from.parse::<Address>().unwrap()),
        vec![to.parse::<Address>().unwrap()],
    )
    .unwrap();
    let raw = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\r\n{body}\r\n"
    );
    smtp.send_raw(&envelope, raw.as_bytes())
        .await
        .expect("deliver");
}
