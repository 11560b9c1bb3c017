//! Load: 1,000 requests already waiting in the circle's IMAP inbox when the
//! daemon starts, 1,000 members, everything through the real mail stack
//! (deploy/mailstack): time until every requester has their answer and every
//! forward is in its member's mailbox, requests/s, the daemon's peak memory;
//! then an hour of idling simulated with a moved clock, and the memory after.
//! `/metrics` is scraped while it runs to show the counters moving.
//!
//! Before the backlog, a daemon started on the same config with an empty
//! inbox gives the fresh idle RSS. Targets (issue 7): >= 50 requests/s end to
//! end; peak RSS < 100 MB; idle RSS after the hour < 30 MB; issue 11: fresh
//! idle RSS with the lexicon loaded <= 40 MB; issue 15: >= 100 requests/s through IMAP, >= 200/s through
//! LMTP, 0 delivered twice. Run: `deploy/mailstack/up.sh && cargo bench --bench load`
//! (`LOAD_REQUESTS=200` for a shorter run; `LOAD_DATABASE_URL=postgres://…`
//! for an empty PostgreSQL database instead of a new SQLite file;
//! `LOAD_INTAKE=lmtp` for the LMTP intake: the backlog then waits in
//! Postfix's queue for lmtp.circle.test and is flushed once the daemon listens).
//! It prints where the time goes, phase by phase (intake, outbox, Postfix to
//! Dovecot), and first what the stack alone delivers per second (plain mails
//! over 8 SMTP connections), so the daemon's share is visible. Against a
//! second stack of one's own: `MAILSTACK_DIR=… MAILSTACK_SMTP_PORT=…` (and
//! the other ports of deploy/mailstack/common.sh) for both up.sh and the bench;
//! `LOAD_PLAIN_ONLY=1` stops after the stack's own rate.

#[path = "load_parts/phases.rs"]
mod phases;
#[path = "load_parts/plain.rs"]
mod plain;
#[path = "../tests/inbox_support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

const MEMBERS: usize = 1000;
const MAILBOXES: usize = 8; // members are mem1+N … mem8+N (plus-addressing)
const RELAY: &str = "loadrelay";

/// (English, Japanese) phrasing of what a request asks for, and the skills a
/// member who fits lists.
const TRADES: &[(&str, &str, &str)] = &[
    (
        "a registered nurse for a first aid class",
        "救命講習をしてくれる看護師さん",
        "看護師;救命講習",
    ),
    (
        "a physiotherapist for back pain",
        "腰痛を見てくれる理学療法士",
        "理学療法士;腰痛",
    ),
    (
        "a tax accountant for my small business",
        "個人事業の確定申告をお願いできる税理士",
        "税理士;確定申告",
    ),
    (
        "a labour and social security attorney",
        "就業規則の相談ができる社労士",
        "社会保険労務士;就業規則",
    ),
    (
        "a career consultant",
        "転職の相談ができるキャリアコンサルタント",
        "キャリアコンサルタント",
    ),
    (
        "a web designer for our shop's site",
        "お店のホームページを作れるWebデザイナー",
        "Webデザイナー;ホームページ制作",
    ),
    (
        "a photographer for profile photos",
        "プロフィール写真を撮れるカメラマン",
        "カメラマン;プロフィール写真",
    ),
    (
        "an English teacher for business English",
        "ビジネス英語を教えられる英語講師",
        "英語講師;ビジネス英語",
    ),
    (
        "a yoga instructor for our staff",
        "社員向けのヨガインストラクター",
        "ヨガインストラクター",
    ),
    (
        "an executive coach for a new manager",
        "新任管理職のためのエグゼクティブコーチ",
        "エグゼクティブコーチ;コーチング",
    ),
    (
        "a hairdresser who visits homes",
        "訪問美容ができる美容師",
        "美容師;訪問美容",
    ),
    (
        "a dietitian for meal plans",
        "食事指導ができる管理栄養士",
        "管理栄養士;食事指導",
    ),
];
const REGIONS: &[&str] = &["東京", "大阪", "Online", "福岡"];

fn members_csv() -> String {
    let mut csv = String::from("email,name,skills,bio,languages,region,status\n");
    for n in 0..MEMBERS {
        let (en, _, skills) = TRADES[n % TRADES.len()];
        let mailbox = n % MAILBOXES + 1;
        let lang = if n % 3 == 0 { "en" } else { "ja" };
        csv.push_str(&format!(
            "mem{mailbox}+m{n}@circle.test,Member {n},{skills},Offers {en}.,{lang},{},\n",
            REGIONS[(n / TRADES.len()) % REGIONS.len()]
        ));
    }
    csv
}

fn request(n: usize) -> String {
    let (en, ja, _) = TRADES[n % TRADES.len()];
    let (subject, body) = if n.is_multiple_of(2) {
        (
            format!("Looking for {en} ({n})"),
            format!("Hello, we are looking for {en}. Can anyone help?"),
        )
    } else {
        (
            format!("{ja}を探しています（{n}）"),
            format!("こんにちは。{ja}を探しています。よろしくお願いします。"),
        )
    };
    format!(
        "From: asker6+r{n}@circle.test\nTo: {RELAY}@circle.test\nSubject: {}\nMessage-ID: <load-{n}@circle.test>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n{body}\n",
        support::encode_word(&subject)
    )
}

/// CPU seconds (user + system) process `pid` has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: fields 14 and 15 are utime, stime.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

async fn scrape(address: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(address).await else {
        return String::new();
    };
    let _ = s
        .write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
    let mut page = String::new();
    let _ = s.read_to_string(&mut page).await;
    page
}

fn sample(page: &str, series: &str) -> u64 {
    page.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .map_or(0, |v| v as u64)
}

fn members_mail() -> usize {
    (1..=MAILBOXES)
        .map(|k| support::inbox_count(&format!("mem{k}")))
        .sum()
}

#[tokio::main]
async fn main() {
    let requests: usize = std::env::var("LOAD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    support::require_stack();
    for u in [RELAY, "asker6", "relayadmin"] {
        support::reset_user(u);
    }
    for k in 1..=MAILBOXES {
        support::reset_user(&format!("mem{k}"));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let address = format!("127.0.0.1:{port}");
    let clock = dir.path().join("clock-offset");
    std::fs::write(&clock, "0").expect("clock file");
    let config = support::write_config(
        dir.path(),
        RELAY,
        &std::env::var("LOAD_DATABASE_URL")
            .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("relay.db").display())),
        &format!(
            "[security]\ntoken_secret = \"load-bench-secret-123\"\n[server]\nlisten = \"{address}\"\n\
             [moderation]\nmax_requests_per_sender_per_day = 100000\n"
        ),
    );
    let lmtp = std::env::var("LOAD_INTAKE").is_ok_and(|v| v == "lmtp");
    let circle = if lmtp {
        support::ensure_intake_routes();
        use_lmtp_intake(&config);
        format!("{RELAY}@lmtp.circle.test")
    } else {
        format!("{RELAY}@circle.test")
    };
    support::import_members(&config, &members_csv());
    let clock_env = clock.to_string_lossy().to_string();
    let (fresh, fresh_split) = fresh_idle_rss(&config, &clock_env, &address).await;
    println!(
        "a fresh daemon idling on the empty inbox (matcher built over {MEMBERS} members): RSS {:.1} MB \
         (target <= 40: {}); load {}",
        mb(fresh),
        met(fresh <= 40 * 1024),
        load_average()
    );

    // Fill the inbox first, over SMTP, a few connections at a time.
    let t = Instant::now();
    let mut batch = Vec::new();
    for n in 0..requests {
        let circle = circle.clone();
        batch.push(tokio::spawn(async move {
            support::submit_raw(
                &format!("asker6+r{n}@circle.test"),
                &circle,
                &request(n).replace(
                    &format!("To: {RELAY}@circle.test"),
                    &format!("To: {circle}"),
                ),
            )
            .await;
        }));
        if batch.len() == 8 {
            for b in batch.drain(..) {
                b.await.expect("submit");
            }
        }
    }
    for b in batch {
        b.await.expect("submit");
    }
    while !lmtp && support::inbox_count(RELAY) < requests {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stack_rate = requests as f64 / t.elapsed().as_secs_f64();
    let intake = if lmtp {
        "LMTP intake (waiting in Postfix's queue)"
    } else {
        "IMAP inbox"
    };
    println!(
        "{requests} requests waiting for the {intake}; {MEMBERS} members (filled at {stack_rate:.0} mails/s: \
         8 submitters, a new SMTP connection per mail)"
    );

    let (plain_rate, plain_submit) = plain::stack_rate(requests, 8).await;
    println!(
        "the stack alone: {requests} plain mails over 8 SMTP connections delivered at {plain_rate:.0} mails/s \
         (submitted at {plain_submit:.0}/s; load {})",
        load_average()
    );
    if std::env::var("LOAD_PLAIN_ONLY").is_ok_and(|v| v == "1") {
        return; // tuning the stack: its own rate is all that is asked
    }

    // LOAD_RUST_LOG: the daemon's log filter (e.g. sqlx::query=debug to count statements).
    let log = std::env::var("LOAD_RUST_LOG").unwrap_or_else(|_| "warn".into());
    let daemon = support::DaemonProcess::run_with_env(
        &config,
        &[
            ("CIRCLE_RELAY_CLOCK_OFFSET_FILE", &clock_env),
            ("RUST_LOG", &log),
        ],
    );
    let pid = daemon.pid();
    let t0 = Instant::now();
    if lmtp {
        flush_when_listening().await;
    }
    let mut last_print = Instant::now();
    let mut page;
    let mut phases = phases::Phases::default();
    let spool = phases::postfix_spool();
    // The daemon's own part, apart from the mail stack's delivery: every
    // request handled, then every mail handed to the SMTP server.
    let (mut all_handled, mut all_sent) = (None, None);
    let mut cpu_handled = 0.0;
    loop {
        page = scrape(&address).await;
        let answered = support::inbox_count("asker6");
        let forwards = sample(&page, "circle_relay_forwards_total");
        let delivered = members_mail();
        let waiting = sample(&page, "circle_relay_outbox_mails{status=\"queued\"}")
            + sample(&page, "circle_relay_outbox_mails{status=\"sending\"}");
        let handled = sample(
            &page,
            "circle_relay_messages_total{kind=\"request\",outcome=\"processed\"}",
        );
        phases.add(phases::Sample {
            at: t0.elapsed(),
            handled: handled as f64,
            sent: phases::total(&page, "circle_relay_mails_sent_total"),
            delivered: delivered + answered,
            queued: phases::postfix_queue(&spool),
        });
        if all_handled.is_none() && handled >= requests as u64 {
            all_handled = Some(t0.elapsed());
            cpu_handled = cpu_seconds(pid);
        }
        if all_handled.is_some() && all_sent.is_none() && waiting == 0 {
            all_sent = Some(t0.elapsed());
        }
        if last_print.elapsed() >= Duration::from_secs(2) {
            println!(
                "  {:>5.1} s: handled {} (metrics), requesters answered {answered}, forwards {forwards} made / {delivered} delivered, outbox waiting {waiting}",
                t0.elapsed().as_secs_f64(),
                handled,
            );
            last_print = Instant::now();
        }
        if answered >= requests && forwards > 0 && delivered as u64 >= forwards && waiting == 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "not done after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = t0.elapsed();
    println!("where the time went (load {}):", load_average());
    phases.report(&page);
    tokio::time::sleep(Duration::from_secs(2)).await; // a double would land now
    let doubles = (support::inbox_count("asker6") + members_mail())
        .saturating_sub(requests + sample(&page, "circle_relay_forwards_total") as usize);
    println!("mails delivered more than once: {doubles}");
    println!(
        "the daemon's CPU: {:.1} s until every request was handled, {:.1} s in all: {:.1} ms a request \
         (user + system; what the load average does not change)",
        cpu_handled,
        cpu_seconds(pid),
        cpu_seconds(pid) * 1000.0 / requests as f64,
    );
    if let (Some(h), Some(s)) = (all_handled, all_sent) {
        let mails = requests as f64 + sample(&page, "circle_relay_forwards_total") as f64;
        println!(
            "the daemon's part: {requests} requests handled in {:.1} s ({:.0}/s); their {mails} mails \
             handed to the SMTP server by {:.1} s ({:.0} mails/s); the stack delivered the last at {:.1} s",
            h.as_secs_f64(),
            requests as f64 / h.as_secs_f64(),
            s.as_secs_f64(),
            mails / s.as_secs_f64(),
            took.as_secs_f64(),
        );
    }
    let peak = rss_kib(pid, "VmHWM:");
    let target = if lmtp { 200.0 } else { 100.0 };
    let forwards = sample(&page, "circle_relay_forwards_total");
    let mails = requests as u64 + forwards;
    println!(
        "the daemon delivered {mails} mails ({:.1} a request) in {:.1} s: {:.0} mails/s",
        mails as f64 / requests as f64,
        took.as_secs_f64(),
        mails as f64 / took.as_secs_f64(),
    );
    println!(
        "{requests} requests end to end through the {intake} in {:.1} s: {:.1} requests/s (target >= {target}: {}); \
         {forwards} forwards delivered; peak RSS {:.1} MB (target < 100: {}); load {}",
        took.as_secs_f64(),
        requests as f64 / took.as_secs_f64(),
        if requests as f64 / took.as_secs_f64() >= target {
            "met"
        } else {
            "not met"
        },
        mb(peak),
        met(peak < 100 * 1024),
        load_average(),
    );
    println!(
        "the stack alone carries at most {:.0} requests/s of this mix ({:.1} mails a request at \
         {plain_rate:.0} mails/s)",
        plain_rate * requests as f64 / mails as f64,
        mails as f64 / requests as f64,
    );

    // An hour of idling, a minute of daemon time every 200 ms.
    for minute in 1..=60 {
        std::fs::write(&clock, (minute * 60).to_string()).expect("move the clock");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib(pid, "VmRSS:");
    let idle_split = rss_split(pid);
    let page = scrape(&address).await;
    println!(
        "after an hour of idling (moved clock): RSS {:.1} MB (target < 30: {}); outbox sent {}",
        mb(idle),
        met(idle < 30 * 1024),
        sample(&page, "circle_relay_outbox_mails{status=\"sent\"}"),
    );
    let load = load_average();
    println!("the daemon's memory (LOAD_REQUESTS={requests}, load {load}):");
    println!(
        "  fresh, idle:              {:>5.1} MB  (target <= 40, issue 11: {}; {fresh_split})",
        mb(fresh),
        met(fresh <= 40 * 1024)
    );
    println!(
        "  peak, during the burst:   {:>5.1} MB  (target < 100, issue 7: {})",
        mb(peak),
        met(peak < 100 * 1024)
    );
    println!(
        "  idle after the hour:      {:>5.1} MB  (target < 30, issue 7: {}; {idle_split})",
        mb(idle),
        met(idle < 30 * 1024)
    );
    drop(daemon);
}

/// What the RSS is made of: anonymous memory (heap, stacks: what the daemon
/// allocated) and mapped files (the binary's code and embedded data, such as
/// the lexicon's pages, and the shared libraries: clean pages the kernel can
/// drop and read again).
fn rss_split(pid: u32) -> String {
    format!(
        "{:.1} MB heap and stacks, {:.1} MB mapped binary and libraries",
        mb(rss_kib(pid, "RssAnon:")),
        mb(rss_kib(pid, "RssFile:"))
    )
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "not met" }
}

/// The RSS (KiB, and what it is made of) of a daemon started on `config` with nothing in its inbox,
/// once it has settled (its scheduler has built the matcher); it is stopped
/// before the backlog is filled, so the measured daemon still finds it waiting.
async fn fresh_idle_rss(config: &std::path::Path, clock: &str, address: &str) -> (u64, String) {
    let daemon = support::DaemonProcess::run_with_env(
        config,
        &[
            ("CIRCLE_RELAY_CLOCK_OFFSET_FILE", clock),
            ("RUST_LOG", "warn"),
        ],
    );
    let pid = daemon.pid();
    let start = Instant::now();
    while scrape(address).await.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no /metrics after a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Settled: RSS within 64 KiB of what it was a second ago (at most 20 s).
    let mut last = rss_kib(pid, "VmRSS:");
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = rss_kib(pid, "VmRSS:");
        if now.abs_diff(last) <= 64 {
            break;
        }
        last = now;
    }
    let rss = (rss_kib(pid, "VmRSS:"), rss_split(pid));
    daemon.signal("TERM");
    while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    }) {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the fresh daemon did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rss
}

/// The circle at lmtp.circle.test, its inbox the daemon's own LMTP listener
/// (where deploy/mailstack's Postfix delivers that domain).
fn use_lmtp_intake(config: &std::path::Path) {
    let text = std::fs::read_to_string(config).expect("config");
    let (head, rest) = text.split_once("[inbox]\n").expect("an [inbox] section");
    let (_, tail) = rest
        .split_once("[outbound]")
        .expect("an [outbound] section");
    let head = head.replace(
        &format!("address = \"{RELAY}@circle.test\""),
        &format!("address = \"{RELAY}@lmtp.circle.test\""),
    );
    let text = format!(
        "{head}[inbox]\nkind = \"lmtp\"\nlisten = \"127.0.0.1:{}\"\n[outbound]{tail}",
        support::lmtp_intake_port()
    );
    std::fs::write(config, text).expect("config");
}

/// Once the daemon listens, tells Postfix to deliver its deferred mail now.
async fn flush_when_listening() {
    while tokio::net::TcpStream::connect(("127.0.0.1", support::lmtp_intake_port()))
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let conf = support::stack_dir().join("postfix");
    let status = std::process::Command::new("postqueue")
        .arg("-c")
        .arg(conf)
        .arg("-f")
        .status()
        .expect("postqueue runs");
    assert!(status.success(), "postqueue -f failed");
}

/// The 1-minute load average, to print beside every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}
