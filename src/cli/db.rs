//! `circle-relay db copy --to URL`: the whole history into an empty database
//! of either backend (SQLite → PostgreSQL as a circle grows, or back).

use clap::Subcommand;

use crate::config::{Config, DatabaseConfig, DatabaseUrl};
use crate::store::copy::copy_all;
use crate::store::diagnose::{Missing, open};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy everything into an empty database (migrated first); the counts
    /// of every table are compared. Refused while a daemon reads the inbox.
    Copy {
        /// The target, e.g. postgres://relay:pw@db/circle or sqlite:///var/lib/circle-relay/new.db
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

pub async fn run(cmd: DbCommand, config: &Config) -> anyhow::Result<()> {
    let DbCommand::Copy { to } = cmd;
    let target_url = DatabaseUrl::new(to);
    if !target_url.is_sqlite() && !target_url.is_postgres() {
        anyhow::bail!(
            "--to {}: expected sqlite://FILE or postgres://…",
            target_url.redacted()
        );
    }
    let source = super::open_store(config).await?;
    let source_url = config.database()?.url;
    if source_url.expose() == target_url.expose() {
        anyhow::bail!("--to names the database this config already uses");
    }
    if let Some(holder) = source.running_daemon(source.now()).await? {
        source.close().await;
        anyhow::bail!(
            "a daemon ({holder}) is reading the inbox of this database: stop every daemon first \
             (e.g. systemctl stop circle-relay), so that nothing changes while it is copied"
        );
    }
    let target = open(
        &DatabaseConfig {
            url: target_url.clone(),
            max_connections: 2,
        },
        Missing::Create,
    )
    .await?;
    println!(
        "copying {} → {}",
        source_url.redacted(),
        target_url.redacted()
    );
    let copied = copy_all(&source, &target).await;
    source.close().await;
    target.close().await;
    let counts = copied?;
    for c in &counts {
        println!("  {:<22} {:>8} rows, same in both", c.table, c.rows);
    }
    println!(
        "done: {} tables copied and counted; leases start afresh.\n\
         Point [database] url (or CIRCLE_RELAY_DATABASE_URL) at {} and start the daemon.",
        counts.len(),
        target_url.redacted()
    );
    Ok(())
}
