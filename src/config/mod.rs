//! Typed, layered configuration: the TOML file, then `CIRCLE_RELAY_<SECTION>_<KEY>`
//! environment variables on top. Each command loads only the sections it needs;
//! a section is validated when it is loaded, and unknown keys are errors.

mod report;
mod secret;
mod sections;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use report::Location;
pub use secret::{DatabaseUrl, Secret};
pub use sections::*;

use crate::domain::EmailAddress;

/// Where the config comes from when `--config` is not given.
pub const DEFAULT_PATH: &str = "circle-relay.toml";
/// Prefix of environment overrides: `CIRCLE_RELAY_DATABASE_URL`, `CIRCLE_RELAY_SECURITY_TOKEN_SECRET`.
pub const ENV_PREFIX: &str = "CIRCLE_RELAY_";
/// The commented sample written by `init`: every key with its default.
pub const SAMPLE: &str = include_str!("sample.toml");

const SECTIONS: &[&str] = &[
    "circle",
    "database",
    "inbox",
    "outbound",
    "matching",
    "relay",
    "digest",
    "security",
    "log",
    "server",
    "oauth2",
    "moderation",
    "web",
];

/// A bad config, shown like a compiler error: `file:line:column: [section] key:
/// what is wrong`, the line with a caret under the culprit, and a hint.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The file, or the environment variable, the bad value came from.
    pub origin: String,
    /// `[section]` or `[section] key`.
    pub place: String,
    pub message: String,
    /// Where in the file, when the value came from the file.
    /// Boxed: errors travel in `Result`s everywhere and should stay small.
    pub location: Option<Box<Location>>,
    /// What to do, e.g. "did you mean `poll_seconds`?".
    pub help: Option<String>,
}

impl ConfigError {
    fn new(
        origin: impl Into<String>,
        place: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            origin: origin.into(),
            place: place.into(),
            message: message.into(),
            location: None,
            help: None,
        }
    }

    fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(at) = &self.location {
            write!(f, ":{}:{}", at.line, at.column)?;
        }
        write!(f, ": {}: {}", self.place, self.message)?;
        if let Some(at) = &self.location {
            f.write_str("\n")?;
            at.diagram(f)?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// The raw, merged config; sections are typed on demand.
#[derive(Debug, Clone)]
pub struct Config {
    origin: String,
    /// Which environment variable set which `section.key`, to name it in errors.
    env_keys: Vec<(String, String)>,
    table: toml::Table,
    /// The file as written, to point at the line of a bad key.
    text: Option<String>,
}

/// The origin named in errors when no file is read.
const EMBEDDED: &str = "(embedded defaults)";

impl Config {
    /// Loads `path` (or `./circle-relay.toml`; when that default is missing the
    /// embedded defaults apply) and the process environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(path, std::env::vars())
    }

    pub fn load_from(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let (origin, text) = match path {
            Some(p) => (p.display().to_string(), Some(read(p)?)),
            None => {
                let p = PathBuf::from(DEFAULT_PATH);
                if p.exists() {
                    (DEFAULT_PATH.to_string(), Some(read(&p)?))
                } else {
                    (EMBEDDED.to_string(), None)
                }
            }
        };
        Self::from_text(origin, text, env)
    }

    /// The embedded defaults and the environment: for `init`, whose file
    /// does not exist yet.
    pub fn embedded() -> Result<Self, ConfigError> {
        Self::from_text(EMBEDDED.to_string(), None, std::env::vars())
    }

    fn from_text(
        origin: String,
        text: Option<String>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let table = match &text {
            Some(t) => {
                toml::from_str::<toml::Table>(t).map_err(|e| syntax_error(&origin, t, &e))?
            }
            None => toml::Table::new(),
        };
        let mut config = Self {
            origin,
            env_keys: vec![],
            table,
            text,
        };
        for (name, value) in env {
            config.apply_env(&name, &value)?;
        }
        for (name, value) in &config.table {
            if !SECTIONS.contains(&name.as_str()) {
                let mut e = ConfigError::new(
                    config.origin.clone(),
                    format!("[{name}]"),
                    format!("unknown section (expected one of: {})", SECTIONS.join(", ")),
                );
                e.location = config
                    .text
                    .as_deref()
                    .and_then(|t| section_line(t, name))
                    .map(Box::new);
                return Err(e.with_help(
                    report::did_you_mean(name, SECTIONS.iter().copied())
                        .map(|s| format!("did you mean `[{s}]`?")),
                ));
            }
            if !value.is_table() {
                return Err(config.error(name, None, "expected a [section] table".into()));
            }
        }
        Ok(config)
    }

    /// Where the config came from, for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// True when no file was read.
    pub fn is_embedded_default(&self) -> bool {
        self.origin == EMBEDDED
    }

    fn apply_env(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            return Ok(());
        };
        // CIRCLE_RELAY_CONFIG names the file itself (see the CLI) and
        // CIRCLE_RELAY_EXTRA_CA_FILE a CA to trust for a self-signed server (inbox); not keys.
        if rest == "CONFIG"
            || rest == "LOG"
            || rest == "EXTRA_CA_FILE"
            || rest == "CLOCK_OFFSET_FILE"
        {
            return Ok(());
        }
        let lower = rest.to_ascii_lowercase();
        let Some((section, key)) = lower.split_once('_') else {
            return Err(env_error(
                name,
                "name",
                "expected CIRCLE_RELAY_<SECTION>_<KEY>",
            ));
        };
        if !SECTIONS.contains(&section) {
            return Err(env_error(
                name,
                "name",
                &format!(
                    "unknown section {section:?} (expected one of: {})",
                    SECTIONS.join(", ")
                ),
            )
            .with_help(
                report::did_you_mean(section, SECTIONS.iter().copied())
                    .map(|s| format!("did you mean CIRCLE_RELAY_{}_…?", s.to_ascii_uppercase())),
            ));
        }
        let typed = typed_env_value(expected_type(section, key), value)
            .map_err(|m| env_error(name, &format!("[{section}] {key}"), &m))?;
        let entry = self
            .table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(t) = entry {
            t.insert(key.to_string(), typed);
        }
        self.env_keys
            .push((format!("{section}.{key}"), name.to_string()));
        Ok(())
    }

    fn error(&self, section: &str, key: Option<&str>, message: String) -> ConfigError {
        self.error_at(section, key, message, report::Part::Value)
    }

    /// `[section] key` is below its smallest allowed value.
    fn at_least(&self, section: &str, key: &str, min: u32) -> ConfigError {
        self.error(section, Some(key), format!("must be at least {min}"))
    }

    /// `[section] key` is empty although `kind` needs it.
    fn required(&self, section: &str, key: &str, kind: &str) -> ConfigError {
        self.required_as(section, key, kind, "")
    }

    /// The same, with a hint on what to write after the message.
    fn required_as(&self, section: &str, key: &str, kind: &str, hint: &str) -> ConfigError {
        let message = format!("required when kind = \"{kind}\"{hint}");
        self.error(section, Some(key), message)
    }

    /// An error about `[section] key`, naming the environment variable when
    /// one set it, or else pointing at the key's line in the file.
    fn error_at(
        &self,
        section: &str,
        key: Option<&str>,
        message: String,
        part: report::Part,
    ) -> ConfigError {
        let env = key.and_then(|k| {
            let full = format!("{section}.{k}");
            self.env_keys
                .iter()
                .find(|(sk, _)| *sk == full)
                .map(|(_, env)| env.clone())
        });
        let place = match key {
            Some(k) => format!("[{section}] {k}"),
            None => format!("[{section}]"),
        };
        match env {
            Some(env) => ConfigError::new(format!("environment variable {env}"), place, message),
            None => {
                let mut e = ConfigError::new(self.origin.clone(), place, message);
                e.location = match (&self.text, key) {
                    (Some(t), Some(k)) => report::locate(t, section, k, part),
                    (Some(t), None) => section_line(t, section),
                    _ => None,
                }
                .map(Box::new);
                e
            }
        }
    }

    /// Deserializes one section, filling what it does not say from the defaults.
    fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, ConfigError> {
        let Some(value) = self.table.get(name) else {
            return Ok(T::default());
        };
        // Deserialize from text so the error shows the offending `key = value` line.
        let text = toml::to_string(value).map_err(|e| self.error(name, None, e.to_string()))?;
        toml::from_str(&text).map_err(|e| {
            let message = e.message().trim().to_string();
            // The span points into the offending line; its key is before the '='.
            let key = e.span().and_then(|span| {
                let start = text[..span.start.min(text.len())]
                    .rfind('\n')
                    .map_or(0, |i| i + 1);
                let line = text[start..].lines().next()?;
                let (k, _) = line.split_once('=')?;
                Some(k.trim().to_string()).filter(|k| !k.is_empty() && !k.contains(' '))
            });
            let unknown = report::unknown_field(&message).map(str::to_string);
            let part = if unknown.is_some() {
                report::Part::Key
            } else {
                report::Part::Value
            };
            let help = unknown.as_ref().and_then(|k| {
                let keys = section_keys(name);
                report::did_you_mean(k, keys.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
            });
            self.error_at(name, key.as_deref().or(unknown.as_deref()), message, part)
                .with_help(help)
        })
    }

    pub fn circle(&self) -> Result<CircleConfig, ConfigError> {
        let c: CircleConfig = self.section("circle")?;
        EmailAddress::parse(&c.address)
            .map_err(|e| self.error("circle", Some("address"), e.to_string()))?;
        for a in &c.admins {
            EmailAddress::parse(a)
                .map_err(|e| self.error("circle", Some("admins"), e.to_string()))?;
        }
        jiff::tz::TimeZone::get(&c.timezone).map_err(|_| {
            self.error(
                "circle",
                Some("timezone"),
                format!(
                    "unknown time zone {:?} (expected an IANA name such as Asia/Tokyo)",
                    c.timezone
                ),
            )
        })?;
        Ok(c)
    }

    pub fn database(&self) -> Result<DatabaseConfig, ConfigError> {
        let d: DatabaseConfig = self.section("database")?;
        if !d.url.is_sqlite() && !d.url.is_postgres() {
            return Err(self.error(
                "database",
                Some("url"),
                format!(
                    "unsupported URL {} (expected sqlite://FILE or postgres://…)",
                    d.url
                ),
            ));
        }
        if d.max_connections == 0 {
            return Err(self.at_least("database", "max_connections", 1));
        }
        Ok(d)
    }

    pub fn inbox(&self) -> Result<InboxConfig, ConfigError> {
        let i: InboxConfig = self.section("inbox")?;
        match i.kind {
            InboxKind::Imap if i.host.is_empty() => Err(self.required("inbox", "host", "imap")),
            InboxKind::Imap if i.username.is_empty() => {
                Err(self.required("inbox", "username", "imap"))
            }
            InboxKind::Lmtp if i.listen.is_empty() => Err(self.required_as(
                "inbox",
                "listen",
                "lmtp",
                " (\"unix:/path\" or \"127.0.0.1:PORT\")",
            )),
            InboxKind::Maildir if i.path.is_empty() => {
                Err(self.required("inbox", "path", "maildir"))
            }
            _ if i.batch_size == 0 => Err(self.at_least("inbox", "batch_size", 1)),
            // Renewed every third of it: below 3 s a slow database round trip loses it.
            _ if i.lease_seconds < 3 => Err(self.at_least("inbox", "lease_seconds", 3)),
            _ => Ok(i),
        }
    }

    pub fn outbound(&self) -> Result<OutboundConfig, ConfigError> {
        let o: OutboundConfig = self.section("outbound")?;
        match o.kind {
            OutboundKind::Smtp if o.host.is_empty() => {
                Err(self.required("outbound", "host", "smtp"))
            }
            OutboundKind::Maildir if o.path.is_empty() => {
                Err(self.required("outbound", "path", "maildir"))
            }
            _ if o.lease_seconds == 0 => Err(self.at_least("outbound", "lease_seconds", 1)),
            _ => Ok(o),
        }
    }

    pub fn matching(&self) -> Result<MatchingConfig, ConfigError> {
        let m: MatchingConfig = self.section("matching")?;
        if m.shortlist == 0 {
            return Err(self.at_least("matching", "shortlist", 1));
        }
        Ok(m)
    }

    pub fn relay(&self) -> Result<RelayConfig, ConfigError> {
        let r: RelayConfig = self.section("relay")?;
        for (key, v) in [
            ("answer_within_hours", r.answer_within_hours),
            ("waves", r.waves),
            ("accepts_wanted", r.accepts_wanted),
        ] {
            if v == 0 {
                return Err(self.at_least("relay", key, 1));
            }
        }
        Ok(r)
    }

    pub fn digest(&self) -> Result<DigestConfig, ConfigError> {
        let d: DigestConfig = self.section("digest")?;
        const DAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        if !DAYS.contains(&d.weekday.to_ascii_lowercase().as_str()) {
            return Err(self.error(
                "digest",
                Some("weekday"),
                format!(
                    "{:?} is not a weekday (expected one of: {})",
                    d.weekday,
                    DAYS.join(", ")
                ),
            ));
        }
        if jiff::civil::Time::strptime("%H:%M", &d.time).is_err() {
            return Err(self.error(
                "digest",
                Some("time"),
                format!(
                    "{:?} is not a time of day (expected HH:MM, e.g. 08:00)",
                    d.time
                ),
            ));
        }
        Ok(d)
    }

    pub fn security(&self) -> Result<SecurityConfig, ConfigError> {
        let s: SecurityConfig = self.section("security")?;
        if s.max_mails_per_address_per_hour == 0 {
            return Err(self.at_least("security", "max_mails_per_address_per_hour", 1));
        }
        Ok(s)
    }

    /// The secret for reply tokens; required by the commands that send mail.
    pub fn token_secret(&self) -> Result<Secret, ConfigError> {
        let s = self.security()?;
        if s.token_secret.expose().len() < 16 {
            return Err(self.error(
                "security",
                Some("token_secret"),
                "must be set to at least 16 characters (better through CIRCLE_RELAY_SECURITY_TOKEN_SECRET)".into(),
            ));
        }
        Ok(s.token_secret)
    }

    pub fn log(&self) -> Result<LogConfig, ConfigError> {
        self.section("log")
    }

    pub fn moderation(&self) -> Result<ModerationConfig, ConfigError> {
        let m: ModerationConfig = self.section("moderation")?;
        if m.expire_days == 0 {
            return Err(self.at_least("moderation", "expire_days", 1));
        }
        Ok(m)
    }

    pub fn server(&self) -> Result<ServerConfig, ConfigError> {
        self.section("server")
    }

    /// `[web]`, with `base_url` checked and ending in `/` (default `http://<listen>/`).
    pub fn web(&self) -> Result<WebConfig, ConfigError> {
        let mut w: WebConfig = self.section("web")?;
        if !w.enabled() {
            return Ok(w);
        }
        if w.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(self.error(
                "web",
                Some("listen"),
                format!(
                    "{:?} is not an address and port such as 127.0.0.1:8080",
                    w.listen
                ),
            ));
        }
        if w.base_url.is_empty() {
            w.base_url = format!("http://{}/", w.listen);
        }
        let parsed = url::Url::parse(&w.base_url).ok();
        if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some()) {
            return Err(self
                .error(
                    "web",
                    Some("base_url"),
                    format!("{:?} is not an http(s) URL", w.base_url),
                )
                .with_help(Some(
                    "give the public address people open, e.g. \"https://circle.example/\"".into(),
                )));
        }
        if !w.base_url.ends_with('/') {
            w.base_url.push('/');
        }
        for (key, value) in [
            ("session_hours", w.session_hours),
            ("member_link_days", w.member_link_days),
        ] {
            if value == 0 {
                return Err(self.at_least("web", key, 1));
            }
        }
        Ok(w)
    }

    /// Loads and validates every section (for `check`).
    pub fn validate_all(&self) -> Result<(), ConfigError> {
        self.circle()?;
        self.database()?;
        self.inbox()?;
        self.outbound()?;
        self.matching()?;
        self.relay()?;
        self.digest()?;
        self.security()?;
        self.log()?;
        self.server()?;
        self.web()?;
        self.moderation()?;
        self.oauth2_if_used()?;
        Ok(())
    }

    /// `[oauth2]`, validated for `provider`, with `mailbox` defaulting to the
    /// inbox username. Only needed where an `auth` key says `xoauth2`.
    pub fn oauth2(&self) -> Result<OAuth2Config, ConfigError> {
        let mut o: OAuth2Config = self.section("oauth2")?;
        if o.mailbox.is_empty() {
            o.mailbox = self.inbox()?.username;
        }
        let required: &[(&str, bool)] = match o.provider {
            OAuth2Provider::Microsoft => &[
                ("tenant_id", o.tenant_id.is_empty()),
                ("client_id", o.client_id.is_empty()),
                ("client_secret", o.client_secret.is_empty()),
            ],
            OAuth2Provider::Google if o.service_account_key.is_empty() => &[
                ("client_id", o.client_id.is_empty()),
                ("client_secret", o.client_secret.is_empty()),
            ],
            OAuth2Provider::Google => &[],
            OAuth2Provider::Generic => &[
                ("token_url", o.token_url.is_empty()),
                ("client_id", o.client_id.is_empty()),
            ],
        };
        if let Some((key, _)) = required.iter().find(|(_, missing)| *missing) {
            let provider = format!("{:?}", o.provider).to_ascii_lowercase();
            return Err(self.error(
                "oauth2",
                Some(key),
                format!("required for provider = \"{provider}\""),
            ));
        }
        if o.mailbox.is_empty() {
            return Err(self.error(
                "oauth2",
                Some("mailbox"),
                "required (or set [inbox] username)".into(),
            ));
        }
        for (key, url) in [("token_url", &o.token_url), ("auth_url", &o.auth_url)] {
            if !url.is_empty() {
                crate::oauth2::check_endpoint(url)
                    .map_err(|e| self.error("oauth2", Some(key), e))?;
            }
        }
        Ok(o)
    }

    /// Whether `[inbox]` or `[outbound]` logs in with XOAUTH2.
    pub fn uses_oauth2(&self) -> Result<bool, ConfigError> {
        let inbox = self.inbox()?;
        let outbound = self.outbound()?;
        Ok(
            (inbox.kind == InboxKind::Imap && inbox.auth == AuthMethod::Xoauth2)
                || (outbound.kind == OutboundKind::Smtp && outbound.auth == AuthMethod::Xoauth2),
        )
    }

    fn oauth2_if_used(&self) -> Result<(), ConfigError> {
        if self.uses_oauth2()? {
            self.oauth2().map(drop)
        } else {
            self.section::<OAuth2Config>("oauth2").map(drop)
        }
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| {
        let help = (e.kind() == std::io::ErrorKind::NotFound).then(|| {
            format!(
                "`circle-relay --config {} init` writes a commented sample there",
                path.display()
            )
        });
        ConfigError::new(
            path.display().to_string(),
            "file",
            format!("cannot read: {e}"),
        )
        .with_help(help)
    })
}

fn env_error(name: &str, place: &str, message: &str) -> ConfigError {
    ConfigError::new(format!("environment variable {name}"), place, message)
}

/// A TOML syntax error at its place in the file, with toml's own words.
fn syntax_error(origin: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let mut error = ConfigError::new(origin, "syntax", e.message().trim());
    error.location = e.span().map(|span| {
        let start = span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line = text[line_start..].lines().next().unwrap_or("");
        let column = text[line_start..start].chars().count() + 1;
        let width = text[start..span.end.min(text.len()).max(start)]
            .lines()
            .next()
            .map_or(1, |s| s.chars().count());
        Box::new(Location {
            line: text[..line_start].matches('\n').count() + 1,
            column,
            text: line.trim_end_matches('\r').to_string(),
            width,
        })
    });
    error
}

/// The `[section]` header's line.
fn section_line(text: &str, section: &str) -> Option<Location> {
    text.lines().enumerate().find_map(|(i, line)| {
        let header = line.trim_start().strip_prefix('[')?;
        let name = header.split(']').next()?.trim();
        (name == section).then(|| Location {
            line: i + 1,
            column: line.find('[').unwrap_or(0) + 1,
            text: line.to_string(),
            width: name.chars().count() + 2,
        })
    })
}

/// The keys a section takes, for "did you mean".
fn section_keys(section: &str) -> Vec<String> {
    fn of<T: Serialize + Default>() -> Vec<String> {
        match toml::Value::try_from(T::default()) {
            Ok(toml::Value::Table(t)) => t.keys().cloned().collect(),
            _ => vec![],
        }
    }
    match section {
        "circle" => of::<CircleConfig>(),
        "database" => of::<DatabaseConfig>(),
        "inbox" => of::<InboxConfig>(),
        "outbound" => of::<OutboundConfig>(),
        "matching" => of::<MatchingConfig>(),
        "relay" => of::<RelayConfig>(),
        "digest" => of::<DigestConfig>(),
        "security" => of::<SecurityConfig>(),
        "log" => of::<LogConfig>(),
        "server" => of::<ServerConfig>(),
        _ => vec![],
    }
}

/// The TOML type of `section.key` in the defaults, so an environment string
/// can be turned into the value the file would have held.
fn expected_type(section: &str, key: &str) -> Option<&'static str> {
    fn of<T: Serialize + Default>(key: &str) -> Option<&'static str> {
        let v = toml::Value::try_from(T::default()).ok()?;
        Some(v.get(key)?.type_str())
    }
    match section {
        "circle" => of::<CircleConfig>(key),
        "database" => of::<DatabaseConfig>(key),
        "inbox" => of::<InboxConfig>(key),
        "outbound" => of::<OutboundConfig>(key),
        "matching" => of::<MatchingConfig>(key),
        "relay" => of::<RelayConfig>(key),
        "digest" => of::<DigestConfig>(key),
        "security" => of::<SecurityConfig>(key),
        "log" => of::<LogConfig>(key),
        "server" => of::<ServerConfig>(key),
        "moderation" => of::<ModerationConfig>(key),
        "oauth2" => of::<OAuth2Config>(key),
        _ => None,
    }
}

fn typed_env_value(expected: Option<&str>, value: &str) -> Result<toml::Value, String> {
    match expected {
        Some("integer") => value
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("{value:?} is not a whole number")),
        Some("boolean") => match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("{value:?} is not true or false")),
        },
        Some("array") => Ok(toml::Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        )),
        // Strings, and unknown keys (the section's own check names them).
        _ => Ok(toml::Value::String(value.to_string())),
    }
}

#[cfg(test)]
mod tests;
