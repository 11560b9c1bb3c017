//! The daemon end to end on the embedded kind of deployment: SQLite, a
//! Maildir inbox and a Maildir outbox. A request dropped in the inbox is
//! forwarded and acknowledged; the member's accept produces both
//! introductions; every handled message is moved to `.Processed`.

#[path = "maildir_support/mod.rs"]
mod support;

use std::time::Duration;

use circle_relay::daemon::Daemon;
use circle_relay::directory::parse_members_csv;
use circle_relay::shutdown::ShutdownTrigger;
use support::{MEMBERS, config, drop_in, files, parsed, until_files, until_settled};

#[tokio::test]
async fn a_request_flows_through_to_introductions() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let daemon = Daemon::build(&config).await.unwrap();
    daemon
        .store
        .import_members(&parse_members_csv(MEMBERS.as_bytes()).unwrap(), false)
        .await
        .unwrap();
    let daemon_store = daemon.store.clone();
    let (trigger, shutdown) = ShutdownTrigger::new();
    let running = tokio::spawn(daemon.run(shutdown));

    let inbox = dir.path().join("inbox");
    let sent = dir.path().join("sent/new");
    drop_in(
        &inbox,
        "1.request",
        "From: Greg Miller <greg@school.example>\nTo: circle@circle.test\n\
         Subject: First aid course for our teachers\nMessage-ID: <req1@school.example>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
         We need a nurse to teach first aid and CPR to our teachers in Tokyo.\n\nGreg\n",
    );
    let mails = until_files(&sent, 2).await;
    until_settled(&inbox, &daemon_store, 1).await;
    assert_eq!(
        files(&sent).len(),
        2,
        "one forward and one acknowledgement, nothing else"
    );
    let mails: Vec<_> = mails.iter().map(|p| parsed(p)).collect();
    let forward = mails
        .iter()
        .find(|(to, _, _)| to == "aiko@example.org")
        .expect("the nurse is asked");
    assert!(forward.2.contains("first aid and CPR"));
    assert!(!forward.2.contains("greg@school.example"));
    let ack = mails
        .iter()
        .find(|(to, _, _)| to == "greg@school.example")
        .expect("acknowledged");
    assert!(ack.2.contains("went to 1 member"), "{}", ack.2);

    // The nurse answers from her mail client, quoting the forward.
    drop_in(
        &inbox,
        "2.reply",
        &format!(
            "From: 佐藤 愛子 <aiko@example.org>\nTo: circle@circle.test\nSubject: Re: forward\n\
             In-Reply-To: <{id}>\nReferences: <{id}>\nMessage-ID: <reply1@example.org>\n\
             MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
             はい、お受けします。\n\n2026年11月28日(土) 10:00 Care Circle <circle@circle.test>:\n> 依頼の内容\n",
            id = forward.1
        ),
    );
    let all = until_files(&sent, 4).await;
    until_settled(&inbox, &daemon_store, 2).await;
    assert_eq!(files(&sent).len(), 4, "two introductions, nothing else");
    let intros: Vec<_> = all
        .iter()
        .map(|p| parsed(p))
        .filter(|(_, id, _)| id.contains(".intro@"))
        .collect();
    let to_greg = intros
        .iter()
        .find(|(to, _, _)| to == "greg@school.example")
        .expect("intro to requester");
    assert!(to_greg.2.contains("aiko@example.org"));
    let to_aiko = intros
        .iter()
        .find(|(to, _, _)| to == "aiko@example.org")
        .expect("intro to member");
    assert!(to_aiko.2.contains("greg@school.example"));

    // A member pauses herself by mail; the confirmation comes in Japanese.
    drop_in(
        &inbox,
        "3.command",
        "From: aiko@example.org\nTo: circle@circle.test\nSubject: =?UTF-8?B?5LyR5q2i?=\n\
         Message-ID: <cmd1@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n休止\n",
    );
    let all = until_files(&sent, 5).await;
    let confirmation = all.iter().map(|p| parsed(p)).find(|(_, id, _)| {
        !id.contains(".intro@") && !id.contains(".fwd@") && !id.contains(".ack@")
    });
    let (to, _, text) = confirmation.expect("a confirmation");
    assert_eq!(to, "aiko@example.org");
    assert!(text.contains("休止"), "{text}");
    let aiko = daemon_store
        .member_by_email(&circle_relay::domain::EmailAddress::parse("aiko@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(aiko.status, circle_relay::domain::MemberStatus::Paused);

    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("stops on shutdown")
        .unwrap();
    assert!(files(&inbox.join("new")).is_empty() && files(&inbox.join("cur")).is_empty());
    assert_eq!(
        files(&inbox.join(".Processed/cur")).len(),
        3,
        "every message kept in Processed"
    );
}
