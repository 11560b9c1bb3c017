//! `circle-relay members …`

use std::fmt::Display;

use super::table::Table;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use crate::config::Config;
use crate::directory::{parse_date, parse_members_csv, write_members_csv};
use crate::domain::{EmailAddress, Language, Member, MemberStatus, TimeZoneName, split_list};
use crate::store::MemberChange;

#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// Add or update members from a CSV file (UTF-8 or Shift_JIS); `-` reads stdin.
    Import {
        file: PathBuf,
        /// Make the directory equal the file: members missing from it are marked `left`.
        #[arg(long)]
        replace: bool,
    },
    /// The directory as CSV on stdout.
    Export,
    /// The directory as a table.
    List,
    /// Add one member.
    Add {
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Separated by `;`, `；` or `、`.
        #[arg(long, default_value = "")]
        skills: String,
        #[arg(long, default_value = "")]
        bio: String,
        /// e.g. `ja;en`: the first is the language mails are sent in.
        #[arg(long, default_value = "")]
        languages: String,
        #[arg(long, default_value = "")]
        region: String,
        /// IANA name such as `Europe/London`; the circle's when omitted.
        #[arg(long)]
        timezone: Option<String>,
    },
    /// Pause a member: no forwards until resumed (or until DATE).
    Pause {
        email: String,
        /// YYYY-MM-DD: the pause ends by itself on this day.
        #[arg(long)]
        until: Option<String>,
    },
    /// Resume a paused member.
    Resume { email: String },
    /// Mark a member as departed (history is kept).
    Remove { email: String },
}

pub async fn run(cmd: MembersCommand, config: &Config) -> anyhow::Result<()> {
    let store = super::open_store(config).await?;
    let result = dispatch(cmd, &store).await;
    store.close().await;
    result
}

async fn dispatch(cmd: MembersCommand, store: &crate::store::Store) -> anyhow::Result<()> {
    match cmd {
        MembersCommand::Import { file, replace } => import(store, &file, replace).await?,
        MembersCommand::Export => {
            let members = store.members().await?;
            write_members_csv(std::io::stdout().lock(), &members)?;
        }
        MembersCommand::List => print_table(&store.members().await?)?,
        MembersCommand::Add {
            email,
            name,
            skills,
            bio,
            languages,
            region,
            timezone,
        } => {
            let member = Member {
                id: 0,
                email: EmailAddress::parse(&email)?,
                name,
                skills: split_list(&skills),
                bio,
                languages: parse_languages(&languages)?,
                region,
                status: MemberStatus::Active,
                paused_until: None,
                timezone: parse_timezone(timezone.as_deref())?,
            };
            let id = store.add_member(&member).await?;
            println!("added {} (member {id})", member.email);
        }
        MembersCommand::Pause { email, until } => pause(store, &email, until).await?,
        MembersCommand::Resume { email } => {
            let m = change(store, &email, MemberChange::Resume).await?;
            println!("resumed {}", m.email);
        }
        MembersCommand::Remove { email } => {
            let m = change(store, &email, MemberChange::Leave).await?;
            println!("{} is marked as left (history is kept)", m.email);
        }
    }
    Ok(())
}

/// `--timezone`, when given.
fn parse_timezone(timezone: Option<&str>) -> anyhow::Result<Option<TimeZoneName>> {
    timezone
        .map(TimeZoneName::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--timezone: {e}"))
}

/// `members pause EMAIL [--until DATE]`.
async fn pause(
    store: &crate::store::Store,
    email: &str,
    until: Option<String>,
) -> anyhow::Result<()> {
    let until = until
        .map(|d| parse_date(&d).map_err(|e| anyhow::anyhow!("--until {e}")))
        .transpose()?;
    let m = change(store, email, MemberChange::Pause { until }).await?;
    match &m.paused_until {
        Some(d) => println!("paused {} until {d}", m.email),
        None => println!("paused {}", m.email),
    }
    Ok(())
}

/// Changes one member's status; the member as it is now.
async fn change(
    store: &crate::store::Store,
    email: &str,
    change: MemberChange,
) -> anyhow::Result<Member> {
    Ok(store
        .change_member(&EmailAddress::parse(email)?, change)
        .await?)
}

/// `members import FILE [--replace]`: prints what changed.
async fn import(store: &crate::store::Store, file: &Path, replace: bool) -> anyhow::Result<()> {
    let bytes = super::read_input(file, "member list")?;
    let members = parse_members_csv(&bytes)
        .with_context(|| format!("{} was not imported", file.display()))?;
    let s = store.import_members(&members, replace).await?;
    let left = if replace {
        format!(", {} marked as left", s.marked_left)
    } else {
        String::new()
    };
    println!(
        "{} members read: {} added, {} updated, {} unchanged{left}",
        members.len(),
        s.added,
        s.updated,
        s.unchanged,
    );
    Ok(())
}

/// `--languages ja,en` as languages; an unknown one is an error.
fn parse_languages(list: &str) -> anyhow::Result<Vec<Language>> {
    crate::directory::parse_languages(list).map_err(anyhow::Error::msg)
}

fn print_table(members: &[Member]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let table = Table::new(&[5, 8, 32, 20, 6]);
    let header = ["ID", "STATUS", "EMAIL", "NAME", "LANG", "SKILLS"];
    table.header(&mut out, &header)?;
    for m in members {
        let langs: Vec<&str> = m.languages.iter().map(Language::as_str).collect();
        let cells: [&dyn Display; 6] = [
            &m.id,
            &m.status,
            &m.email.as_str(),
            &m.name,
            &langs.join(";"),
            &m.skills.join("; "),
        ];
        table.row(&mut out, &cells)?;
    }
    writeln!(out, "{} members", members.len())
}
