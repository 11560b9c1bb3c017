//! The config file's sections, exactly as SPEC "Config file" names them.
//! Every struct denies unknown keys so a typo is an error, not a silent default.

use serde::{Deserialize, Serialize};

use super::secret::{DatabaseUrl, Secret};

// `[circle] language`: a domain type, since mails and requests carry it too.
pub use crate::domain::MailLanguage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Posting {
    Members,
    /// A non-member's request waits for an admin's approval.
    Moderated,
    Anyone,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircleConfig {
    pub name: String,
    pub address: String,
    pub admins: Vec<String>,
    pub language: MailLanguage,
    pub timezone: String,
    pub posting: Posting,
}

impl Default for CircleConfig {
    fn default() -> Self {
        Self {
            name: "Circle".into(),
            address: "circle@circle.localhost".into(),
            admins: vec![],
            language: MailLanguage::Ja,
            timezone: "Asia/Tokyo".into(),
            posting: Posting::Members,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    /// Connections in the pool.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: DatabaseUrl::new("sqlite://circle-relay.db"),
            max_connections: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    Tls,
    Starttls,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InboxKind {
    Imap,
    Maildir,
    /// An MTA delivers to the daemon over LMTP (RFC 2033) on `listen`.
    Lmtp,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct InboxConfig {
    pub kind: InboxKind,
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub username: String,
    pub password: Secret,
    pub folder: String,
    pub processed_folder: String,
    pub failed_folder: String,
    /// Where mail judged to be spam goes. Bare folder names (no namespace
    /// prefix) are placed under the server's personal namespace.
    pub spam_folder: String,
    /// Whose `Authentication-Results` to believe (`mx.google.com`…); empty: off.
    pub trusted_authserv_id: String,
    /// A spam verdict header of the receiving server, `Name: value`
    /// (e.g. `X-Rspamd-Action: reject`), beside X-Spam-Flag and X-Spam-Status.
    pub spam_header: String,
    pub idle: bool,
    pub poll_seconds: u64,
    /// Maildir root, for `kind = "maildir"`.
    pub path: String,
    /// For `kind = "lmtp"`: `unix:/path/to/socket` or `127.0.0.1:PORT`.
    pub listen: String,
    /// Larger messages go to the failed folder without being loaded whole.
    pub max_message_bytes: u64,
    /// At most this many messages are taken per round.
    pub batch_size: u32,
    /// Only one daemon reads the inbox; if it dies, another takes over after
    /// at most this long (the lease is renewed every third of it).
    pub lease_seconds: u32,
    /// `password`, or `xoauth2` with a token from `[oauth2]`.
    pub auth: AuthMethod,
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            kind: InboxKind::Maildir,
            host: String::new(),
            port: 993,
            tls: Tls::Tls,
            username: String::new(),
            password: Secret::default(),
            folder: "INBOX".into(),
            processed_folder: "Processed".into(),
            failed_folder: "Failed".into(),
            spam_folder: "Spam".into(),
            trusted_authserv_id: String::new(),
            spam_header: String::new(),
            idle: true,
            poll_seconds: 60,
            path: "mail/inbox".into(),
            listen: String::new(),
            max_message_bytes: 10 * 1024 * 1024,
            batch_size: 50,
            lease_seconds: 30,
            auth: AuthMethod::Password,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboundKind {
    Smtp,
    Maildir,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundConfig {
    pub kind: OutboundKind,
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub username: String,
    pub password: Secret,
    /// Maildir root, for `kind = "maildir"`.
    pub path: String,
    /// A mail being sent is claimed for this long; if its sender dies, another
    /// (or the restarted one) sends it after the claim runs out.
    pub lease_seconds: u32,
    /// `password`, or `xoauth2` with a token from `[oauth2]`.
    pub auth: AuthMethod,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            kind: OutboundKind::Maildir,
            host: String::new(),
            port: 587,
            tls: Tls::Starttls,
            username: String::new(),
            password: Secret::default(),
            path: "mail/sent".into(),
            lease_seconds: 300,
            auth: AuthMethod::Password,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchingConfig {
    pub shortlist: u32,
    pub max_forwards_per_member_per_week: u32,
    /// An extra vocabulary file (data/skills.toml's format) added on top of
    /// the built-in one; empty for none.
    pub vocabulary: String,
}

impl MatchingConfig {
    /// The extra vocabulary file, if one is set.
    pub fn vocabulary_path(&self) -> Option<&std::path::Path> {
        let p = self.vocabulary.trim();
        (!p.is_empty()).then(|| std::path::Path::new(p))
    }
}

impl Default for MatchingConfig {
    fn default() -> Self {
        Self {
            shortlist: 3,
            max_forwards_per_member_per_week: 5,
            vocabulary: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    pub answer_within_hours: u32,
    pub waves: u32,
    pub accepts_wanted: u32,
    pub followup_after_days: u32,
    /// Japanese carrier phone domains: members there get mail without links
    /// (carriers reject or hide it) and a short subject. A subdomain counts.
    pub carrier_domains: Vec<String>,
}

/// The carriers' mail domains (docomo, au/KDDI, SoftBank, Y!mobile, Rakuten).
pub const CARRIER_DOMAINS: &[&str] = &[
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "softbank.ne.jp",
    "i.softbank.jp",
    "disney.ne.jp",
    "ymobile.ne.jp",
    "y-mobile.ne.jp",
    "emobile.ne.jp",
    "pdx.ne.jp",
    "willcom.com",
    "rakumail.jp",
];

impl RelayConfig {
    /// True when `domain` is, or is under, one of `carrier_domains`.
    pub fn is_carrier(&self, domain: &str) -> bool {
        let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        self.carrier_domains.iter().any(|c| {
            let c = c.trim().to_ascii_lowercase();
            !c.is_empty() && (d == c || d.ends_with(&format!(".{c}")))
        })
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            answer_within_hours: 48,
            waves: 2,
            accepts_wanted: 1,
            followup_after_days: 14,
            carrier_domains: CARRIER_DOMAINS.iter().map(|d| d.to_string()).collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DigestConfig {
    pub weekday: String,
    pub time: String,
}

impl Default for DigestConfig {
    fn default() -> Self {
        Self {
            weekday: "mon".into(),
            time: "08:00".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    pub token_secret: Secret,
    pub max_mails_per_address_per_hour: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            token_secret: Secret::default(),
            max_mails_per_address_per_hour: 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter such as `info` or `circle_relay=debug`; `RUST_LOG` wins.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `127.0.0.1:9090` to serve `/healthz` and `/metrics`; empty for off.
    pub listen: String,
}

/// `[web]`: the admin console, members' own pages and one-click unsubscribe.
/// Without `listen` nothing listens and mails carry no web links.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// e.g. `127.0.0.1:8080` (behind the admin's reverse proxy); empty for off.
    pub listen: String,
    /// The public URL people open, e.g. `https://circle.example/`; links in
    /// mails use it. Empty: `http://<listen>/`.
    pub base_url: String,
    /// An admin's sign-in lasts this long.
    pub session_hours: u32,
    /// A member's page link is good for this many days.
    pub member_link_days: u32,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            listen: String::new(),
            base_url: String::new(),
            session_hours: 12,
            member_link_days: 30,
        }
    }
}

impl WebConfig {
    /// True when the console is served (and mails may carry web links).
    pub fn enabled(&self) -> bool {
        !self.listen.is_empty()
    }

    /// True when cookies must be marked Secure.
    pub fn is_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// `base_url` joined with `path` (which starts without a slash).
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path.trim_start_matches('/'))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModerationConfig {
    /// A rejected requester gets a short polite note.
    pub notify_rejected: bool,
    /// A hold nobody decided expires after this many days.
    pub expire_days: u32,
    /// Senders at these domains post without being held.
    pub trusted_domains: Vec<String>,
    /// More requests than this from one address in a day are held.
    pub max_requests_per_sender_per_day: u32,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        Self {
            notify_rejected: true,
            expire_days: 7,
            trusted_domains: vec![],
            max_requests_per_sender_per_day: 5,
        }
    }
}

/// How the relay logs in to the IMAP and SMTP servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    #[default]
    Password,
    /// SASL XOAUTH2 with an access token from `[oauth2]`.
    Xoauth2,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OAuth2Provider {
    /// Microsoft 365 (Entra ID): the app-only client-credentials grant.
    #[default]
    Microsoft,
    /// Google Workspace: a service account with domain-wide delegation, or
    /// an OAuth client with a refresh token from `circle-relay auth login`.
    Google,
    /// Any other identity provider: `token_url` with a refresh token, or the
    /// client-credentials grant when there is none.
    Generic,
}

/// `[oauth2]`: where access tokens for `auth = "xoauth2"` come from.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuth2Config {
    pub provider: OAuth2Provider,
    /// Microsoft: the directory (tenant) id.
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The token endpoint: required for generic; overrides microsoft's and google's.
    pub token_url: String,
    /// Where `circle-relay auth login` sends the browser: required for
    /// generic logins; overrides google's.
    pub auth_url: String,
    /// The scope asked for; empty for the provider's IMAP/SMTP scope.
    pub scope: String,
    /// The grant's first refresh token; rotated ones are kept in the database.
    pub refresh_token: Secret,
    /// Google: the service account's JSON key file.
    pub service_account_key: String,
    /// The mailbox the app acts as (default: the inbox username).
    pub mailbox: String,
}
