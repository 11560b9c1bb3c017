//! Access tokens for XOAUTH2: one is reused until shortly before it expires,
//! then a new one is requested; transient failures are retried with backoff;
//! a grant that only a person can fix is reported once (log and /healthz)
//! and re-checked now and then, so a new grant is picked up without a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tracing::{error, info, warn};

use super::OAuthError;
use super::chain::Chain;
use super::grant::Grant;
use super::http;
use crate::config::{OAuth2Config, Secret};
use crate::store::Store;

/// Transient failures are retried this many times in one request, waiting
/// 0.5 s, 1 s, 2 s; then the caller's own retry (the IMAP reconnect, the
/// outbox) takes over.
const ATTEMPTS: u32 = 4;
/// A refused grant is asked again at most this often.
const RECHECK: Duration = Duration::from_secs(20);
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// One access token, with when it runs out.
#[derive(Clone)]
pub struct AccessToken {
    pub secret: Secret,
    /// UNIX seconds.
    pub expires_at: i64,
    renew_at: Instant,
}

impl AccessToken {
    fn new(secret: Secret, lifetime: Duration) -> Self {
        // Renewed ahead of expiry: a quarter of its life early, at most a minute.
        let early = (lifetime / 4).min(Duration::from_secs(60));
        Self {
            secret,
            expires_at: crate::clock::system_now() + lifetime.as_secs() as i64,
            renew_at: Instant::now() + lifetime - early,
        }
    }

    fn usable(&self) -> bool {
        Instant::now() < self.renew_at
    }
}

#[derive(Default)]
struct State {
    token: Option<AccessToken>,
    /// A rotated refresh token the database did not take yet.
    unsaved: Option<Secret>,
    /// The reported problem, while it lasts.
    failure: Option<(String, Instant)>,
}

/// Shared by the IMAP reader, the SMTP lanes and `check`.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenSource({})", self.inner.grant.mailbox)
    }
}

struct Inner {
    grant: Grant,
    chain: Option<Chain>,
    extra_ca: Option<PathBuf>,
    state: Mutex<State>,
}

impl TokenSource {
    /// `store` keeps rotated refresh tokens; without it they live in memory only.
    pub fn from_config(config: &OAuth2Config, store: Option<Store>) -> Result<Self, OAuthError> {
        let grant = Grant::from_config(config)?;
        let chain = store
            .filter(|_| grant.uses_refresh_token())
            .map(|s| Chain::new(s, grant.chain_key(), grant.configured_refresh.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                grant,
                chain,
                extra_ca: std::env::var_os("CIRCLE_RELAY_EXTRA_CA_FILE").map(PathBuf::from),
                state: Mutex::new(State::default()),
            }),
        })
    }

    /// The mailbox tokens are for (XOAUTH2's `user=`).
    pub fn mailbox(&self) -> &str {
        &self.inner.grant.mailbox
    }

    /// Who signs in, for `check`: the app and the mailbox.
    pub fn identity(&self) -> String {
        let g = &self.inner.grant;
        let how = match &g.kind {
            super::grant::GrantKind::ClientCredentials => format!("app {}", g.client_id),
            super::grant::GrantKind::RefreshToken => format!("the grant of client {}", g.client_id),
            super::grant::GrantKind::ServiceAccount(k) => {
                format!("service account {}", k.client_email)
            }
        };
        format!("{} as {how}", g.mailbox)
    }

    /// The reported problem, if sign-in is failing for a reason a person must fix.
    pub async fn failure(&self) -> Option<String> {
        self.inner
            .state
            .lock()
            .await
            .failure
            .as_ref()
            .map(|(m, _)| m.clone())
    }

    /// A token good for a while yet.
    pub async fn token(&self) -> Result<AccessToken, OAuthError> {
        let mut st = self.inner.state.lock().await;
        if let Some(t) = st.token.as_ref().filter(|t| t.usable()) {
            return Ok(t.clone());
        }
        if let Some((m, at)) = &st.failure
            && at.elapsed() < RECHECK
        {
            return Err(OAuthError::Grant(m.clone()));
        }
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=ATTEMPTS {
            match self.request(&mut st).await {
                Ok(t) => {
                    if st.failure.take().is_some() {
                        info!("OAuth2 sign-in works again");
                        crate::observe::clear_degraded("oauth2");
                    }
                    st.token = Some(t.clone());
                    return Ok(t);
                }
                Err(OAuthError::Transient(m)) if attempt < ATTEMPTS => {
                    warn!(error = %m, retry_in = ?delay, "OAuth2 token request failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(OAuthError::Grant(m)) => {
                    report(&mut st, &m);
                    return Err(OAuthError::Grant(m));
                }
                Err(e) => return Err(e),
            }
        }
        Err(OAuthError::Transient(
            "the token endpoint kept failing".into(),
        ))
    }

    /// The server refused `token` (`reason`: its decoded status): never use it again.
    pub async fn refused(&self, token: &AccessToken, reason: &str) {
        let mut st = self.inner.state.lock().await;
        if st.token.as_ref().is_some_and(|t| t.secret == token.secret) {
            st.token = None;
        }
        warn!(reason, mailbox = %self.inner.grant.mailbox, "the mail server refused the OAuth2 access token");
    }

    async fn request(&self, st: &mut State) -> Result<AccessToken, OAuthError> {
        let g = &self.inner.grant;
        let refresh = self.refresh_token(st).await;
        let issued = match self.post(refresh.as_ref()).await {
            // Another replica may have rotated the token under us: use its one.
            Err(OAuthError::Grant(m)) if refresh.is_some() && st.unsaved.is_none() => {
                // It stores its new one right after its answer: give it a moment.
                let mut again = self.refresh_token(st).await;
                if again == refresh {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    again = self.refresh_token(st).await;
                }
                if again == refresh {
                    return Err(OAuthError::Grant(m));
                }
                self.post(again.as_ref()).await?
            }
            other => other?,
        };
        if let Some(new) = issued.refresh_token.filter(|_| g.uses_refresh_token()) {
            self.keep_rotated(st, new).await;
        }
        Ok(AccessToken::new(
            issued.access_token,
            Duration::from_secs(issued.expires_in.max(1)),
        ))
    }

    async fn post(&self, refresh: Option<&Secret>) -> Result<super::grant::Issued, OAuthError> {
        let g = &self.inner.grant;
        let form = g.form(refresh, crate::clock::system_now())?;
        let answer = http::post_form(
            &g.endpoint,
            &form,
            self.inner.extra_ca.as_deref(),
            HTTP_TIMEOUT,
        )
        .await
        .map_err(|e| OAuthError::Transient(e.to_string()))?;
        g.read_answer(answer.status, &answer.body)
    }

    /// The refresh token to use: one not yet saved, else the database's.
    async fn refresh_token(&self, st: &mut State) -> Option<Secret> {
        let g = &self.inner.grant;
        if !g.uses_refresh_token() {
            return None;
        }
        let Some(chain) = &self.inner.chain else {
            return Some(
                st.unsaved
                    .clone()
                    .unwrap_or_else(|| g.configured_refresh.clone()),
            );
        };
        if let Some(unsaved) = st.unsaved.clone() {
            if chain.save(&unsaved).await.is_ok() {
                st.unsaved = None;
            }
            return Some(unsaved);
        }
        match chain.current().await {
            Ok(t) => Some(t),
            Err(e) => {
                warn!(error = %e, "cannot read the stored OAuth2 refresh token; using the configured one");
                Some(g.configured_refresh.clone())
            }
        }
    }

    async fn keep_rotated(&self, st: &mut State, new: Secret) {
        let Some(chain) = &self.inner.chain else {
            st.unsaved = Some(new);
            return;
        };
        match chain.save(&new).await {
            Ok(()) => info!(
                "the identity provider rotated the OAuth2 refresh token; the new one is kept in the database"
            ),
            Err(e) => {
                error!(error = %e, "cannot store the rotated OAuth2 refresh token; kept in memory and stored as soon as the database answers");
                st.unsaved = Some(new);
            }
        }
    }
}

/// Logs and shows on /healthz once per problem, not on every retry.
fn report(st: &mut State, message: &str) {
    let new = st.failure.as_ref().is_none_or(|(m, _)| m != message);
    if new {
        error!(problem = %message, "OAuth2 sign-in fails; inbound mail stays on the server and outbound mail waits");
        crate::observe::set_degraded("oauth2", message);
    }
    st.failure = Some((message.to_string(), Instant::now()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_a_quarter_of_its_life_early_at_most_a_minute() {
        let short = AccessToken::new(Secret::new("a"), Duration::from_secs(4));
        assert!(short.usable());
        let left = short.renew_at - Instant::now();
        assert!(
            left <= Duration::from_secs(3) && left > Duration::from_millis(2500),
            "{left:?}"
        );
        let hour = AccessToken::new(Secret::new("b"), Duration::from_secs(3600));
        let left = hour.renew_at - Instant::now();
        assert!(
            left <= Duration::from_secs(3540) && left > Duration::from_secs(3530),
            "{left:?}"
        );
        assert!(hour.expires_at - crate::clock::system_now() >= 3599);
        let spent = AccessToken::new(Secret::new("c"), Duration::from_secs(0));
        assert!(!spent.usable());
    }
}
