//! Flow 2/3 as people meet it (issue #5): the daemon runs as a real process
//! against the mail stack with a wave size of 2 and 3 waves; five members
//! fit a request, each wave declines by replying, the next wave is asked,
//! and when everyone has declined the requester and the admin are told.
//!
//! The admin is `cmdx`, which tests/e2e_commands.rs also uses (as a
//! non-member): the two test binaries must not run at the same time, which
//! `cargo test` never does.

#[path = "inbox_support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::Instant;

use support::{Mail, mailbox, send_text, until_mail_where, until_processed};

const RELAY_USER: &str = "relay7";
const RELAY: &str = "relay7@circle.test";
const ASKER: &str = "asker7@circle.test";
const ADMIN: &str = "cmdx";
const MEMBERS_USERS: &[&str] = &["mem1", "mem2", "mem3", "mem4", "mem5"];
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    mem1@circle.test,佐藤 愛子,看護師;救命講習,看護師です。学校で救命講習をしています。,ja,東京,\n\
    mem2@circle.test,Beth Moore,registered nurse;first aid instructor,Nurse teaching first aid and CPR.,en,Tokyo,\n\
    mem3@circle.test,木村 千恵,看護師;救命講習;保健指導,看護師。企業向けの救命講習の講師をしています。,ja,東京,\n\
    mem4@circle.test,Amy Clark,registered nurse;first aid instructor;CPR,Nurse and first aid trainer for companies.,en,Tokyo,\n\
    mem5@circle.test,山田 花子,看護師;救命講習;応急手当,訪問看護師。救命講習の講師もしています。,ja,東京,\n";
/// Wave size 2 (the shortlist), three waves: 2 + 2 + 1 members.
const WAVES: &str = "[matching]\nshortlist = 2\n[relay]\nwaves = 3\n";

fn is_forward(m: &Mail) -> bool {
    m.subject.contains("ご協力のお願い") || m.subject.contains("Can you help?")
}

/// The members who hold a forward now.
fn forwarded() -> BTreeSet<&'static str> {
    MEMBERS_USERS
        .iter()
        .copied()
        .filter(|u| mailbox(u).iter().any(is_forward))
        .collect()
}

/// Waits until `n` members hold a forward; returns who.
async fn until_forwarded(n: usize) -> BTreeSet<&'static str> {
    let start = Instant::now();
    loop {
        let f = forwarded();
        if f.len() >= n {
            return f;
        }
        assert!(
            start.elapsed() < support::MAIL_TIMEOUT,
            "only {f:?} got a forward, waiting for {n}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// `user` declines the forward they got, in their language, by replying to
/// its Reply-To with In-Reply-To, as a mail client does.
async fn decline(user: &str) {
    let forward = mailbox(user)
        .into_iter()
        .find(is_forward)
        .expect("a forward to decline");
    let body = if forward.subject.contains("ご協力のお願い") {
        "申し訳ありませんが、お受けできません"
    } else {
        "No, sorry, I can't"
    };
    let reply_to = forward.reply_to();
    assert!(
        reply_to.starts_with("relay7+"),
        "a tokened reply address: {reply_to}"
    );
    send_text(
        &format!("{user}@circle.test"),
        &reply_to,
        &format!("Re: {}", forward.subject),
        &format!(
            "In-Reply-To: <{id}>\nReferences: <{id}>\n",
            id = forward.message_id
        ),
        &format!("{body}\n\n> {}\n", forward.subject),
    )
    .await;
}

#[tokio::test]
async fn declines_move_the_request_wave_by_wave_until_nobody_is_left() {
    support::require_stack();
    for u in ["relay7", "asker7", ADMIN].iter().chain(MEMBERS_USERS) {
        support::reset_user(u);
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let config = support::setup_circle(dir.path(), RELAY_USER, &[ADMIN], MEMBERS, WAVES);
    let _daemon = support::DaemonProcess::run(&config);

    let req = send_text(
        ASKER,
        RELAY,
        "救命講習の講師（看護師）を探しています",
        "",
        "We need a registered nurse to teach first aid to our staff in Tokyo.\n\
         学校の教員向けに、看護師さんに救命講習をお願いしたいです。",
    )
    .await;
    let ack = until_mail_where("asker7", "the acknowledgement", |m| {
        m.header("In-Reply-To").is_some_and(|h| h.contains(&req))
    })
    .await;
    assert!(
        ack.subject.contains("ご依頼を受け付けました")
            && ack
                .text
                .replace('\n', "")
                .contains("条件に合うメンバー2人に"),
        "{}",
        ack.text
    );
    let wave1 = until_forwarded(2).await;
    until_processed(&config, RELAY_USER, 1).await;
    assert_eq!(forwarded(), wave1, "the first wave is two members");

    // One decline is only recorded: nobody new is asked, nobody is answered.
    let mut waves = vec![wave1.clone()];
    let mut inbound = 1;
    let mut asked = wave1.clone();
    let first: Vec<_> = wave1.iter().copied().collect();
    decline(first[0]).await;
    inbound += 1;
    until_processed(&config, RELAY_USER, inbound).await;
    assert_eq!(forwarded(), wave1, "one decline does not start a wave");

    // The whole wave declined: the next wave is asked, until nobody is left.
    decline(first[1]).await;
    inbound += 1;
    for size in [2, 1] {
        let now = until_forwarded(asked.len() + size).await;
        until_processed(&config, RELAY_USER, inbound).await;
        let wave: BTreeSet<_> = forwarded().difference(&asked).copied().collect();
        assert_eq!(wave.len(), size, "wave {}: {wave:?}", waves.len() + 1);
        assert_eq!(forwarded(), now, "nobody else was asked");
        asked.extend(&wave);
        for u in &wave {
            decline(u).await;
            inbound += 1;
        }
        waves.push(wave);
    }
    let nobody = until_mail_where("asker7", "the nobody-available mail", |m| {
        m.text.contains("引き受けられる方がいませんでした")
    })
    .await;
    assert!(
        nobody
            .text
            .split_whitespace()
            .collect::<String>()
            .contains("メンバー5人にお知らせしました"),
        "{}",
        nobody.text
    );
    let alert = until_mail_where(ADMIN, "the admin alert", |m| m.subject.contains("要確認")).await;
    assert!(
        alert
            .subject
            .contains("どのメンバーも引き受けられませんでした"),
        "{}",
        alert.subject
    );

    // Exactly who got what: one forward per member (their own, in their
    // language, without the requester's address), the requester two mails,
    // the admin one; every inbound message processed.
    until_processed(&config, RELAY_USER, inbound).await;
    assert_eq!(inbound, 6);
    assert_eq!(asked.len(), 5, "every member was asked once: {waves:?}");
    for u in MEMBERS_USERS {
        let mails = mailbox(u);
        assert_eq!(mails.len(), 1, "{u}: only the forward, got {mails:?}");
        let m = &mails[0];
        assert!(is_forward(m), "{u}: {}", m.subject);
        let ja = ["mem1", "mem3", "mem5"].contains(u);
        assert_eq!(
            m.subject.contains("ご協力のお願い"),
            ja,
            "{u}: {}",
            m.subject
        );
        assert_eq!(
            m.header("To")
                .map(|t| t.contains(&format!("{u}@circle.test"))),
            Some(true)
        );
        assert!(
            !m.raw_contains(ASKER),
            "{u}: the requester's address leaked"
        );
    }
    let asker = mailbox("asker7");
    assert_eq!(asker.len(), 2, "acknowledgement and nobody-available");
    assert!(asker.iter().any(|m| m.message_id == ack.message_id));
    assert!(asker.iter().any(|m| m.message_id == nobody.message_id));
    assert_eq!(mailbox(ADMIN).len(), 1, "one alert for the admin");
    let relay = mailbox(RELAY_USER);
    assert_eq!(relay.len(), inbound, "the request and five declines");
    assert!(relay.iter().all(|m| m.folder == "Processed"));
    eprintln!("e2e_waves took {:?}", started.elapsed());
}
