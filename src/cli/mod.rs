//! The command line (SPEC "Command line"): one file per command group, each a
//! thin layer over the library.

mod auth;
mod check;
mod demo;
mod digest;
mod explain;
mod generate;
mod holds;
mod init;
mod match_cmd;
mod members;
mod requests;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "circle-relay",
    version,
    about = "One email address for a professional peer circle"
)]
pub struct Cli {
    /// Config file (default ./circle-relay.toml; embedded defaults when that is missing).
    #[arg(long, global = true, env = "CIRCLE_RELAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format: text or json (overrides [log] format).
    #[arg(long, global = true, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented sample config and create the database.
    Init {
        /// Overwrite an existing config file.
        #[arg(long)]
        force: bool,
    },
    /// Apply database migrations.
    Migrate,
    /// Validate the config, log in to IMAP and SMTP, report.
    Check,
    /// Run the daemon until SIGTERM/SIGINT.
    Run,
    /// The member directory.
    #[command(subcommand)]
    Members(members::MembersCommand),
    /// Rank members for a request message; sends nothing.
    Match(match_cmd::MatchArgs),
    /// What the relay makes of one message (no database, no side effects).
    Explain(explain::ExplainArgs),
    /// What came in and what happened.
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// The weekly digest.
    #[command(subcommand)]
    Digest(DigestCommand),
    /// A self-contained tour on embedded defaults.
    Demo,
    /// OAuth2 sign-in (`auth login`).
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (circle-relay.1), or write every page into a folder.
    Man {
        /// Write circle-relay.1 and one page per subcommand into this folder.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// List requests.
    List {
        /// List held and refused mail instead (hold numbers, reason, state).
        #[arg(long)]
        held: bool,
    },
    /// Show one request and what happened to it.
    Show { number: i64 },
    /// Let a held or refused request through: it is forwarded as any request.
    Approve {
        /// The hold number (`requests list --held`).
        number: i64,
    },
    /// Reject a held request (the requester gets a polite note when asked for).
    Reject {
        /// The hold number (`requests list --held`).
        number: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Print one member's digest.
    Preview { email: String },
    /// Send the digest now.
    Send,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // These describe the command line itself: no config, no logging.
    match &cli.command {
        Command::Completions { shell } => return generate::completions(*shell),
        Command::Man { out_dir } => return generate::man(out_dir.as_deref()),
        _ => {}
    }
    let config = Config::load(cli.config.as_deref())?;
    let log = config.log()?;
    let format = match cli.log_format.as_deref() {
        Some("json") => LogFormat::Json,
        Some(_) => LogFormat::Text,
        None => log.format,
    };
    crate::telemetry::init(format, &log.level);
    match cli.command {
        Command::Init { force } => init::run(&cli_path(&cli.config), &config, force).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.close().await;
            println!("database is up to date");
            Ok(())
        }
        Command::Members(cmd) => members::run(cmd, &config).await,
        Command::Match(args) => match_cmd::run(args, &config).await,
        Command::Explain(args) => explain::run(args, &config).await,
        Command::Check => check::run(&config).await,
        Command::Run => {
            if config.is_embedded_default() {
                tracing::info!(
                    "no config file: running on the embedded defaults (SQLite file, Maildir in and out)"
                );
            }
            let daemon = crate::daemon::Daemon::build(&config).await?;
            tracing::info!("circle-relay is running");
            daemon.run(crate::daemon::shutdown_on_signals()).await;
            Ok(())
        }
        Command::Requests(cmd) => requests::run(cmd, &config).await,
        Command::Digest(cmd) => digest::run(cmd, &config).await,
        Command::Demo => demo::run().await,
        Command::Auth(cmd) => auth::run(cmd, &config).await,
        // Answered above, before the config is read.
        Command::Completions { .. } | Command::Man { .. } => Ok(()),
    }
}

fn cli_path(config: &Option<PathBuf>) -> PathBuf {
    config
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_PATH))
}

/// Opens the database named by `[database]` and applies pending migrations.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let db = config.database()?;
    Store::connect(&db)
        .await
        .with_context(|| format!("cannot open the database {}", db.url))
}
