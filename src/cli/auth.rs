//! `circle-relay auth login`: obtain and store an OAuth2 grant where the
//! provider needs a person once (a Google OAuth client, or a generic provider
//! with `auth_url`).

use std::io::Write;
use std::time::Duration;

use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign in once in a browser; the grant is stored in the database.
    Login {
        /// How long to wait for the browser, in seconds.
        #[arg(long, default_value_t = 600)]
        wait_seconds: u64,
    },
}

pub async fn run(cmd: AuthCommand, config: &Config) -> anyhow::Result<()> {
    let AuthCommand::Login { wait_seconds } = cmd;
    let oauth2 = config.oauth2()?;
    let store = super::open_store(config).await?;
    let mut say = |line: String| {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    let result = crate::oauth2::login::login(
        &oauth2,
        store.clone(),
        Duration::from_secs(wait_seconds),
        &mut say,
    )
    .await;
    store.close().await;
    let done = result?;
    println!(
        "The grant for {} is stored in the database (an access token lasts {} s and is renewed by itself). Run circle-relay check.",
        done.mailbox, done.expires_in
    );
    Ok(())
}
