//! `circle-relay init`: a commented sample config and the database.

use std::path::Path;

use anyhow::Context;

use crate::config::{Config, SAMPLE};

pub async fn run(path: &Path, config: &Config, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        println!(
            "{} already exists; left as it is (--force overwrites it)",
            path.display()
        );
    } else {
        std::fs::write(path, SAMPLE).with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "wrote {}: every key with its default, commented",
            path.display()
        );
    }
    // Re-read what is now on disk so the database is the one the file names.
    let written = Config::load(Some(path)).unwrap_or_else(|_| config.clone());
    let store =
        super::open_store_creating(&written, crate::store::diagnose::Missing::Create).await?;
    store.close().await;
    println!("database {} is ready", written.database()?.url);
    Ok(())
}
