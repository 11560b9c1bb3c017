//! `circle-relay auth login`: a person grants the relay access once, in a
//! browser, by the loopback-redirect flow with PKCE (RFC 8252, RFC 7636;
//! Google's device flow does not offer the mail scope). The refresh token it
//! yields is stored as the chain of the configured grant; nothing secret is
//! printed.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SecureRandom;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::OAuthError;
use super::chain::Chain;
use super::grant::Grant;
use super::http;
use crate::config::OAuth2Config;
use crate::store::Store;

/// What happened, for the command to print.
pub struct LoggedIn {
    pub mailbox: String,
    pub expires_in: u64,
}

/// Runs the flow: prints the steps to `say`, waits up to `within` for the
/// browser to come back, trades the code and stores the refresh token.
pub async fn login(
    config: &OAuth2Config,
    store: Store,
    within: Duration,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<LoggedIn, OAuthError> {
    let grant = Grant::from_config(config)?;
    needs_login(&grant)?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| OAuthError::Config(format!("cannot listen on 127.0.0.1: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| OAuthError::Config(e.to_string()))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let verifier = random_text()?;
    let state = random_text()?;
    let url = authorize_url(&grant, &redirect_uri, &verifier, &state)?;
    say(format!(
        "1. Open this address in a browser on this machine (or forward port {port} to it):\n\n   {url}\n"
    ));
    say(format!(
        "2. Sign in as {} and allow access to mail.",
        grant.mailbox
    ));
    say("3. The browser comes back to this command, which stores the grant.".into());
    let code = tokio::time::timeout(within, wait_for_code(&listener, &state))
        .await
        .map_err(|_| {
            OAuthError::Config(format!("no answer from the browser within {within:?}"))
        })??;
    let form = grant.code_form(&code, &redirect_uri, &verifier);
    let extra_ca = std::env::var_os("CIRCLE_RELAY_EXTRA_CA_FILE").map(std::path::PathBuf::from);
    let answer = http::post_form(
        &grant.endpoint,
        &form,
        extra_ca.as_deref(),
        Duration::from_secs(30),
    )
    .await
    .map_err(|e| OAuthError::Transient(e.to_string()))?;
    let issued = grant.read_answer(answer.status, &answer.body)?;
    let refresh = issued.refresh_token.ok_or_else(|| {
        OAuthError::Grant("the provider gave no refresh token: revoke the app's access in the account's security settings and run auth login again".into())
    })?;
    Chain::new(store, grant.chain_key(), grant.configured_refresh.clone())
        .save(&refresh)
        .await
        .map_err(|e| OAuthError::Transient(format!("cannot store the grant: {e}")))?;
    Ok(LoggedIn {
        mailbox: grant.mailbox.clone(),
        expires_in: issued.expires_in,
    })
}

/// Only a person's grant with somewhere to send the browser needs a login.
fn needs_login(grant: &Grant) -> Result<(), OAuthError> {
    if !grant.uses_refresh_token() {
        return Err(OAuthError::Config(
            "this [oauth2] grant needs no login (app-only or service account): run circle-relay check".into(),
        ));
    }
    if grant.auth_url.is_empty() {
        return Err(OAuthError::Config(
            "[oauth2] auth_url is required for auth login".into(),
        ));
    }
    Ok(())
}

fn random_text() -> Result<String, OAuthError> {
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| OAuthError::Config("no random numbers from the system".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn authorize_url(
    grant: &Grant,
    redirect_uri: &str,
    verifier: &str,
    state: &str,
) -> Result<String, OAuthError> {
    let mut url = url::Url::parse(&grant.auth_url)
        .map_err(|e| OAuthError::Config(format!("[oauth2] auth_url: {e}")))?;
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &grant.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &grant.scope)
        .append_pair("state", state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent")
        .append_pair("login_hint", &grant.mailbox);
    Ok(url.to_string())
}

/// Answers browser requests until one brings our `state` and a code.
async fn wait_for_code(listener: &TcpListener, state: &str) -> Result<String, OAuthError> {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let mut buf = vec![0u8; 8192];
        let n = conn.read(&mut buf).await.unwrap_or(0);
        let request = String::from_utf8_lossy(&buf[..n]).to_string();
        let target = request.split_whitespace().nth(1).unwrap_or("/");
        let query: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(target.split_once('?').map_or("", |(_, q)| q).as_bytes())
                .into_owned()
                .collect();
        let (page, outcome) = match (query.get("state"), query.get("code"), query.get("error")) {
            (Some(s), Some(code), _) if s == state => (
                "Signed in: you may close this page.",
                Some(Ok(code.clone())),
            ),
            (Some(s), _, Some(err)) if s == state => (
                "Access was not granted: see the terminal.",
                Some(Err(OAuthError::Grant(format!(
                    "the provider said {err}: access was not granted"
                )))),
            ),
            _ => ("Waiting for the sign-in.", None),
        };
        let body = format!("<!doctype html><title>circle-relay</title><p>{page}</p>\n");
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = conn.write_all(reply.as_bytes()).await;
        if let Some(outcome) = outcome {
            return outcome;
        }
    }
}
