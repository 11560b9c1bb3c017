//! `run`: the inbox reader, the outbox sender and the scheduler, side by side
//! until SIGTERM/SIGINT. Each loop selects on one shutdown signal and finishes
//! the message in hand before it stops.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::clock::{Clock, DaemonClock};
use crate::config::{AuthMethod, Config};
use crate::digest::schedule::Schedule;
use crate::domain::EmailAddress;
use crate::inbox::{Inbox, InboxLease, MessageKey, RunOptions};
use crate::outbox::{RetryPolicy, Sender, Transport};
use crate::pipeline::Pipeline;
use crate::relay::templates::Templates;
use crate::relay::{Relay, RelayError, SummaryRun};
use crate::shutdown::{Shutdown, ShutdownTrigger};
use crate::store::Store;
use crate::understand::Limits;
use crate::understand::trust::TrustSettings;

/// Everything `run` starts, built from the config (tests build it the same way).
pub struct Daemon {
    pub store: Store,
    pub pipeline: Arc<Pipeline>,
    pub sender: Arc<Sender>,
    reader: Reader,
    timing: Timing,
    /// `[server] listen`: where /healthz and /metrics are served; empty for off.
    listen: String,
    /// Where the admins are mailed when OAuth2 sign-in fails and sending still works.
    oauth2_alert: Option<(crate::oauth2::TokenSource, crate::config::CircleConfig)>,
    /// For the outbox wake-up's own connection (LISTEN, or SQLite's data_version).
    db_url: crate::config::DatabaseUrl,
    /// `[web]`: the console, when `listen` is set.
    web: Option<WebParts>,
}

/// What the web console needs beyond the store and the pipeline.
struct WebParts {
    web: crate::config::WebConfig,
    circle: crate::config::CircleConfig,
    tokens: crate::relay::token::TokenKey,
}

impl Daemon {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let circle = config.circle()?;
        let inbox_config = config.inbox()?;
        let outbound = config.outbound()?;
        // A bad secret fails before the database is created, as it always did.
        config.security()?;
        config.token_secret()?;
        let db = config.database()?;
        let DaemonClock {
            clock,
            moved: clock_moved,
        } = DaemonClock::from_env();
        let store = crate::store::diagnose::open(&db, crate::store::diagnose::Missing::Create)
            .await?
            .with_clock(clock.clone());
        let timezone = jiff::tz::TimeZone::get(&circle.timezone)?;
        let digest = config.digest()?;
        let digest_schedule = Schedule::new(&digest.weekday, &digest.time, &circle.timezone)?;
        let pipeline = build_pipeline(config, &store, &clock)?;
        let tokens = oauth2_tokens(config, &store)?;
        let transport = Transport::from_config(&outbound).context("outbound")?;
        let transport = match tokens.clone() {
            Some(t) if outbound.auth == AuthMethod::Xoauth2 => transport.with_tokens(t),
            _ => transport,
        };
        let sender = build_sender(config, &store, transport, &clock)?;
        // The outbound server signs in otherwise: a notice can still go out.
        let tokens_for_alert = tokens
            .clone()
            .filter(|_| outbound.auth != AuthMethod::Xoauth2);
        Ok(Self {
            store,
            pipeline: Arc::new(pipeline),
            sender: Arc::new(sender),
            reader: Reader::new(&inbox_config, &circle.address, tokens)?,
            timing: Timing {
                timezone,
                digest_schedule,
                clock,
                clock_moved,
            },
            listen: config.server()?.listen,
            web: web_parts(config, &circle)?,
            oauth2_alert: tokens_for_alert.map(|t| (t, circle)),
            db_url: db.url.clone(),
        })
    }

    /// Runs until `shutdown` fires; returns once every loop has stopped.
    pub async fn run(self, shutdown: Shutdown) {
        let Self {
            store,
            pipeline,
            sender,
            reader,
            timing,
            listen,
            oauth2_alert,
            db_url,
            web,
        } = self;
        let clock = timing.clock.clone();
        let server = serve(&listen, &store, &clock, &shutdown).await;
        let console = match web {
            Some(parts) => serve_web(parts, &store, &pipeline, &sender, &clock, &shutdown).await,
            None => None,
        };
        let reader = spawn_reader(reader, &store, &pipeline, &sender, &shutdown);
        let alerts = crate::oauth2::notice::spawn(oauth2_alert, &store, sender.waker(), &shutdown);
        let sending = {
            let (sender, shutdown) = (sender.clone(), shutdown.clone());
            tokio::spawn(async move { sender.run(shutdown).await })
        };
        // Mail queued by another process (the CLI, a replica) goes out at once too.
        let watching = tokio::spawn(crate::outbox::wakeup::watch(
            store.clone(),
            db_url,
            clock.clone(),
            sender.waker(),
            shutdown.clone(),
        ));
        let scheduler = tokio::spawn(schedule(
            store.clone(),
            pipeline.clone(),
            sender.clone(),
            timing,
            shutdown,
        ));
        join_logged([
            ("inbox reader", reader),
            ("outbox sender", sending),
            ("scheduler", scheduler),
            ("outbox wake-up", watching),
        ])
        .await;
        for task in [alerts, server, console].into_iter().flatten() {
            let _ = task.await;
        }
        store.close().await;
    }
}

/// The inbox and how it is read: only while this daemon holds its lease.
struct Reader {
    inbox: Inbox,
    lease: InboxLease,
    batch_size: usize,
}

impl Reader {
    /// The configured inbox, signing in with `tokens` where `[inbox] auth` is XOAUTH2.
    fn new(
        config: &crate::config::InboxConfig,
        circle_address: &str,
        tokens: Option<crate::oauth2::TokenSource>,
    ) -> anyhow::Result<Self> {
        let mut inbox = Inbox::from_config(config)
            .context("inbox")?
            .for_circle(circle_address);
        if let Some(t) = tokens.filter(|_| config.auth == AuthMethod::Xoauth2) {
            inbox = inbox.with_tokens(t);
        }
        let lease = InboxLease::new(inbox.mailbox_id(), config.lease_seconds);
        Ok(Self {
            inbox,
            lease,
            batch_size: config.batch_size as usize,
        })
    }
}

/// Starts the inbox reader; after each commit it wakes the sender, so queued
/// mail leaves at once.
fn spawn_reader(
    reader: Reader,
    store: &Store,
    pipeline: &Arc<Pipeline>,
    sender: &Sender,
    shutdown: &Shutdown,
) -> tokio::task::JoinHandle<()> {
    let Reader {
        mut inbox,
        lease,
        batch_size,
    } = reader;
    let wake = sender.waker();
    let hook: Arc<dyn Fn(&MessageKey) + Send + Sync> = Arc::new(move |_| wake.notify_one());
    let options = RunOptions {
        batch_size,
        after_commit: Some(hook),
    };
    let (store, pipeline, shutdown) = (store.clone(), pipeline.clone(), shutdown.clone());
    tokio::spawn(async move {
        lease
            .read_while_held(&mut inbox, &store, pipeline.as_ref(), &options, shutdown)
            .await;
    })
}

/// Waits for each of the daemon's loops, logging how it stopped.
async fn join_logged(tasks: [(&str, tokio::task::JoinHandle<()>); 4]) {
    for (name, task) in tasks {
        match task.await {
            Ok(()) => tracing::info!(task = name, "stopped"),
            Err(e) => tracing::error!(task = name, error = %e, "stopped abnormally"),
        }
    }
}

/// /healthz and /metrics on `listen` (empty: off); the daemon runs without
/// them when the address cannot be served.
async fn serve(
    listen: &str,
    store: &Store,
    clock: &Clock,
    shutdown: &Shutdown,
) -> Option<tokio::task::JoinHandle<()>> {
    if listen.is_empty() {
        return None;
    }
    match crate::observe::serve(listen, store.clone(), clock.clone(), shutdown.clone()).await {
        Ok(task) => Some(task),
        Err(e) => {
            tracing::error!(error = %e, "cannot serve /healthz and /metrics; running without them");
            None
        }
    }
}

fn web_parts(
    config: &Config,
    circle: &crate::config::CircleConfig,
) -> anyhow::Result<Option<WebParts>> {
    let web = config.web()?;
    if !web.enabled() {
        return Ok(None);
    }
    Ok(Some(WebParts {
        web,
        circle: circle.clone(),
        tokens: crate::relay::token::TokenKey::new(config.token_secret()?),
    }))
}

/// The web console on `[web] listen`; the daemon runs without it (and says
/// so) when the address cannot be served.
async fn serve_web(
    parts: WebParts,
    store: &Store,
    pipeline: &Arc<Pipeline>,
    sender: &Sender,
    clock: &Clock,
    shutdown: &Shutdown,
) -> Option<tokio::task::JoinHandle<()>> {
    let state = crate::web::WebState::new(crate::web::Inner {
        store: store.clone(),
        pipeline: pipeline.clone(),
        web: parts.web,
        circle: parts.circle,
        tokens: parts.tokens,
        clock: clock.clone(),
        outbox_waker: sender.waker(),
    });
    match crate::web::serve(state, shutdown.clone()).await {
        Ok(task) => Some(task),
        Err(e) => {
            tracing::error!(error = %e, "cannot serve the web console; running without it");
            None
        }
    }
}

/// Once a minute: waves that timed out move on, dated pauses end, follow-ups
/// and the weekly digest go out when due. Every step is idempotent in the
/// database, so a restart or a second daemon never repeats one.
async fn schedule(
    store: Store,
    pipeline: Arc<Pipeline>,
    sender: Arc<Sender>,
    timing: Timing,
    mut shutdown: Shutdown,
) {
    while !shutdown.is_triggered() {
        let relay = pipeline.relay();
        let clock = &timing.clock;
        // Each step that queued mail wakes the sender at once.
        let wake = || sender.waker().notify_one();
        if move_waves(&store, &pipeline).await {
            wake();
        }
        if send_followups(relay, &store).await {
            wake();
        }
        if send_digests(relay, &store, &timing.digest_schedule, clock()).await {
            wake();
        }
        if moderation_summary(relay, &store).await {
            wake();
        }
        end_pauses(&store, &timing.timezone, clock()).await;
        release_memory(&store).await;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = timing.clock_moved.notified() => {}
            _ = shutdown.wait() => {}
        }
    }
}

/// Once a pass, what a burst left behind goes back to the OS: the idle
/// database connections beyond two, and the heap's free pages
/// (`crate::memory`). Without it the daemon idled at its peak RSS.
async fn release_memory(store: &Store) {
    let closed =
        crate::memory::shed_idle_connections(store.pool(), crate::memory::IDLE_CONNECTIONS_KEPT)
            .await;
    let released = crate::memory::release_free_memory();
    tracing::debug!(closed, released, "scheduler: memory released");
}

/// A scheduler step's result; an error is logged and counts as a step
/// that did nothing (the next minute tries again).
fn or_logged<T: Default, E: std::fmt::Display>(step: &str, result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "scheduler: {step}");
        T::default()
    })
}

/// Waves that timed out move on to their next candidates; true when any did.
async fn move_waves(store: &Store, pipeline: &Pipeline) -> bool {
    let matcher = match pipeline.matcher().await {
        Ok(matcher) => matcher,
        Err(e) => {
            tracing::error!(error = %e, "scheduler: directory");
            return false;
        }
    };
    let n = or_logged(
        "waves",
        pipeline.relay().expire_waves(store, &matcher).await,
    );
    if n > 0 {
        tracing::info!(requests = n, "waves moved on");
    }
    n > 0
}

/// The "did it work out?" follow-ups that are due; true when any was queued.
async fn send_followups(relay: &Relay, store: &Store) -> bool {
    let n = or_logged("follow-ups", relay.send_due_followups(store).await);
    if n > 0 {
        tracing::info!(followups = n, "follow-ups queued");
    }
    n > 0
}

/// The weekly digest when its time has come; true when any was queued.
async fn send_digests(relay: &Relay, store: &Store, schedule: &Schedule, now: i64) -> bool {
    let run = or_logged(
        "digest",
        crate::digest::send_due_digests(relay, store, schedule, now).await,
    );
    if run.sent > 0 {
        tracing::info!(week = %run.week, digests = run.sent, "weekly digest queued");
    }
    run.sent > 0
}

/// The moderation step in one transaction of its own.
async fn moderation_in_tx(relay: &Relay, store: &Store) -> Result<SummaryRun, RelayError> {
    let mut tx = store.begin().await?;
    let run = relay.moderation_step(&mut tx).await?;
    tx.commit().await?;
    Ok(run)
}

/// Holds that expired and the admins' daily summary; true when mail was queued.
async fn moderation_summary(relay: &Relay, store: &Store) -> bool {
    let run = or_logged("moderation", moderation_in_tx(relay, store).await);
    let queued = run.expired + run.summarized > 0;
    if queued {
        tracing::info!(
            expired = run.expired,
            summarized = run.summarized,
            "moderation summary queued"
        );
    }
    queued
}

/// Dated pauses end on the circle's calendar day.
async fn end_pauses(store: &Store, timezone: &jiff::tz::TimeZone, now: i64) {
    let today = jiff::Timestamp::from_second(now)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_zoned_datetime(timezone.clone())
        .date()
        .to_string();
    or_logged("pauses", store.end_pauses(&today).await);
}

/// The relay as the config describes it (`[circle]`, `[relay]`, `[matching]`,
/// the token secret), with the embedded templates, on the system clock.
pub fn relay_from_config(config: &Config) -> anyhow::Result<Relay> {
    Ok(Relay::new(
        config.circle()?,
        config.relay()?,
        config.matching()?,
        config.token_secret()?,
        Templates::embedded(),
    )?
    .with_web(&config.web()?))
}

/// The relay on the daemon's clock, and the pipeline that feeds it.
fn build_pipeline(config: &Config, store: &Store, clock: &Clock) -> anyhow::Result<Pipeline> {
    let inbox_config = config.inbox()?;
    let posting = config.circle()?.posting;
    let relay = relay_from_config(config)?
        .with_clock(clock.clone())
        .with_moderation(config.moderation()?);
    let pipeline = Pipeline::new(
        Arc::new(relay),
        store.clone(),
        Limits::from(&inbox_config),
        posting,
    )
    .context("circle address")?
    .with_vocabulary(crate::matching::Vocabulary::load(
        config.matching()?.vocabulary_path(),
    )?)
    .with_trust(TrustSettings::new(
        &inbox_config.trusted_authserv_id,
        &inbox_config.spam_header,
    ));
    Ok(pipeline)
}

/// The outbox sender over `transport`, on the daemon's clock.
fn build_sender(
    config: &Config,
    store: &Store,
    transport: Transport,
    clock: &Clock,
) -> anyhow::Result<Sender> {
    let outbound = config.outbound()?;
    let address = EmailAddress::parse(&config.circle()?.address)?;
    Ok(Sender::new(
        store.clone(),
        transport,
        address,
        config.security()?.max_mails_per_address_per_hour,
    )
    .with_policy(RetryPolicy {
        lease_seconds: i64::from(outbound.lease_seconds),
        ..RetryPolicy::default()
    })
    .with_clock(clock.clone())
    // The lanes share the sender's one write at a time: they hold no
    // database connection of their own while they send.
    .with_lanes(crate::outbox::SEND_CONCURRENCY))
}

/// One token source for the inbox and the outbox when either signs in with
/// XOAUTH2; rotated refresh tokens go to `store`.
pub fn oauth2_tokens(
    config: &Config,
    store: &Store,
) -> anyhow::Result<Option<crate::oauth2::TokenSource>> {
    if !config.uses_oauth2()? {
        return Ok(None);
    }
    let tokens = crate::oauth2::TokenSource::from_config(&config.oauth2()?, Some(store.clone()))?;
    Ok(Some(tokens))
}

/// What the scheduler needs to know about time.
struct Timing {
    timezone: jiff::tz::TimeZone,
    digest_schedule: Schedule,
    clock: Clock,
    clock_moved: Arc<tokio::sync::Notify>,
}

/// A shutdown signal fired by SIGTERM or SIGINT.
pub fn shutdown_on_signals() -> Shutdown {
    let (trigger, shutdown) = ShutdownTrigger::new();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping: finishing the message in hand");
        trigger.trigger();
    });
    shutdown
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
