//! The Maildir inbox (`kind = "maildir"`): the same contract as IMAP on a
//! local Maildir. Waiting mail is in `new/` (and `cur/`, when another reader
//! looked at it first); handled mail is renamed into the Maildir++ subfolders
//! `.Processed/cur/` and `.Failed/cur/` (an atomic rename on one file
//! system: nothing is copied, nothing deleted). The ledger key is the file's
//! unique name (before `:2,`) with uidvalidity 0.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tracing::{debug, info};

use super::error::{InboxError, Result};
use super::{Folder, MessageKey, Pending, Shutdown};
use crate::config::InboxConfig;

/// How often `new/` is looked at while waiting (cheap: one directory read).
const NEW_CHECK: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct MaildirInbox {
    root: PathBuf,
    mailbox_id: String,
    processed: PathBuf,
    failed: PathBuf,
    spam: PathBuf,
    max_message_bytes: u64,
    poll: Duration,
    /// Where each listed message's file was last seen.
    paths: HashMap<String, PathBuf>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> InboxError + '_ {
    move |e| InboxError::maildir(path, e)
}

/// `1700000000.M1P2.host:2,S` → `1700000000.M1P2.host`.
fn unique_name(file_name: &str) -> &str {
    file_name.split(':').next().unwrap_or(file_name)
}

impl MaildirInbox {
    pub fn new(config: &InboxConfig) -> Result<Self> {
        if config.path.is_empty() {
            return Err(InboxError::Config("maildir inbox needs a path".into()));
        }
        let root = PathBuf::from(&config.path);
        let sub = |name: &str| root.join(format!(".{}", name.trim_start_matches('.')));
        Ok(Self {
            mailbox_id: format!("maildir:{}", root.display()),
            processed: sub(&config.processed_folder),
            failed: sub(&config.failed_folder),
            spam: sub(&config.spam_folder),
            root,
            max_message_bytes: config.max_message_bytes,
            poll: Duration::from_secs(config.poll_seconds.max(1)),
            paths: HashMap::new(),
        })
    }

    pub fn mailbox_id(&self) -> &str {
        &self.mailbox_id
    }

    pub fn max_message_bytes(&self) -> u64 {
        self.max_message_bytes
    }

    /// Creates the Maildir itself and its processed/failed/spam subfolders where
    /// missing. New directories get the owner of the Maildir root, so an MTA
    /// or IMAP server delivering as that user can still use them.
    pub fn ensure_folders(&mut self) -> Result<()> {
        let owner = fs::metadata(&self.root).ok().map(|m| (m.uid(), m.gid()));
        for dir in [&self.root, &self.processed, &self.failed, &self.spam] {
            for leaf in ["new", "cur", "tmp"] {
                let path = dir.join(leaf);
                if !path.is_dir() {
                    fs::create_dir_all(&path).map_err(io_err(&path))?;
                    info!(dir = %path.display(), "created maildir folder");
                    if let Some((uid, gid)) = owner {
                        // Best effort: only root can give files away.
                        let _ = std::os::unix::fs::chown(&path, Some(uid), Some(gid));
                        let _ = std::os::unix::fs::chown(dir, Some(uid), Some(gid));
                    }
                }
            }
            if dir != &self.root {
                let marker = dir.join("maildirfolder");
                if !marker.exists() {
                    fs::write(&marker, b"").map_err(io_err(&marker))?;
                }
            }
        }
        Ok(())
    }

    fn list(&self, leaf: &str, out: &mut Vec<(SystemTime, String, PathBuf, u64)>) -> Result<()> {
        let dir = self.root.join(leaf);
        let entries = fs::read_dir(&dir).map_err(io_err(&dir))?;
        for entry in entries {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') {
                continue;
            }
            // The file may be renamed away between listing and stat: skip it.
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            out.push((
                mtime,
                unique_name(name).to_string(),
                entry.path(),
                meta.len(),
            ));
        }
        Ok(())
    }

    /// Up to `max` waiting messages, oldest first.
    pub fn fetch_batch(&mut self, max: usize) -> Result<Vec<Pending>> {
        let mut found = Vec::new();
        self.list("new", &mut found)?;
        self.list("cur", &mut found)?;
        found.sort();
        self.paths.clear();
        let mut batch = Vec::new();
        for (_, unique, path, size) in found {
            if batch.len() >= max.max(1) {
                break;
            }
            if self.paths.insert(unique.clone(), path).is_some() {
                continue; // the same message in new/ and cur/: count it once
            }
            batch.push(Pending {
                key: MessageKey {
                    mailbox: self.mailbox_id.clone(),
                    uidvalidity: 0,
                    uid: unique,
                },
                size,
            });
        }
        debug!(count = batch.len(), "listed waiting messages");
        Ok(batch)
    }

    fn path_of(&self, key: &MessageKey) -> Result<&PathBuf> {
        self.paths
            .get(&key.uid)
            .ok_or_else(|| InboxError::Gone(key.to_string()))
    }

    /// The whole file, read no further than the size limit allows.
    pub fn fetch_raw(&mut self, key: &MessageKey) -> Result<Vec<u8>> {
        let path = self.path_of(key)?;
        let file = fs::File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => InboxError::Gone(key.to_string()),
            _ => InboxError::maildir(path, e),
        })?;
        let mut raw = Vec::new();
        file.take(self.max_message_bytes.saturating_add(1))
            .read_to_end(&mut raw)
            .map_err(io_err(path))?;
        Ok(raw)
    }

    /// Renames the file into the folder's `cur/`, marked seen.
    pub fn finish(&mut self, key: &MessageKey, folder: Folder) -> Result<()> {
        let from = self.path_of(key)?.clone();
        let dir = match folder {
            Folder::Processed => &self.processed,
            Folder::Failed => &self.failed,
            Folder::Spam => &self.spam,
        };
        let flags = from
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split_once(":2,"))
            .map(|(_, f)| f.to_string())
            .unwrap_or_default();
        let flags = if flags.contains('S') {
            flags
        } else {
            sorted_flags(&flags, 'S')
        };
        let to = dir.join("cur").join(format!("{}:2,{flags}", key.uid));
        fs::rename(&from, &to).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound if !from.exists() => InboxError::Gone(key.to_string()),
            _ => InboxError::maildir(&to, e),
        })?;
        self.paths.remove(&key.uid);
        Ok(())
    }

    fn new_is_empty(&self) -> bool {
        fs::read_dir(self.root.join("new"))
            .map(|mut d| {
                !d.any(|e| {
                    e.ok()
                        .and_then(|e| e.file_name().to_str().map(|n| !n.starts_with('.')))
                        .unwrap_or(false)
                })
            })
            .unwrap_or(true)
    }

    /// Returns once `new/` holds a file, after `poll_seconds`, or on shutdown.
    pub async fn wait_for_new(&mut self, shutdown: &mut Shutdown) -> Result<()> {
        let deadline = tokio::time::Instant::now() + self.poll;
        while tokio::time::Instant::now() < deadline && self.new_is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(NEW_CHECK) => {}
                _ = shutdown.wait() => return Ok(()),
            }
        }
        Ok(())
    }
}

/// Maildir flags are kept in ASCII order.
fn sorted_flags(flags: &str, add: char) -> String {
    let mut f: Vec<char> = flags.chars().chain(std::iter::once(add)).collect();
    f.sort_unstable();
    f.dedup();
    f.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_name_strips_info() {
        assert_eq!(unique_name("123.M4P5.host:2,RS"), "123.M4P5.host");
        assert_eq!(unique_name("123.M4P5.host"), "123.M4P5.host");
    }

    #[test]
    fn flags_sorted_and_deduplicated() {
        assert_eq!(sorted_flags("R", 'S'), "RS");
        assert_eq!(sorted_flags("T", 'S'), "ST");
        assert_eq!(sorted_flags("", 'S'), "S");
    }
}
