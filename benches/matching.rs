//! Matching latency over generated directories of 1,000, 10,000 and 100,000
//! members: the index build time (wall and CPU), and median and p99 per request
//! (`cargo bench --bench matching`; `MATCH_BENCH_SIZES=1000,2000` for other
//! sizes, `MATCH_BENCH_VERBOSE=1` for each request's slowest time). Each
//! request is ranked three times in a row: "p99" is over the first runs,
//! "p99 min3" over the fastest of each three, which leaves out the time a
//! shared machine's other processes held the core (a preempted run is
//! rarely preempted three times).
//! A plain binary (harness = false) so it needs no benchmark crate.
//! `MATCH_BENCH_CHECK=1` times nothing: it ranks the bench's requests and
//! every dev set's requests (tests/fixtures/eval) against the generated
//! directories and the dev sets' own, with several shortlist sizes and
//! contexts, by the pruned path and by assessing every member, and fails
//! unless both give the same lists (emails, evidence, scores to 1e-6).
//! Directories mix curated trades, trades only the open vocabulary knows,
//! and a made-up word or two per member (as shop and product names are).

use std::hint::black_box;
use std::time::{Duration, Instant};

use circle_relay::directory::parse_members_csv;
use circle_relay::domain::{EmailAddress, Language, Member, MemberStatus};
use circle_relay::matching::eml::read_request;
use circle_relay::matching::{MatchContext, Matcher, RankPath};

const SKILLS: &[&str] = &[
    "看護師",
    "registered nurse",
    "助産師",
    "薬剤師",
    "pharmacist",
    "理学療法士",
    "physiotherapist",
    "作業療法士",
    "柔道整復師",
    "鍼灸師",
    "介護福祉士",
    "care worker",
    "臨床心理士",
    "counselor",
    "保育士",
    "管理栄養士",
    "社会保険労務士",
    "給与計算",
    "税理士",
    "bookkeeping",
    "行政書士",
    "司法書士",
    "弁護士",
    "中小企業診断士",
    "補助金申請",
    "ファイナンシャルプランナー",
    "コーチング",
    "business coaching",
    "キャリアコンサルタント",
    "リーダーシップ研修",
    "1on1研修",
    "DiSC workshops",
    "facilitation",
    "ビジネスマナー講師",
    "接遇研修",
    "presentation skills",
    "美容師",
    "訪問美容",
    "エステティシャン",
    "ネイリスト",
    "makeup lessons",
    "color analysis",
    "personal styling",
    "ホームページ制作",
    "SEO対策",
    "web design",
    "IT consulting",
    "cybersecurity",
    "photographer",
    "動画制作",
    "イラストレーター",
    "copywriting",
    "編集",
    "英語講師",
    "business English teacher",
    "英語翻訳",
    "translator",
    "Spanish interpreter",
    "通訳",
    "全国通訳案内士",
    "Mandarin lessons",
    "日本語教師",
    "yoga instructor",
    "personal trainer",
    "コーヒー教室",
    "料理教室",
    "event planning",
    "整理収納",
    "first aid and CPR instructor",
    "スポーツ外傷",
    "産後ケア",
    "不登校相談",
    // trades the curated vocabulary does not list: the open-vocabulary path
    "locksmith",
    "beekeeping",
    "書道教室",
    "着付け",
    "和菓子づくり",
    "ソムリエ",
    "glassblowing",
    "ガラス工芸",
    "dog grooming",
    "トリマー",
    "整体",
    "ギター教室",
    "wedding planner",
    "kimono restoration",
    "登山ガイド",
    "mountain guide",
    "florist",
    "花屋",
    "精肉店",
    "酒造り",
    "scuba diving instructor",
    "テーラー",
];
const EXTRA: &[&str] = &[
    "オンライン講座",
    "企業研修",
    "workshops",
    "small business",
    "seminars",
    "個別相談",
    "初心者向け",
    "for companies",
    "子ども向け",
    "シニア向け",
    "グループレッスン",
    "1対1",
];
const REGIONS: &[&str] = &[
    "東京",
    "大阪",
    "横浜",
    "名古屋",
    "福岡",
    "京都",
    "札幌",
    "Tokyo",
    "Osaka",
    "online",
    "オンライン",
    "千葉",
];
const REQUESTS: &[(&str, &str)] = &[
    (
        "母親学級でお話しいただける助産師さん",
        "横浜市内の子育て支援施設です。お産の流れや産後の体のケアについてお話ししていただける助産師の方を探しています。",
    ),
    (
        "First aid / CPR training for our teachers",
        "We run a language school in Tokyo. We'd like someone to teach a half-day first aid and CPR course. A nurse or a certified instructor would be ideal.",
    ),
    (
        "相続税の申告について相談したいです",
        "相続税に詳しい税理士の先生をご紹介いただけないでしょうか。都内です。",
    ),
    (
        "English-speaking bookkeeper?",
        "Our zeirishi handles the year-end filing, but we need someone to keep our monthly books in English.",
    ),
    (
        "DiSC研修をお願いできる講師の方",
        "開発チームでDiSCを使ったチーム研修を検討しております。英語での実施でも構いません。オンライン開催の予定です。",
    ),
    (
        "Headshot photographer in Tokyo?",
        "Can anyone recommend a photographer in Tokyo who does corporate-style headshots?",
    ),
    (
        "通関士の方を探しています",
        "輸入通関の手続きをお願いできる通関士の方を探しています。",
    ),
    (
        "IT security check for our office (Osaka)",
        "パスワード、バックアップ、Wi-Fi などのセキュリティを一度見ていただける方を探しています。",
    ),
    (
        "書道の先生を探しています",
        "子ども向けの書道教室を開いてくださる方はいませんか。",
    ),
    (
        "Dog groomer?",
        "Does anyone know a dog groomer, or a trimmer who does home visits? A florist would also be fine for our event.",
    ),
    ("ソムリエの方", "ワイン会でお話ししてもらえたら嬉しいです。"),
];

/// A made-up word per member (shop names, product words), so the term
/// dictionary grows with the directory as real ones do.
fn made_up(rng: &mut Rng) -> String {
    const LATIN: &[&str] = &[
        "ka", "ro", "mi", "zen", "tor", "vel", "an", "qu", "is", "bel",
    ];
    const KANA: &[&str] = &[
        "カ", "ロ", "ミ", "ゼン", "トル", "ベル", "アン", "ク", "イス", "ー",
    ];
    let n = 2 + (rng.next() % 3) as usize;
    if rng.next().is_multiple_of(2) {
        (0..n).map(|_| rng.pick(LATIN)).collect()
    } else {
        (0..n).map(|_| rng.pick(KANA)).collect()
    }
}

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn directory(n: usize) -> Vec<Member> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let ja = Language::parse("ja").ok();
    let en = Language::parse("en").ok();
    (0..n)
        .filter_map(|i| {
            let mut skills: Vec<String> = (0..3).map(|_| rng.pick(SKILLS).to_string()).collect();
            skills.push(format!("{} {}", rng.pick(EXTRA), i % 997));
            skills.push(format!("{} {}", made_up(&mut rng), rng.pick(EXTRA)));
            let bio = format!(
                "{}と{}をしています。{} {}。{}も扱っています。",
                skills[0],
                skills[1],
                rng.pick(EXTRA),
                rng.pick(REGIONS),
                made_up(&mut rng)
            );
            let status = match rng.next() % 10 {
                0 => MemberStatus::Paused,
                1 => MemberStatus::Left,
                _ => MemberStatus::Active,
            };
            Some(Member {
                id: i as i64 + 1,
                email: EmailAddress::parse(&format!("m{i}@example.org")).ok()?,
                name: format!("Member {i}"),
                skills,
                bio,
                languages: [ja.clone(), en.clone()]
                    .into_iter()
                    .flatten()
                    .take(1 + (i % 2))
                    .collect(),
                region: rng.pick(REGIONS).to_string(),
                status,
                paused_until: None,
                timezone: None,
            })
        })
        .collect()
}

/// This process's resident and peak memory in MB (Linux), for the size figures.
fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The directory sizes: 1k, 10k and 100k, or `MATCH_BENCH_SIZES=1000,2000`
/// (to see how the build grows, or to profile one size).
fn sizes() -> Vec<usize> {
    match std::env::var("MATCH_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.trim().replace('_', "").parse().ok())
            .collect(),
        Err(_) => vec![1_000, 10_000, 100_000],
    }
}

/// CPU time this process has used (user + system, from /proc/self/stat, in
/// clock ticks of 10 ms): the index build's cost apart from the time a shared
/// machine made it wait for a core.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // the fields after the command name, which is in parentheses
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// A directory to check, and the requests (subject, body) to rank against it.
struct CheckSet {
    name: String,
    members: Vec<Member>,
    requests: Vec<(String, String)>,
}

/// Every dev set's requests and members, from tests/fixtures/eval.
fn dev_sets() -> Vec<CheckSet> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    dirs.retain(|d: &std::path::PathBuf| d.join("members.csv").is_file());
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let name = dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let mut files: Vec<_> = std::fs::read_dir(dir.join("requests"))
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.sort();
            let requests = files
                .iter()
                .filter_map(|f| read_request(&std::fs::read(f).ok()?).ok())
                .map(|r| (r.subject, r.body))
                .collect();
            let csv = std::fs::read(dir.join("members.csv")).unwrap_or_default();
            let mut members = parse_members_csv(&csv).unwrap_or_default();
            for (i, m) in members.iter_mut().enumerate() {
                m.id = i as i64 + 1;
            }
            CheckSet {
                name,
                members,
                requests,
            }
        })
        .collect()
}

/// The contexts the check ranks under: shortlist size, and who is excluded,
/// capped or recently asked (so fairness and exclusions reorder).
fn check_contexts(members: &[Member]) -> Vec<(usize, MatchContext)> {
    let mut busy = MatchContext {
        weekly_cap: Some(3),
        ..MatchContext::default()
    };
    for (i, m) in members.iter().enumerate() {
        match i % 7 {
            0 => {
                busy.recent_forwards.insert(m.id, (i % 5) as u32);
            }
            3 => {
                busy.exclude_members.insert(m.id);
            }
            _ => {}
        }
    }
    busy.exclude_emails = members
        .iter()
        .step_by(11)
        .map(|m| m.email.clone())
        .collect();
    vec![
        (3, MatchContext::default()),
        (1, MatchContext::default()),
        (10, MatchContext::default()),
        (3, busy.clone()),
        (5, busy),
    ]
}

/// The differences between the pruned and the exhaustive ranking of one request.
fn compare(
    matcher: &Matcher,
    subject: &str,
    body: &str,
    top: usize,
    ctx: &MatchContext,
) -> Vec<String> {
    let (a, a_c, a_n) = matcher.rank_unrounded(subject, body, ctx, top, RankPath::Pruned);
    let (b, b_c, b_n) = matcher.rank_unrounded(subject, body, ctx, top, RankPath::Exhaustive);
    let mut out = Vec::new();
    let emails = |l: &[circle_relay::matching::Candidate]| {
        l.iter().map(|c| c.email.clone()).collect::<Vec<_>>()
    };
    if a != b {
        out.push(format!(
            "lists differ: pruned {:?} / {:?}, exhaustive {:?} / {:?}",
            emails(&a.candidates),
            emails(&a.near_misses),
            emails(&b.candidates),
            emails(&b.near_misses)
        ));
    }
    let close = |x: &[f32], y: &[f32]| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| (p - q).abs() <= 1e-6)
    };
    if !close(&a_c, &b_c) || !close(&a_n, &b_n) {
        out.push(format!(
            "scores differ: pruned {a_c:?} / {a_n:?}, exhaustive {b_c:?} / {b_n:?}"
        ));
    }
    // `rank` works out the shortlist alone
    let (c, c_c, _) = matcher.rank_unrounded(subject, body, ctx, top, RankPath::ShortlistOnly);
    if c.candidates != b.candidates || !close(&c_c, &b_c) {
        out.push(format!(
            "shortlist alone differs: {:?} {c_c:?}, exhaustive {:?} {b_c:?}",
            emails(&c.candidates),
            emails(&b.candidates)
        ));
    }
    out
}

/// `rank_with_near_misses` (what the daemon's intake calls: the near-misses
/// too, for the admins when nobody fits): first runs and fastest of three, sorted.
fn with_near_misses(
    matcher: &Matcher,
    ctx: &MatchContext,
    rounds: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut first, mut quiet) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (subject, body) in REQUESTS {
            let runs: Vec<Duration> = (0..3)
                .map(|_| {
                    let t = Instant::now();
                    black_box(matcher.rank_with_near_misses(subject, body, ctx, 3));
                    t.elapsed()
                })
                .collect();
            first.push(runs[0]);
            quiet.extend(runs.iter().min());
        }
    }
    first.sort();
    quiet.sort();
    (first, quiet)
}

/// The check mode: pruned against exhaustive on every request, directory and context.
fn check() {
    let mut sets = dev_sets();
    let all_requests: Vec<(String, String)> = REQUESTS
        .iter()
        .map(|(s, b)| (s.to_string(), b.to_string()))
        .chain(sets.iter().flat_map(|set| set.requests.iter().cloned()))
        .collect();
    for n in sizes() {
        sets.push(CheckSet {
            name: format!("generated {n}"),
            members: directory(n),
            requests: all_requests.clone(),
        });
    }
    let (mut compared, mut failed, mut shortlisted) = (0usize, 0usize, 0usize);
    for CheckSet {
        name,
        members,
        requests,
    } in sets
    {
        let contexts = check_contexts(&members);
        let matcher = match Matcher::with_default_vocabulary(members) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("cannot build the matcher: {e}");
                std::process::exit(1);
            }
        };
        for (subject, body) in &requests {
            for (top, ctx) in &contexts {
                compared += 1;
                shortlisted += usize::from(!matcher.rank(subject, body, ctx, *top).is_empty());
                let diffs = compare(&matcher, subject, body, *top, ctx);
                if !diffs.is_empty() {
                    failed += 1;
                    println!("{name}: top {top}: {subject:?}");
                    for d in diffs {
                        println!("    {d}");
                    }
                }
            }
        }
        println!("{name}: checked");
    }
    println!("{compared} rankings compared ({shortlisted} with a shortlist), {failed} differ");
    if failed > 0 {
        std::process::exit(1);
    }
}

fn main() {
    if std::env::var_os("MATCH_BENCH_CHECK").is_some() {
        check();
        return;
    }
    println!("load average at start: {}", load_average());
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9}",
        "members",
        "build",
        "build cpu",
        "median",
        "p99",
        "med min3",
        "p99 min3",
        "samples",
        "rss MB"
    );
    let verbose = std::env::var_os("MATCH_BENCH_VERBOSE").is_some();
    for n in sizes() {
        let members = directory(n);
        let start = Instant::now();
        let cpu_start = process_cpu();
        let matcher = match Matcher::with_default_vocabulary(members) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("cannot build the matcher: {e}");
                std::process::exit(1);
            }
        };
        let build = start.elapsed();
        let build_cpu = match (cpu_start, process_cpu()) {
            (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64() * 1e3,
            _ => f64::NAN,
        };
        let ctx = MatchContext::default();
        let rounds = if n >= 100_000 { 25 } else { 100 };
        let mut times = Vec::with_capacity(rounds * REQUESTS.len());
        let mut quiet = Vec::with_capacity(rounds * REQUESTS.len());
        let mut per_request = vec![Duration::ZERO; REQUESTS.len()];
        let cpu_before = process_cpu();
        for _ in 0..rounds {
            for (i, (subject, body)) in REQUESTS.iter().enumerate() {
                let mut best = Duration::MAX;
                for repeat in 0..3 {
                    let t = Instant::now();
                    black_box(matcher.rank(subject, body, &ctx, 3));
                    let wall = t.elapsed();
                    if repeat == 0 {
                        times.push(wall);
                    }
                    best = best.min(wall);
                }
                quiet.push(best);
                per_request[i] = per_request[i].max(best);
            }
        }
        let cpu_per_rank = match (cpu_before, process_cpu()) {
            (Some(a), Some(b)) => {
                b.saturating_sub(a).as_secs_f64() * 1e3 / (3 * times.len()) as f64
            }
            _ => f64::NAN,
        };
        times.sort();
        quiet.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (rss, _) = memory_mb();
        println!(
            "{n:>8} {:>8.0}ms {build_cpu:>8.0}ms {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>9} {rss:>9.1}  cpu/match {cpu_per_rank:.2}ms",
            ms(build),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(percentile(&quiet, 0.5)),
            ms(percentile(&quiet, 0.99)),
            times.len()
        );
        let (near, near_quiet) = with_near_misses(&matcher, &ctx, rounds);
        println!(
            "{:>8} with near-misses (the daemon's intake): median {:.2}ms p99 {:.2}ms, min3 median {:.2}ms p99 {:.2}ms",
            "",
            ms(percentile(&near, 0.5)),
            ms(percentile(&near, 0.99)),
            ms(percentile(&near_quiet, 0.5)),
            ms(percentile(&near_quiet, 0.99)),
        );
        if verbose {
            for ((subject, _), worst) in REQUESTS.iter().zip(&per_request) {
                println!("    slowest (min of 3) {:>8.2}ms  {subject}", ms(*worst));
            }
        }
        drop(matcher);
    }
    println!("load average at end: {}", load_average());
}
