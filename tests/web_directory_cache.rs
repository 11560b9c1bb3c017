//! An edit on the console's directory page reaches the next match at once,
//! even within the second of the last change (when `members_version`, which
//! counts in seconds, cannot tell): the console's router served in-process
//! with a fixed clock, its POST sent over loopback HTTP.

mod web_support;

use std::sync::Arc;

use circle_relay::config::{
    CircleConfig, DatabaseConfig, DatabaseUrl, MatchingConfig, Posting, RelayConfig, Secret,
    WebConfig,
};
use circle_relay::directory::ProfileInput;
use circle_relay::pipeline::Pipeline;
use circle_relay::relay::Relay;
use circle_relay::relay::templates::Templates;
use circle_relay::relay::token::TokenKey;
use circle_relay::store::Store;
use circle_relay::store::admin::{AdminAction, AdminChange};
use circle_relay::store::web::WebSession;
use circle_relay::understand::Limits;
use circle_relay::web::session::{COOKIE, hash_hex, random_token};
use circle_relay::web::{Inner, WebState, router};
use sqlx::Row;
use web_support::{free_port, http};

const T0: i64 = 1_800_000_000;
const ADMIN: &str = "admin@circle.test";

async fn store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    Store::connect(&DatabaseConfig {
        url: DatabaseUrl::new(&url),
        max_connections: 5,
    })
    .await
    .unwrap()
}

fn circle() -> CircleConfig {
    CircleConfig {
        name: "Care Circle".into(),
        address: "circle@circle.test".into(),
        admins: vec![ADMIN.into()],
        ..CircleConfig::default()
    }
}

fn pipeline(store: &Store) -> Arc<Pipeline> {
    let relay = Relay::new(
        circle(),
        RelayConfig::default(),
        MatchingConfig::default(),
        Secret::new("test-secret-of-enough-length"),
        Templates::embedded(),
    )
    .unwrap();
    Arc::new(
        Pipeline::new(
            Arc::new(relay),
            store.clone(),
            Limits::default(),
            Posting::Anyone,
        )
        .unwrap(),
    )
}

async fn add_member(store: &Store, email: &str, skills: &str) -> i64 {
    let member = ProfileInput {
        email: email.into(),
        name: "Aiko".into(),
        skills: skills.into(),
        languages: "en".into(),
        ..ProfileInput::default()
    }
    .to_member()
    .unwrap();
    let change = AdminChange {
        action: AdminAction::MemberAdd,
        actor: "test",
        detail: email,
        now: T0,
    };
    store.add_member_by(&member, &change).await.unwrap()
}

/// Serves the console on a free port; returns the port.
async fn serve(store: &Store, pipeline: &Arc<Pipeline>) -> u16 {
    let port = free_port();
    let state = WebState::new(Inner {
        store: store.clone(),
        pipeline: pipeline.clone(),
        web: WebConfig {
            listen: format!("127.0.0.1:{port}"),
            base_url: format!("http://127.0.0.1:{port}/"),
            ..WebConfig::default()
        },
        circle: circle(),
        tokens: TokenKey::new(Secret::new("test-secret-of-enough-length")),
        clock: Arc::new(|| T0),
        outbox_waker: Arc::new(tokio::sync::Notify::new()),
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    port
}

#[tokio::test]
async fn an_edit_in_the_same_second_still_reaches_the_next_match() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let id = add_member(&store, "aiko@circle.test", "piano tuning").await;
    let pipeline = pipeline(&store);
    let before = pipeline.matcher().await.unwrap();
    assert_eq!(before.members()[0].skills, vec!["piano tuning"]);

    let port = serve(&store, &pipeline).await;
    let (token, csrf) = (random_token().unwrap(), random_token().unwrap());
    let session = WebSession {
        admin: ADMIN.into(),
        csrf: csrf.clone(),
        expires_at: T0 + 3600,
    };
    store
        .web_session_create(&hash_hex(&token), &session, T0)
        .await
        .unwrap();
    let body = format!(
        "csrf={csrf}&name=Aiko&skills=registered+nurse%3B+first+aid&bio=&languages=en&region=&status=active&paused_until="
    );
    let cookie = format!("{COOKIE}={token}");
    let answer = http(
        port,
        "POST",
        &format!("/admin/directory/{id}"),
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body,
    )
    .await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(
        answer.header("location"),
        Some(format!("/admin/directory/{id}?done=saved").as_str())
    );

    // The same second as the member was added: only the console's drop of the cache tells.
    let latest: i64 = sqlx::query("SELECT MAX(updated_at) AS t FROM members")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get("t");
    assert_eq!(latest, T0);
    let after = pipeline.matcher().await.unwrap();
    assert_eq!(
        after.members()[0].skills,
        vec!["registered nurse", "first aid"]
    );

    let rows = sqlx::query("SELECT action, actor, detail FROM admin_actions ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let last = rows.last().unwrap();
    assert_eq!(last.get::<String, _>("action"), "member_edit");
    assert_eq!(last.get::<String, _>("actor"), format!("web:{ADMIN}"));
    assert_eq!(last.get::<String, _>("detail"), "aiko@circle.test: skills");

    let stale = http(
        port,
        "POST",
        &format!("/admin/directory/{id}"),
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body.replace(&csrf, "forged"),
    )
    .await;
    assert_eq!(
        stale.status, 403,
        "a form without the session's token is refused"
    );
}
