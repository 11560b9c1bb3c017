//! `circle-relay demo`: a tour on the embedded defaults, through the same
//! daemon as `run`: a sample circle, sample requests in a Maildir inbox,
//! forwards and an acknowledgement in a Maildir outbox, a member's accept,
//! the introductions. The folder is left for the user to look at.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use sqlx::Row;

use crate::config::Config;
use crate::daemon::Daemon;
use crate::directory::parse_members_csv;
use crate::shutdown::ShutdownTrigger;
use crate::store::Store;

const MEMBERS: &str = include_str!("../../data/sample-members.csv");
const FOLDER: &str = "circle-relay-demo";

const REQUESTS: &[(&str, &str)] = &[
    (
        "1.request.eml",
        "From: Greg Miller <greg@school.example>\r\nTo: circle@circle.localhost\r\n\
         Subject: First aid course for our teachers\r\nMessage-ID: <demo-1@school.example>\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\r\n\
         Hello,\r\n\r\nOur language school in Tokyo needs a nurse or a certified instructor to teach\r\n\
         a half-day first aid and CPR course to 15 teachers.\r\n\r\nThanks,\r\nGreg\r\n",
    ),
    (
        "2.request.eml",
        "From: =?UTF-8?B?5bGx55SwIOmBlA==?= <tatsu@shop.example>\r\nTo: circle@circle.localhost\r\n\
         Subject: =?UTF-8?B?5bCx5qWt6KaP5YmH44KS5L2c44KK55u044GX44Gf44GE?=\r\nMessage-ID: <demo-2@shop.example>\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\r\n\
         社員が10名を超えたので、就業規則を作り直したいです。社労士の方を紹介していただけませんか。\r\n",
    ),
    (
        "3.request.eml",
        "From: Ann Lee <ann@cafe.example>\r\nTo: circle@circle.localhost\r\n\
         Subject: Need a plumber this week\r\nMessage-ID: <demo-3@cafe.example>\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\r\nOur cafe's sink is leaking. Anyone who does plumbing?\r\n",
    ),
];

pub async fn run() -> anyhow::Result<()> {
    let root = PathBuf::from(FOLDER);
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("cannot clear {FOLDER}"))?;
    }
    std::fs::create_dir_all(&root)?;
    let config = write_config(&root)?;
    println!("== A sample circle in ./{FOLDER} (SQLite, Maildir in and out; nothing to install)\n");

    let daemon = Daemon::build(&config).await?;
    let store = daemon.store.clone();
    import_members(&store).await?;
    let (trigger, shutdown) = ShutdownTrigger::new();
    let running = tokio::spawn(daemon.run(shutdown));

    let inbox = root.join("mail/inbox");
    let sent = root.join("mail/sent/new");
    println!("\n== Three requests arrive at circle@circle.localhost\n");
    for (name, raw) in REQUESTS {
        drop_in(&inbox, name, raw)?;
    }
    wait_for(&store, "SELECT COUNT(*) AS n FROM inbound_messages", 3).await?;
    wait_for(
        &store,
        "SELECT COUNT(*) AS n FROM outbox WHERE status <> 'queued'",
        1,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    show_requests(&store).await?;

    accept_first_forward(&store, &inbox).await?;

    trigger.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
    let count = std::fs::read_dir(&sent).map(|d| d.count()).unwrap_or(0);
    println!(
        "\n== Done. {count} mails are in ./{FOLDER}/mail/sent/new (one file each, open them in any mail reader);"
    );
    println!(
        "   the requests are in ./{FOLDER}/mail/inbox/.Processed, the database in ./{FOLDER}/circle-relay.db."
    );
    println!("   Try: circle-relay --config {FOLDER}/circle-relay.toml requests show 1");
    Ok(())
}

/// Imports the sample directory and lists it.
async fn import_members(store: &Store) -> anyhow::Result<()> {
    let members = parse_members_csv(MEMBERS.as_bytes())?;
    store.import_members(&members, false).await?;
    for m in &members {
        println!(
            "   member  {:<28} {:<14} {}  [{}]",
            m.email,
            m.name,
            m.skills.join(", "),
            m.status
        );
    }
    Ok(())
}

/// The nurse answers her forward "yes"; prints the two introductions.
async fn accept_first_forward(store: &Store, inbox: &Path) -> anyhow::Result<()> {
    println!("\n== 山田 花子 answers her forward from her mail client: 「はい、お受けします。」\n");
    let forward_id: String = sqlx::query(
        "SELECT f.message_id AS id FROM forwards f JOIN members m ON m.id = f.member_id \
         WHERE m.email = 'hanako.yamada@example.org' ORDER BY f.id LIMIT 1",
    )
    .fetch_optional(store.pool())
    .await?
    .map(|r| r.try_get("id"))
    .transpose()?
    .context("the nurse was not asked; nothing to accept")?;
    let reply = format!(
        "From: =?UTF-8?B?5bGx55SwIOiKseWtkA==?= <hanako.yamada@example.org>\r\nTo: circle@circle.localhost\r\n\
         Subject: Re: request\r\nIn-Reply-To: <{forward_id}>\r\nMessage-ID: <demo-reply@example.org>\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\r\nはい、お受けします。\r\n\r\n> 依頼の内容\r\n"
    );
    drop_in(inbox, "4.reply.eml", &reply)?;
    wait_for(
        store,
        "SELECT COUNT(*) AS n FROM outbox WHERE kind LIKE 'intro%' AND status = 'sent'",
        2,
    )
    .await?;
    let intros =
        sqlx::query("SELECT to_email, subject FROM outbox WHERE kind LIKE 'intro%' ORDER BY id")
            .fetch_all(store.pool())
            .await?;
    for r in &intros {
        println!(
            "   introduction to {:<28} {}",
            r.try_get::<String, _>("to_email")?,
            r.try_get::<String, _>("subject")?
        );
    }
    Ok(())
}

fn write_config(root: &Path) -> anyhow::Result<Config> {
    let path = root.join("circle-relay.toml");
    let text = format!(
        "# Written by `circle-relay demo`.\n[circle]\nname = \"Demo Circle\"\naddress = \"circle@circle.localhost\"\n\
         admins = [\"admin@circle.localhost\"]\nposting = \"anyone\"\n\n[database]\nurl = \"sqlite://{root}/circle-relay.db\"\n\n\
         [inbox]\nkind = \"maildir\"\npath = \"{root}/mail/inbox\"\npoll_seconds = 1\n\n\
         [outbound]\nkind = \"maildir\"\npath = \"{root}/mail/sent\"\n\n\
         [security]\ntoken_secret = \"demo-only-secret-not-for-real-use\"\n",
        root = root.display()
    );
    std::fs::write(&path, text)?;
    Ok(Config::load_from(Some(&path), std::iter::empty())?)
}

fn drop_in(inbox: &Path, name: &str, raw: &str) -> anyhow::Result<()> {
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(inbox.join(sub))?;
    }
    std::fs::write(inbox.join("tmp").join(name), raw)?;
    std::fs::rename(inbox.join("tmp").join(name), inbox.join("new").join(name))?;
    Ok(())
}

/// Waits (at most 20 s) until `sql`'s count reaches `n`.
async fn wait_for(store: &Store, sql: &'static str, n: i64) -> anyhow::Result<()> {
    for _ in 0..200 {
        let have: i64 = sqlx::query(sql)
            .fetch_one(store.pool())
            .await?
            .try_get("n")?;
        if have >= n {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the demo did not progress in time (waiting for: {sql})")
}

async fn show_requests(store: &Store) -> anyhow::Result<()> {
    for r in store.requests().await? {
        println!(
            "   request {} from {}: {}",
            r.id, r.requester_email, r.subject
        );
        let forwards = sqlx::query(
            "SELECT m.email AS email, f.reasons AS reasons FROM forwards f JOIN members m ON m.id = f.member_id \
             WHERE f.request_id = $1 ORDER BY f.rank",
        )
        .bind(r.id)
        .fetch_all(store.pool())
        .await?;
        if forwards.is_empty() {
            println!(
                "      nobody fits: forwarded to nobody; the requester and the admins are told"
            );
        }
        for f in &forwards {
            let reasons: Vec<String> =
                serde_json::from_str(&f.try_get::<String, _>("reasons")?).unwrap_or_default();
            println!(
                "      → forwarded to {:<28} because {}",
                f.try_get::<String, _>("email")?,
                reasons.join("; ")
            );
        }
    }
    Ok(())
}
