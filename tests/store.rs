//! The storage suite: every test runs the same story on SQLite and on a real
//! PostgreSQL server.

mod common;

use std::collections::BTreeSet;

use circle_relay::domain::{EmailAddress, Language, Member, MemberStatus, TimeZoneName};
use circle_relay::store::{ImportSummary, MemberChange, Store, StoreError};
use sqlx::Row;

fn member(email: &str, name: &str, skills: &[&str]) -> Member {
    Member {
        id: 0,
        email: EmailAddress::parse(email).unwrap(),
        name: name.into(),
        skills: skills.iter().map(|s| s.to_string()).collect(),
        bio: "産後ケアの講座をしています。".into(),
        languages: vec![
            Language::parse("ja").unwrap(),
            Language::parse("en").unwrap(),
        ],
        region: "東京".into(),
        status: MemberStatus::Active,
        paused_until: None,
        timezone: None,
    }
}

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

#[tokio::test]
async fn migrations_are_idempotent_and_schemas_match() {
    let (_dir, stores) = common::stores().await;
    let mut columns = Vec::new();
    for (backend, store) in &stores {
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        columns.push(schema_columns(backend, store).await);
    }
    assert!(
        columns[0].len() > 50,
        "schema looks empty: {:?}",
        columns[0]
    );
    let only_sqlite: Vec<_> = columns[0].difference(&columns[1]).collect();
    let only_pg: Vec<_> = columns[1].difference(&columns[0]).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "migrations differ: only in SQLite {only_sqlite:?}, only in PostgreSQL {only_pg:?}"
    );
}

/// (table, column) pairs of the application's tables.
async fn schema_columns(backend: &str, store: &Store) -> BTreeSet<(String, String)> {
    let sql = if backend == "sqlite" {
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'"
    } else {
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'"
    };
    sqlx::query(sql)
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>("t"), r.get::<String, _>("c")))
        .collect()
}

#[tokio::test]
async fn import_adds_updates_and_keeps_unchanged() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let first = vec![
            member("hanako@example.org", "山田 花子", &["看護師", "助産師"]),
            member("taro..yamada@docomo.ne.jp", "山田 太郎", &["nurse"]),
        ];
        let s = store.import_members(&first, false).await.unwrap();
        assert_eq!(
            s,
            ImportSummary {
                added: 2,
                ..Default::default()
            },
            "{backend}"
        );

        // Same address in other case updates; an identical row is unchanged.
        let mut renamed = member("HANAKO@Example.org", "山田 はなこ", &["看護師"]);
        renamed.status = MemberStatus::Paused;
        let second = vec![renamed, first[1].clone()];
        let s = store.import_members(&second, false).await.unwrap();
        assert_eq!(
            s,
            ImportSummary {
                updated: 1,
                unchanged: 1,
                ..Default::default()
            },
            "{backend}"
        );

        let all = store.members().await.unwrap();
        assert_eq!(all.len(), 2, "{backend}");
        let h = store
            .member_by_email(&email("hanako@EXAMPLE.org"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(h.name, "山田 はなこ", "{backend}");
        assert_eq!(h.email.as_str(), "HANAKO@Example.org", "{backend}");
        assert_eq!(h.skills, vec!["看護師"], "{backend}");
        assert_eq!(h.bio, "産後ケアの講座をしています。", "{backend}");
        assert_eq!(h.languages[0].as_str(), "ja", "{backend}");
        assert_eq!(h.status, MemberStatus::Paused, "{backend}");
        let t = store.member_by_id(all[1].id).await.unwrap().unwrap();
        assert_eq!(t.email.as_str(), "taro..yamada@docomo.ne.jp", "{backend}");
    }
}

#[tokio::test]
async fn replace_marks_missing_members_left_and_deletes_nothing() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let all = vec![
            member("a@example.org", "A", &["x"]),
            member("b@example.org", "B", &["y"]),
            member("c@example.org", "C", &["z"]),
        ];
        store.import_members(&all, false).await.unwrap();
        let s = store.import_members(&all[..1], true).await.unwrap();
        assert_eq!(s.marked_left, 2, "{backend}");
        assert_eq!(s.unchanged, 1, "{backend}");
        let members = store.members().await.unwrap();
        assert_eq!(members.len(), 3, "{backend}: nothing is deleted");
        let statuses: Vec<_> = members.iter().map(|m| m.status).collect();
        assert_eq!(
            statuses,
            vec![MemberStatus::Active, MemberStatus::Left, MemberStatus::Left],
            "{backend}"
        );
        // Replacing again does not count them twice.
        let s = store.import_members(&all[..1], true).await.unwrap();
        assert_eq!(s.marked_left, 0, "{backend}");
    }
}

#[tokio::test]
async fn pause_resume_remove_and_pause_expiry() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        store
            .import_members(
                &[
                    member("a@example.org", "A", &["x"]),
                    member("b@example.org", "B", &["y"]),
                ],
                false,
            )
            .await
            .unwrap();
        let a = store
            .change_member(
                &email("A@example.org"),
                MemberChange::Pause {
                    until: Some("2026-12-01".into()),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (a.status, a.paused_until.as_deref()),
            (MemberStatus::Paused, Some("2026-12-01")),
            "{backend}"
        );
        store
            .change_member(&email("b@example.org"), MemberChange::Pause { until: None })
            .await
            .unwrap();

        // Only the dated pause ends by itself, and only once its day has come.
        assert_eq!(
            store.end_pauses("2026-11-30").await.unwrap(),
            0,
            "{backend}"
        );
        assert_eq!(
            store.end_pauses("2026-12-01").await.unwrap(),
            1,
            "{backend}"
        );
        let a = store
            .member_by_email(&email("a@example.org"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.status, a.paused_until),
            (MemberStatus::Active, None),
            "{backend}"
        );

        let b = store
            .change_member(&email("b@example.org"), MemberChange::Resume)
            .await
            .unwrap();
        assert_eq!(b.status, MemberStatus::Active, "{backend}");
        let b = store
            .change_member(&email("b@example.org"), MemberChange::Leave)
            .await
            .unwrap();
        assert_eq!(b.status, MemberStatus::Left, "{backend}");

        let err = store
            .change_member(&email("nobody@example.org"), MemberChange::Resume)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{backend}: {err}");
    }
}

#[tokio::test]
async fn add_refuses_an_existing_address_in_any_case() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let id = store
            .add_member(&member("a@example.org", "A", &["x"]))
            .await
            .unwrap();
        assert!(id > 0, "{backend}");
        let err = store
            .add_member(&member("A@EXAMPLE.ORG", "A2", &["x"]))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{backend}: {err}");
        assert_eq!(store.members().await.unwrap().len(), 1, "{backend}");
    }
}

/// A member's own time zone: imported, changed by an import, set and cleared
/// by the setter a member's page uses.
#[tokio::test]
async fn a_members_time_zone_is_stored_imported_and_set() {
    let (_dir, stores) = common::stores().await;
    let london = TimeZoneName::parse("Europe/London").unwrap();
    for (backend, store) in stores {
        let mut m = member("tz@example.org", "T", &["x"]);
        m.timezone = Some(london.clone());
        store.import_members(&[m.clone()], false).await.unwrap();
        let got = store.member_by_email(&m.email).await.unwrap().unwrap();
        assert_eq!(got.timezone_name(), Some("Europe/London"), "{backend}");
        m.timezone = None;
        let s = store.import_members(&[m.clone()], false).await.unwrap();
        assert_eq!(s.updated, 1, "{backend}: clearing the zone is a change");
        let got = store.member_by_email(&m.email).await.unwrap().unwrap();
        assert_eq!(got.timezone, None, "{backend}");
        let tokyo = TimeZoneName::parse("Asia/Tokyo").unwrap();
        let set = store
            .set_member_timezone(&m.email, Some(&tokyo))
            .await
            .unwrap();
        assert_eq!(set.timezone_name(), Some("Asia/Tokyo"), "{backend}");
        let cleared = store.set_member_timezone(&m.email, None).await.unwrap();
        assert_eq!(cleared.timezone, None, "{backend}");
        let err = store
            .set_member_timezone(&email("nobody@example.org"), Some(&tokyo))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{backend}: {err}");
    }
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_runs_out() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in &stores {
        let now = 1_000_000;
        assert!(store.acquire_lease("inbox:x", "a", now, 30).await.unwrap());
        assert!(
            !store
                .acquire_lease("inbox:x", "b", now + 29, 30)
                .await
                .unwrap(),
            "{backend}: b cannot take a held lease"
        );
        assert!(
            store
                .acquire_lease("inbox:x", "a", now + 20, 30)
                .await
                .unwrap(),
            "{backend}: the holder renews"
        );
        assert!(
            !store
                .acquire_lease("inbox:x", "b", now + 49, 30)
                .await
                .unwrap(),
            "{backend}: the renewal counts from when it was made"
        );
        assert!(
            store.acquire_lease("inbox:y", "b", now, 30).await.unwrap(),
            "{backend}: another inbox is another lease"
        );
        assert!(
            store
                .acquire_lease("inbox:x", "b", now + 50, 30)
                .await
                .unwrap(),
            "{backend}: b takes over once it ran out"
        );
        assert_eq!(
            store
                .lease_holder("inbox:x", now + 51)
                .await
                .unwrap()
                .as_deref(),
            Some("b")
        );
        assert!(
            !store
                .acquire_lease("inbox:x", "a", now + 51, 30)
                .await
                .unwrap()
        );
        store.release_lease("inbox:x", "a").await.unwrap();
        assert_eq!(
            store
                .lease_holder("inbox:x", now + 51)
                .await
                .unwrap()
                .as_deref(),
            Some("b"),
            "{backend}: only the holder can release"
        );
        store.release_lease("inbox:x", "b").await.unwrap();
        assert!(
            store
                .acquire_lease("inbox:x", "a", now + 52, 30)
                .await
                .unwrap()
        );
    }
}

/// A stored word no enum knows is an error naming the table, the row and the
/// word, however the row is read (one request, or the list). The schema's
/// CHECKs keep unknown states out, so the test writes an unknown language.
#[tokio::test]
async fn an_unknown_stored_word_names_its_row() {
    use circle_relay::domain::MailLanguage;
    use circle_relay::store::requests::{NewRequest, insert_request};
    let (_dir, stores) = common::stores().await;
    for (backend, store) in &stores {
        let mut tx = store.begin().await.unwrap();
        let request = NewRequest {
            inbound_id: None,
            requester_email: "asker@example.org".into(),
            requester_name: "Asker".into(),
            requester_member_id: None,
            subject: "Looking for a nurse".into(),
            body: "Please.".into(),
            language: MailLanguage::En,
            message_id: None,
        };
        let id = insert_request(&mut tx, &request, 1_000).await.unwrap();
        tx.commit().await.unwrap();
        let fine = store.request(id).await.unwrap().expect("stored");
        assert_eq!(fine.subject, "Looking for a nurse", "{backend}");
        assert_eq!(fine.language, MailLanguage::En, "{backend}");
        sqlx::query("UPDATE requests SET language = 'fr' WHERE id = $1")
            .bind(id)
            .execute(store.pool())
            .await
            .unwrap();
        let expected =
            format!("stored data is invalid: requests row {id}: unknown language \"fr\"");
        let one = store.request(id).await.unwrap_err();
        assert!(matches!(one, StoreError::Corrupt(_)), "{backend}: {one:?}");
        assert_eq!(one.to_string(), expected, "{backend}");
        let all = store.requests().await.unwrap_err();
        assert_eq!(all.to_string(), expected, "{backend}");
    }
}

/// The ledger's rows are stamped by the store's clock (the daemon's, which
/// tests move), not the system's.
#[tokio::test]
async fn the_ledger_is_stamped_by_the_stores_clock() {
    use circle_relay::store::ledger::{self, LedgerHeaders, LedgerKey, NewLedgerRow};
    use std::sync::Arc;
    const T: i64 = 1_700_000_000;
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let store = store.with_clock(Arc::new(|| T));
        let key = |uid| LedgerKey {
            mailbox: "INBOX",
            uidvalidity: 1,
            uid,
        };
        let mut tx = store.begin().await.unwrap();
        let claimed = ledger::claim(&mut tx, key("1"), &LedgerHeaders::default(), 3, b"raw")
            .await
            .unwrap()
            .expect("claimed");
        tx.commit().await.unwrap();
        let row = NewLedgerRow {
            key: key("2"),
            headers: LedgerHeaders::default(),
            kind: "duplicate",
            outcome: "processed",
            error: None,
            size_bytes: 3,
            raw: None,
        };
        let mut conn = store.pool().acquire().await.unwrap();
        assert!(ledger::record(&mut conn, &row, store.now()).await.unwrap());
        drop(conn);
        let recorded = store.ledger_lookup(key("2")).await.unwrap().expect("row");
        store
            .ledger_mark_moved_many(&[claimed, recorded.id])
            .await
            .unwrap();
        let stamps: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT received_at, moved_at FROM inbound_messages WHERE mailbox = 'INBOX' ORDER BY id",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(stamps, vec![(T, T), (T, T)], "{backend}");
    }
}
