//! Imports a generated 10,000-member CSV into a fresh SQLite file, as
//! `members import` does (parse + one transaction), and reports the time.
//! Run: `cargo bench --bench import`. Target (issue 2): under 2 s.

use std::time::{Duration, Instant};

use circle_relay::config::{DatabaseConfig, DatabaseUrl};
use circle_relay::directory::parse_members_csv;
use circle_relay::store::Store;

const SKILLS: &[&str] = &[
    "看護師",
    "助産師",
    "理学療法士",
    "社会保険労務士",
    "キャリアコンサルタント",
    "business coaching",
    "registered nurse",
    "bookkeeping",
    "Web制作",
    "イラストレーター",
    "English lessons",
    "税理士",
];
const REGIONS: &[&str] = &["東京", "大阪", "福岡", "Tokyo", "online", "名古屋"];

fn generated_csv(n: usize) -> String {
    let mut s = String::from("email,name,skills,bio,languages,region,status\n");
    for i in 0..n {
        let a = SKILLS[i % SKILLS.len()];
        let b = SKILLS[(i * 7 + 3) % SKILLS.len()];
        let region = REGIONS[i % REGIONS.len()];
        let (langs, status) = if i % 3 == 0 {
            ("en;ja", "active")
        } else {
            ("ja", "")
        };
        let status = if i % 50 == 0 { "paused" } else { status };
        s.push_str(&format!(
            "member{i}@example.org,会員 {i},{a};{b},{a}として{region}で活動しています。{b}の相談も。,{langs},{region},{status}\n"
        ));
    }
    s
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let csv = generated_csv(10_000);
    let mut times = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = DatabaseConfig {
            url: DatabaseUrl::new(format!(
                "sqlite://{}",
                dir.path().join("bench.db").display()
            )),
            max_connections: 5,
        };
        let elapsed = rt.block_on(async {
            let store = Store::connect(&config).await.expect("store");
            let start = Instant::now();
            let members = parse_members_csv(csv.as_bytes()).expect("parse");
            let summary = store.import_members(&members, false).await.expect("import");
            let elapsed = start.elapsed();
            assert_eq!(summary.added, 10_000);
            store.close().await;
            elapsed
        });
        times.push(elapsed);
    }
    times.sort();
    let median = times[times.len() / 2];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "import 10,000 members into SQLite: median {:.0} ms, best {:.0} ms, worst {:.0} ms over {} runs (target < 2000 ms)",
        ms(median),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len()
    );
}
