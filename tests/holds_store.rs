//! The holds table (migration 0014) on both backends: recorded, decided
//! once, expired only when it asked the admins, summarised once.

mod common;

use circle_relay::store::holds::*;

fn hold(reason: HoldReason, email: &str) -> NewHold {
    NewHold {
        inbound_id: None,
        reason,
        detail: "why".into(),
        requester_email: email.into(),
        requester_name: "Ann".into(),
        subject: "看護師さん".into(),
        body: "救命講習".into(),
        message_id: Some("m@x".into()),
    }
}

#[tokio::test]
async fn holds_are_decided_once_and_summarised_once() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let mut tx = store.begin().await.unwrap();
        let a = insert_hold(&mut tx, &hold(HoldReason::NonMember, "Ann@X.test"), 100)
            .await
            .unwrap();
        let b = insert_hold(&mut tx, &hold(HoldReason::Refused, "bob@x.test"), 100)
            .await
            .unwrap();
        set_hold_token(&mut tx, a, "tokena").await.unwrap();
        let found = hold_by_token(&mut tx, "TOKENA").await.unwrap().unwrap();
        assert_eq!(
            (found.id, found.reason, found.state),
            (a, HoldReason::NonMember, HoldState::Held),
            "{backend}"
        );
        assert_eq!(found.subject, "看護師さん");

        // Only the hold that asked the admins expires.
        let due: Vec<i64> = holds_to_expire(&mut tx, 200)
            .await
            .unwrap()
            .iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(due, [a], "{backend}");
        assert!(
            decide_hold(&mut tx, a, HoldState::Approved, "admin@x.test", 150)
                .await
                .unwrap()
        );
        assert!(
            !decide_hold(&mut tx, a, HoldState::Rejected, "admin@x.test", 151)
                .await
                .unwrap(),
            "{backend}: decided once"
        );
        assert!(holds_to_expire(&mut tx, 200).await.unwrap().is_empty());

        let todo: Vec<i64> = holds_to_summarize(&mut tx, 200)
            .await
            .unwrap()
            .iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(todo, [a, b], "{backend}");
        mark_summarized(&mut tx, &todo, 201).await.unwrap();
        assert!(
            holds_to_summarize(&mut tx, 300).await.unwrap().is_empty(),
            "{backend}"
        );
        tx.commit().await.unwrap();

        let mut conn = store.pool().acquire().await.unwrap();
        let all = list_holds(&mut conn, false, 10).await.unwrap();
        assert_eq!(
            all.iter().map(|h| (h.id, h.state)).collect::<Vec<_>>(),
            [(b, HoldState::Held), (a, HoldState::Approved)]
        );
        assert_eq!(all[1].decided_by.as_deref(), Some("admin@x.test"));
        let open = list_holds(&mut conn, true, 10).await.unwrap();
        assert_eq!(open.len(), 1, "{backend}");
    }
}
