//! The command line (SPEC "Command line"): one file per command group, each a
//! thin layer over the library.

mod auth;
mod check;
mod db;
mod demo;
mod digest;
mod explain;
mod generate;
mod holds;
pub(crate) mod inbox;
mod init;
mod match_cmd;
mod members;
pub(crate) mod outbox;
mod requests;
mod send;
mod table;
mod time;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};
use crate::store::Store;
use crate::store::diagnose::Missing;

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
    /// The database itself.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Messages moved aside with their reasons; handle one again.
    #[command(subcommand)]
    Inbox(inbox::InboxCommand),
    /// The mail waiting, held, failed or sent, and what to do with it.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// A self-contained tour on embedded defaults.
    Demo {
        /// Also show the daemon's log lines (info and above), not only warnings.
        #[arg(short, long)]
        verbose: bool,
    },
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
    /// Forward a request to a member you choose (e.g. one the admins' alert
    /// names as close): an ordinary forward they answer by reply.
    Forward {
        /// The request number (`requests list`).
        number: i64,
        /// The member's address.
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Print one member's digest (subject and text).
    Preview {
        email: String,
        /// Print the HTML part instead, to open in a browser.
        #[arg(long)]
        html: bool,
    },
    /// Queue this week's digest for everyone who has not had it; a running
    /// daemon sends it at once.
    Send {
        /// Send from this command instead of leaving it to a daemon (the same
        /// claim as the daemon's: nothing goes out twice).
        #[arg(long)]
        now: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // These describe the command line itself: no config, no logging.
    match &cli.command {
        Command::Completions { shell } => return generate::completions(*shell),
        Command::Man { out_dir } => return generate::man(out_dir.as_deref()),
        _ => {}
    }
    let config = match (&cli.command, cli.config.as_deref()) {
        // `init` writes the file it is given: that it is missing is expected
        (Command::Init { .. }, Some(path)) if !path.exists() => Config::embedded()?,
        (_, path) => Config::load(path)?,
    };
    let log = config.log()?;
    let format = match cli.log_format.as_deref() {
        Some("json") => LogFormat::Json,
        Some(_) => LogFormat::Text,
        None => log.format,
    };
    // The demo is a tour for a person: its own lines, and the log only for warnings.
    let level = match cli.command {
        Command::Demo { verbose: false } if std::env::var_os("RUST_LOG").is_none() => "warn".into(),
        _ => log.level,
    };
    crate::telemetry::init(format, &level);
    match cli.command {
        Command::Init { force } => init::run(&cli_path(&cli.config), &config, force).await,
        Command::Migrate => {
            let store = open_store_creating(&config, Missing::Create).await?;
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
        Command::Auth(cmd) => auth::run(cmd, &config).await,
        Command::Outbox(cmd) => outbox::run(cmd, &config).await,
        Command::Inbox(cmd) => inbox::run(cmd, &config).await,
        Command::Db(cmd) => db::run(cmd, &config).await,
        Command::Demo { .. } => demo::run().await,
        // Answered above, before the config is read.
        Command::Completions { .. } | Command::Man { .. } => Ok(()),
    }
}

fn cli_path(config: &Option<PathBuf>) -> PathBuf {
    config
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_PATH))
}

/// The bytes of `file`, or of stdin for `-`; `what` names them in the error.
pub(crate) fn read_input(file: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context;
    use std::io::Read;
    if file.as_os_str() == "-" {
        let mut raw = Vec::new();
        std::io::stdin()
            .read_to_end(&mut raw)
            .with_context(|| format!("cannot read the {what} from stdin"))?;
        return Ok(raw);
    }
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

/// Opens the database named by `[database]` and applies pending migrations.
/// Without a config file a missing SQLite database is not created: the
/// command was most likely run in the wrong folder.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let db = config.database()?;
    if config.is_embedded_default() {
        let missing = crate::store::diagnose::sqlite_path(db.url.expose()).filter(|p| !p.exists());
        if let Some(path) = missing {
            anyhow::bail!(no_config_message(&path));
        }
    }
    open_store_creating(config, Missing::Create).await
}

/// Opens the database, creating a missing SQLite file only when told to.
pub(crate) async fn open_store_creating(
    config: &Config,
    missing: Missing,
) -> anyhow::Result<Store> {
    let db = config.database()?;
    Ok(crate::store::diagnose::open(&db, missing).await?)
}

fn no_config_message(db: &std::path::Path) -> String {
    let looked = std::env::current_dir()
        .map(|d| d.join(crate::config::DEFAULT_PATH))
        .unwrap_or_else(|_| PathBuf::from(crate::config::DEFAULT_PATH));
    format!(
        "no config file: looked for {}, and there is no database {} here either\n  \
         = help: run `circle-relay init` to start a circle in this folder, or pass --config PATH \
         (or set CIRCLE_RELAY_CONFIG) to use an existing one",
        looked.display(),
        db.display()
    )
}
