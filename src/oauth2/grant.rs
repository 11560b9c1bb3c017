//! Which grant each provider uses, the form posted to its token endpoint,
//! and what its answer means: a token, a reason to try again, or a problem
//! only a person can fix (said in words that tell them how).

use url::form_urlencoded::Serializer;

use super::OAuthError;
use super::http::Endpoint;
use super::jwt::ServiceAccountKey;
use crate::config::{OAuth2Config, OAuth2Provider, Secret};

const MICROSOFT_SCOPE: &str = "https://outlook.office365.com/.default";
const MICROSOFT_DELEGATED_SCOPE: &str = "https://outlook.office365.com/IMAP.AccessAsUser.All https://outlook.office365.com/SMTP.Send offline_access";
const GOOGLE_SCOPE: &str = "https://mail.google.com/";
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
const GOOGLE_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";

#[derive(Debug)]
pub enum GrantKind {
    /// App-only: Microsoft's daemons, or a generic provider without refresh token.
    ClientCredentials,
    /// A person's grant, kept alive by its refresh token (which may rotate).
    RefreshToken,
    /// Google Workspace: a service account acting as the mailbox.
    ServiceAccount(Box<ServiceAccountKey>),
}

#[derive(Debug)]
pub struct Grant {
    pub provider: OAuth2Provider,
    pub kind: GrantKind,
    pub endpoint: Endpoint,
    pub token_url: String,
    pub client_id: String,
    client_secret: Secret,
    pub scope: String,
    /// The mailbox the token is for (XOAUTH2's `user=`).
    pub mailbox: String,
    /// The refresh token in the config ("" when none).
    pub configured_refresh: Secret,
    /// Where a person grants access (`auth login`); "" where there is none.
    pub auth_url: String,
}

/// A successful token answer (its tokens print as `***`).
#[derive(Debug)]
pub struct Issued {
    pub access_token: Secret,
    pub expires_in: u64,
    /// A new refresh token, when the provider rotated it.
    pub refresh_token: Option<Secret>,
}

impl Grant {
    pub fn from_config(c: &OAuth2Config) -> Result<Self, OAuthError> {
        let has_refresh = !c.refresh_token.is_empty();
        let (kind, token_url, scope) = match c.provider {
            OAuth2Provider::Microsoft if has_refresh => (
                GrantKind::RefreshToken,
                microsoft_url(&c.tenant_id),
                MICROSOFT_DELEGATED_SCOPE,
            ),
            OAuth2Provider::Microsoft => (
                GrantKind::ClientCredentials,
                microsoft_url(&c.tenant_id),
                MICROSOFT_SCOPE,
            ),
            OAuth2Provider::Google if !c.service_account_key.is_empty() => {
                let key = read_key(&c.service_account_key)?;
                let url = key.token_uri.clone();
                (GrantKind::ServiceAccount(Box::new(key)), url, GOOGLE_SCOPE)
            }
            OAuth2Provider::Google => (
                GrantKind::RefreshToken,
                GOOGLE_TOKEN_URL.into(),
                GOOGLE_SCOPE,
            ),
            // With auth_url a person grants access (auth login): a refresh grant.
            OAuth2Provider::Generic if has_refresh || !c.auth_url.is_empty() => {
                (GrantKind::RefreshToken, String::new(), "")
            }
            OAuth2Provider::Generic => (GrantKind::ClientCredentials, String::new(), ""),
        };
        let token_url = if c.token_url.is_empty() {
            token_url
        } else {
            c.token_url.clone()
        };
        let endpoint = Endpoint::parse(&token_url).map_err(OAuthError::Config)?;
        Ok(Self {
            provider: c.provider,
            kind,
            endpoint,
            token_url,
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            scope: if c.scope.is_empty() {
                scope.into()
            } else {
                c.scope.clone()
            },
            mailbox: c.mailbox.clone(),
            configured_refresh: c.refresh_token.clone(),
            auth_url: match c.provider {
                _ if !c.auth_url.is_empty() => c.auth_url.clone(),
                OAuth2Provider::Google => GOOGLE_AUTH_URL.into(),
                _ => String::new(),
            },
        })
    }

    pub fn uses_refresh_token(&self) -> bool {
        matches!(self.kind, GrantKind::RefreshToken)
    }

    /// Names the chain of refresh tokens in the database.
    pub fn chain_key(&self) -> String {
        format!("{:?} {} {}", self.provider, self.client_id, self.mailbox).to_ascii_lowercase()
    }

    /// The form for one token request (`refresh` for the refresh grant).
    pub fn form(&self, refresh: Option<&Secret>, now: i64) -> Result<String, OAuthError> {
        let mut f = Serializer::new(String::new());
        match &self.kind {
            GrantKind::ClientCredentials => {
                f.append_pair("grant_type", "client_credentials");
                self.client(&mut f);
            }
            GrantKind::RefreshToken => {
                let Some(refresh) = refresh.filter(|r| !r.is_empty()) else {
                    return Err(OAuthError::Grant(
                        "there is no refresh token yet: run circle-relay auth login (or set [oauth2] refresh_token)".into(),
                    ));
                };
                f.append_pair("grant_type", "refresh_token");
                f.append_pair("refresh_token", refresh.expose());
                self.client(&mut f);
            }
            GrantKind::ServiceAccount(key) => {
                let jwt = key
                    .assertion(&self.token_url, &self.mailbox, &self.scope, now)
                    .map_err(OAuthError::Config)?;
                f.append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
                f.append_pair("assertion", &jwt);
                return Ok(f.finish());
            }
        }
        if !self.scope.is_empty() {
            f.append_pair("scope", &self.scope);
        }
        Ok(f.finish())
    }

    /// The form that trades an authorization code for tokens (`auth login`, PKCE).
    pub fn code_form(&self, code: &str, redirect_uri: &str, verifier: &str) -> String {
        let mut f = Serializer::new(String::new());
        f.append_pair("grant_type", "authorization_code");
        f.append_pair("code", code);
        f.append_pair("redirect_uri", redirect_uri);
        f.append_pair("code_verifier", verifier);
        self.client(&mut f);
        f.finish()
    }

    fn client(&self, f: &mut Serializer<'_, String>) {
        f.append_pair("client_id", &self.client_id);
        if !self.client_secret.is_empty() {
            f.append_pair("client_secret", self.client_secret.expose());
        }
    }

    /// Reads the token endpoint's answer.
    pub fn read_answer(&self, status: u16, body: &str) -> Result<Issued, OAuthError> {
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let text = |k: &str| {
            json.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        if (200..300).contains(&status) {
            let token = text("access_token");
            if token.is_empty() {
                return Err(OAuthError::Transient(format!(
                    "HTTP {status} without an access_token"
                )));
            }
            let expires_in = json.get("expires_in").and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            });
            let refresh = text("refresh_token");
            return Ok(Issued {
                access_token: Secret::new(token),
                expires_in: expires_in.unwrap_or(3600),
                refresh_token: (!refresh.is_empty()).then(|| Secret::new(refresh)),
            });
        }
        Err(self.problem(status, &text("error"), &text("error_description")))
    }

    fn problem(&self, status: u16, code: &str, description: &str) -> OAuthError {
        // Descriptions name the problem (AADSTS7000222: the secret expired), never a secret.
        let said: String = description
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(240)
            .collect();
        let said = if said.is_empty() {
            format!("HTTP {status} {code}")
        } else {
            format!("{code}: {said}")
        };
        let fix = match (code, &self.kind) {
            ("temporarily_unavailable" | "server_error" | "slow_down", _) => {
                return OAuthError::Transient(said);
            }
            _ if status >= 500 || status == 429 || status == 408 => return OAuthError::Transient(said),
            ("invalid_grant", GrantKind::RefreshToken) => {
                "the refresh token was revoked or has expired: run circle-relay auth login (or set a new [oauth2] refresh_token)".to_string()
            }
            ("invalid_grant" | "unauthorized_client", GrantKind::ServiceAccount(key)) => format!(
                "the service account {} may not act as {}: check its domain-wide delegation (scope {}) and that the key is not deleted",
                key.client_email, self.mailbox, self.scope
            ),
            ("invalid_client" | "unauthorized_client", _) => format!(
                "the client secret of app {} was refused (expired, deleted or wrong): create a new one and set CIRCLE_RELAY_OAUTH2_CLIENT_SECRET",
                self.client_id
            ),
            _ => "the identity provider refused the token request (check [oauth2] tenant_id, client_id, scope and the app's permissions)".to_string(),
        };
        OAuthError::Grant(format!("{fix} ({said})"))
    }
}

fn microsoft_url(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
}

fn read_key(path: &str) -> Result<ServiceAccountKey, OAuthError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| OAuthError::Config(format!("[oauth2] service_account_key {path:?}: {e}")))?;
    ServiceAccountKey::from_json(&text)
        .map_err(|e| OAuthError::Config(format!("[oauth2] service_account_key {path:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(provider: OAuth2Provider, refresh: &str) -> Grant {
        Grant::from_config(&OAuth2Config {
            provider,
            tenant_id: "tenant-1".into(),
            client_id: "app-1".into(),
            client_secret: Secret::new("sec ret"),
            refresh_token: Secret::new(refresh),
            token_url: if provider == OAuth2Provider::Generic {
                "https://idp.example.org/token".into()
            } else {
                String::new()
            },
            mailbox: "circle@example.org".into(),
            ..OAuth2Config::default()
        })
        .unwrap()
    }

    #[test]
    fn microsoft_asks_app_only_for_the_outlook_scope() {
        let g = grant(OAuth2Provider::Microsoft, "");
        assert_eq!(
            g.token_url,
            "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
        );
        assert_eq!(
            g.form(None, 0).unwrap(),
            "grant_type=client_credentials&client_id=app-1&client_secret=sec+ret&scope=https%3A%2F%2Foutlook.office365.com%2F.default"
        );
    }

    #[test]
    fn answers_are_tokens_retries_or_problems_a_person_must_fix() {
        let g = grant(OAuth2Provider::Generic, "r1");
        let ok = g
            .read_answer(
                200,
                r#"{"access_token":"a","expires_in":"5","refresh_token":"r2"}"#,
            )
            .unwrap();
        assert_eq!((ok.access_token.expose(), ok.expires_in), ("a", 5));
        assert_eq!(ok.refresh_token.unwrap().expose(), "r2");
        let revoked = g.read_answer(
            400,
            r#"{"error":"invalid_grant","error_description":"revoked"}"#,
        );
        let Err(OAuthError::Grant(m)) = revoked else {
            panic!("{revoked:?}")
        };
        assert!(m.starts_with("the refresh token was revoked"), "{m}");
        assert!(m.contains("circle-relay auth login"), "{m}");
        let secret = grant(OAuth2Provider::Microsoft, "").read_answer(
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired."}"#,
        );
        let Err(OAuthError::Grant(m)) = secret else {
            panic!()
        };
        assert!(
            m.contains("client secret") && m.contains("AADSTS7000222"),
            "{m}"
        );
        assert!(!m.contains("sec ret"));
        assert!(matches!(
            g.read_answer(503, "busy"),
            Err(OAuthError::Transient(_))
        ));
        assert!(matches!(
            g.form(Some(&Secret::default()), 0),
            Err(OAuthError::Grant(_))
        ));
    }
}
