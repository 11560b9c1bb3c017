//! Folders the server's way: the personal namespace (RFC 2342 NAMESPACE, or
//! the hierarchy separator from `LIST "" ""` where a server lacks it) decides
//! where `Processed`, `Failed` and `Spam` live. On a classic Cyrus the personal
//! namespace is `INBOX.`, and a bare `Processed` becomes `INBOX.Processed`;
//! a name that already starts with a namespace prefix is used as given.
//!
//! A folder that cannot be created is reported (which folder, the server's
//! answer, the setting to change), never fatal: messages bound for it stay in
//! the inbox with their ledger row, so nothing is lost or handled twice.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{debug, info};

use super::Folder;
use super::error::{InboxError, Result};
use super::imap::ImapInbox;
use super::imap_stream::{ImapStream, step};

/// One namespace: its prefix (e.g. `INBOX.`) and hierarchy separator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Namespace {
    pub prefix: String,
    pub separator: Option<char>,
}

/// What the server said about its namespaces.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Namespaces {
    pub personal: Namespace,
    /// Prefixes of the other users' and shared namespaces.
    pub others: Vec<String>,
    /// True when the server has no NAMESPACE: only the separator is known.
    pub guessed: bool,
}

impl Namespaces {
    /// Where a configured folder name lives on this server.
    pub fn place(&self, name: &str) -> String {
        let prefix = &self.personal.prefix;
        let has_prefix = |p: &String| !p.is_empty() && starts_with_prefix(name, p);
        if prefix.is_empty()
            || name.eq_ignore_ascii_case("INBOX")
            || has_prefix(prefix)
            || self.others.iter().any(has_prefix)
        {
            name.to_string()
        } else {
            format!("{prefix}{name}")
        }
    }
}

/// `INBOX` is case-insensitive (RFC 3501 §5.1); the rest of a prefix is not.
fn starts_with_prefix(name: &str, prefix: &str) -> bool {
    let (n, p) = (name.as_bytes(), prefix.as_bytes());
    if n.len() < p.len() {
        return false;
    }
    let inbox = p.len() >= 5 && p[..5].eq_ignore_ascii_case(b"INBOX");
    if inbox {
        n[..5].eq_ignore_ascii_case(b"INBOX") && n[5..p.len()] == p[5..]
    } else {
        n[..p.len()] == *p
    }
}

/// A folder the server would not create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderProblem {
    /// The folder's name on the server.
    pub folder: String,
    /// The `[inbox]` key that names it.
    pub setting: &'static str,
    /// The server's answer to CREATE.
    pub answer: String,
    /// The personal namespace prefix, to suggest a name that works.
    pub prefix: String,
}

impl fmt::Display for FolderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the IMAP server refused to create folder {:?} ({}); create it yourself or set [inbox] {} \
             to a folder that exists or can be created",
            self.folder, self.answer, self.setting
        )?;
        if !self.prefix.is_empty() && !starts_with_prefix(&self.folder, &self.prefix) {
            write!(f, " (e.g. under the personal namespace {:?})", self.prefix)?;
        }
        f.write_str("; until then such mail stays in the inbox, recorded and not handled again")
    }
}

fn setting_of(folder: Folder) -> &'static str {
    match folder {
        Folder::Processed => "processed_folder",
        Folder::Failed => "failed_folder",
        Folder::Spam => "spam_folder",
    }
}

impl ImapInbox {
    /// The configured name of `folder`, before namespace placement.
    fn configured(&self, folder: Folder) -> &str {
        match folder {
            Folder::Processed => &self.config.processed_folder,
            Folder::Failed => &self.config.failed_folder,
            Folder::Spam => &self.config.spam_folder,
        }
    }

    /// The folder's name on the server (placed in the personal namespace).
    pub fn folder_name(&self, folder: Folder) -> String {
        match self.under_inbox.get(&folder) {
            Some(name) => name.clone(),
            None => self.namespaces.place(self.configured(folder)),
        }
    }

    /// The server's refusal to create `folder`, if it refused.
    pub(super) fn unavailable(&self, folder: Folder) -> Option<&FolderProblem> {
        self.unavailable.get(&folder)
    }

    /// Creates the processed, failed and spam folders where missing; the
    /// ones the server refuses are returned (and remembered), not an error.
    pub(super) async fn ensure_folders_inner(&mut self) -> Result<Vec<FolderProblem>> {
        let t = self.timeouts.command;
        self.session().await?; // connects first: the names depend on the namespaces
        self.under_inbox.clear();
        let wanted: Vec<(Folder, String)> = [Folder::Processed, Folder::Failed, Folder::Spam]
            .into_iter()
            .map(|f| (f, self.folder_name(f)))
            .collect();
        let prefix = self.namespaces.personal.prefix.clone();
        let fallback = |name: &str| self.inbox_fallback(name);
        let fallbacks: Vec<Option<String>> = wanted.iter().map(|(_, n)| fallback(n)).collect();
        let session = self.session().await?;
        let names = list_names(session, t).await?;
        let mut problems = HashMap::new();
        let mut placed = HashMap::new();
        for ((folder, name), fallback) in wanted.into_iter().zip(fallbacks) {
            if names.contains(&name) {
                continue;
            }
            if let Some(other) = fallback.as_ref().filter(|f| names.contains(f)) {
                placed.insert(folder, other.clone()); // made under INBOX by an earlier run
                continue;
            }
            info!(folder = %name, "creating IMAP folder");
            let answer = match create(session, &name, t).await? {
                None => continue,
                Some(answer) => answer,
            };
            if let Some(other) = fallback {
                // No NAMESPACE to ask: try where classic servers keep folders, once.
                info!(folder = %other, refused = %name, %answer, "creating IMAP folder under INBOX instead");
                if create(session, &other, t).await?.is_none() {
                    placed.insert(folder, other);
                    continue;
                }
            }
            let setting = setting_of(folder);
            let p = FolderProblem {
                folder: name,
                setting,
                answer,
                prefix: prefix.clone(),
            };
            problems.insert(folder, p);
        }
        self.under_inbox = placed;
        self.unavailable = problems;
        Ok(self.unavailable.values().cloned().collect())
    }

    /// `INBOX<sep>name` for a bare name on a server that did not say its
    /// namespaces (no NAMESPACE) but told its separator.
    fn inbox_fallback(&self, name: &str) -> Option<String> {
        let sep = self.namespaces.personal.separator?;
        let bare = !name.contains(sep) && !name.eq_ignore_ascii_case("INBOX");
        (self.namespaces.guessed && bare).then(|| format!("INBOX{sep}{name}"))
    }
}

/// CREATE `name`: `None` when made, the server's answer when refused.
async fn create(
    session: &mut Session<ImapStream>,
    name: &str,
    t: Duration,
) -> Result<Option<String>> {
    match step("CREATE", t, session.create(name)).await {
        Ok(()) => Ok(None),
        Err(InboxError::Server { detail, .. }) => {
            let answer = server_text(&detail);
            // made meanwhile (another client, or a LIST that ran before it
            // was made): the folder is there, which is all we asked for
            Ok((!already_exists(&answer)).then_some(answer))
        }
        Err(e) => Err(e),
    }
}

/// A CREATE refused because the folder is there: RFC 5530's
/// `[ALREADYEXISTS]`, or the plain words of servers without the code.
fn already_exists(answer: &str) -> bool {
    let a = answer.to_ascii_lowercase();
    a.contains("[alreadyexists]") || a.contains("mailbox already exists")
}

/// async-imap words a NO as `code: None, info: Some("Permission denied")`:
/// keep the server's own words.
fn server_text(detail: &str) -> String {
    detail
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map_or(detail, |(text, _)| text)
        .to_string()
}

async fn list_names(session: &mut Session<ImapStream>, t: Duration) -> Result<Vec<String>> {
    step("LIST", t, async {
        let list = session.list(Some(""), Some("*")).await?;
        let names: Vec<_> = list.try_collect().await?;
        Ok::<_, async_imap::error::Error>(names.iter().map(|n| n.name().to_string()).collect())
    })
    .await
}

/// Learns the namespaces right after login: NAMESPACE where the server has
/// it, else the separator from `LIST "" ""` (names then stay as given).
pub(super) async fn discover(
    session: &mut Session<ImapStream>,
    has_namespace: bool,
    t: Duration,
) -> Result<Namespaces> {
    if has_namespace {
        let line = step("NAMESPACE", t, raw_namespace(session)).await?;
        if let Some(ns) = line.as_deref().and_then(parse_namespace) {
            debug!(?ns, "IMAP namespaces");
            return Ok(ns);
        }
    }
    let separator = step("LIST \"\" \"\"", t, async {
        // async-imap sends the pattern unquoted: None is `""`, Some("") nothing.
        let list = session.list(Some(""), None).await?;
        let names: Vec<_> = list.try_collect().await?;
        Ok::<_, async_imap::error::Error>(
            names
                .first()
                .and_then(|n| n.delimiter())
                .and_then(|d| d.chars().next()),
        )
    })
    .await?;
    Ok(Namespaces {
        personal: Namespace {
            prefix: String::new(),
            separator,
        },
        others: Vec::new(),
        guessed: true,
    })
}

/// Sends NAMESPACE on the raw stream: async-imap's parser does not know the
/// answer and would fail the connection on it. Called right after login,
/// before SELECT, when nothing else is in flight or buffered. Returns the
/// `* NAMESPACE` line, if the server sent one.
async fn raw_namespace(session: &mut Session<ImapStream>) -> std::io::Result<Option<String>> {
    const TAG: &str = "CRNS1";
    let stream = session.get_mut();
    stream
        .write_all(format!("{TAG} NAMESPACE\r\n").as_bytes())
        .await?;
    stream.flush().await?;
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed during NAMESPACE",
            ));
        }
        text.extend_from_slice(&buf[..n]);
        let s = String::from_utf8_lossy(&text);
        if s.lines().any(|l| l.starts_with(TAG)) && s.ends_with("\r\n") {
            let found = s
                .lines()
                .find(|l| l.to_ascii_uppercase().starts_with("* NAMESPACE "))
                .map(str::to_string);
            return Ok(found);
        }
        if text.len() > 64 * 1024 {
            return Ok(None); // not a NAMESPACE answer we can use
        }
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Open,
    Close,
    Str(String),
    Nil,
}

fn tokens(s: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            ' ' => {}
            '"' => {
                let mut v = String::new();
                loop {
                    match chars.next()? {
                        '\\' => v.push(chars.next()?),
                        '"' => break,
                        c => v.push(c),
                    }
                }
                out.push(Token::Str(v));
            }
            _ => {
                let mut atom = String::from(c);
                while let Some(&c) = chars.peek().filter(|c| !matches!(c, ' ' | '(' | ')')) {
                    atom.push(c);
                    chars.next();
                }
                if !atom.eq_ignore_ascii_case("NIL") {
                    return None; // literals and the like: not worth guessing
                }
                out.push(Token::Nil);
            }
        }
    }
    Some(out)
}

/// One of the three groups: NIL or `(("prefix" "sep" ext…) …)`.
fn group(toks: &[Token], i: &mut usize) -> Option<Vec<Namespace>> {
    match toks.get(*i)? {
        Token::Nil => {
            *i += 1;
            return Some(Vec::new());
        }
        Token::Open => *i += 1,
        _ => return None,
    }
    let mut out = Vec::new();
    while toks.get(*i)? == &Token::Open {
        *i += 1;
        let Token::Str(prefix) = toks.get(*i)? else {
            return None;
        };
        let separator = match toks.get(*i + 1)? {
            Token::Str(s) => s.chars().next(),
            Token::Nil => None,
            _ => return None,
        };
        *i += 2;
        let mut depth = 1; // skip namespace response extensions
        while depth > 0 {
            match toks.get(*i)? {
                Token::Open => depth += 1,
                Token::Close => depth -= 1,
                _ => {}
            }
            *i += 1;
        }
        out.push(Namespace {
            prefix: prefix.clone(),
            separator,
        });
    }
    (toks.get(*i)? == &Token::Close).then(|| *i += 1)?;
    Some(out)
}

/// Parses `* NAMESPACE personal other shared`.
pub fn parse_namespace(line: &str) -> Option<Namespaces> {
    let rest = line.get("* NAMESPACE ".len()..)?;
    let toks = tokens(rest.trim_end())?;
    let mut i = 0;
    let personal = group(&toks, &mut i)?;
    let other = group(&toks, &mut i)?;
    let shared = group(&toks, &mut i)?;
    Some(Namespaces {
        personal: personal.first().cloned().unwrap_or_default(),
        others: other
            .iter()
            .chain(shared.iter())
            .chain(personal.iter().skip(1))
            .map(|n| n.prefix.clone())
            .collect(),
        guessed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_made_meanwhile_is_no_refusal() {
        assert!(already_exists(
            "[ALREADYEXISTS] Mailbox already exists (0.001 + 0.001 secs)."
        ));
        assert!(already_exists("Mailbox already exists"));
        assert!(!already_exists("Permission denied"));
        assert!(!already_exists("[NOPERM] Permission denied"));
    }

    fn cyrus() -> Namespaces {
        parse_namespace(r#"* NAMESPACE (("INBOX." ".")) (("user." ".")) (("" "."))"#)
            .expect("parses")
    }

    #[test]
    fn parses_cyrus_classic_and_dovecot() {
        let c = cyrus();
        assert_eq!(c.personal.prefix, "INBOX.");
        assert_eq!(c.personal.separator, Some('.'));
        assert_eq!(c.others, vec!["user.".to_string(), String::new()]);
        let d = parse_namespace(r#"* NAMESPACE (("" "/")) NIL NIL"#).expect("parses");
        assert_eq!(d.personal.prefix, "");
        assert_eq!(d.personal.separator, Some('/'));
        assert!(d.others.is_empty());
        let ext = parse_namespace(
            r##"* NAMESPACE (("" "/" "X-PARAM" ("a" "b"))) (("~" "/")) (("#shared/" "/") ("#public/" "/"))"##,
        )
        .expect("parses extensions");
        assert_eq!(ext.others, vec!["~", "#shared/", "#public/"]);
        assert!(parse_namespace("* NAMESPACE {5}").is_none());
        assert!(parse_namespace("* NAMESPACE ((\"x\"").is_none());
    }

    #[test]
    fn parses_couriers_two_shared_namespaces() {
        // Courier-IMAP 5.0: no space between the shared entries.
        let c = parse_namespace(
            r##"* NAMESPACE (("INBOX." ".")) NIL (("#shared." ".")("shared." "."))"##,
        )
        .expect("parses");
        assert_eq!(c.personal.prefix, "INBOX.");
        assert_eq!(c.others, vec!["#shared.", "shared."]);
        assert_eq!(c.place("Processed"), "INBOX.Processed");
        assert_eq!(c.place("shared.Processed"), "shared.Processed");
    }

    #[test]
    fn bare_names_go_under_the_personal_prefix() {
        let c = cyrus();
        assert_eq!(c.place("Processed"), "INBOX.Processed");
        assert_eq!(c.place("Relay.Failed"), "INBOX.Relay.Failed");
        assert_eq!(c.place("INBOX.Processed"), "INBOX.Processed");
        assert_eq!(c.place("inbox.Processed"), "inbox.Processed");
        assert_eq!(c.place("user.bob.Spam"), "user.bob.Spam");
        assert_eq!(c.place("INBOX"), "INBOX");
        assert_eq!(c.place("処理済み"), "INBOX.処理済み");
        let d = parse_namespace(r#"* NAMESPACE (("" "/")) NIL NIL"#).expect("parses");
        assert_eq!(d.place("Processed"), "Processed");
        assert_eq!(Namespaces::default().place("Failed"), "Failed");
    }

    #[test]
    fn server_text_is_the_servers_words() {
        let d = r#"code: None, info: Some("Permission denied")"#;
        assert_eq!(server_text(d), "Permission denied");
        assert_eq!(server_text("plain"), "plain");
    }

    #[test]
    fn a_problem_names_folder_answer_and_setting() {
        let p = FolderProblem {
            folder: "Processed".into(),
            setting: "processed_folder",
            answer: "Permission denied".into(),
            prefix: "INBOX.".into(),
        };
        let text = p.to_string();
        for part in [
            "\"Processed\"",
            "Permission denied",
            "[inbox] processed_folder",
            "\"INBOX.\"",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }
}
