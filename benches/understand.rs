//! Throughput of parse + classify on the corpus in tests/fixtures/corpus, next to mail-parser's
//! bare parse rate measured in the same run. `cargo bench --bench understand`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use circle_relay::understand::{Limits, RelayIdentity, classify, explain, parse};
use mail_parser::MessageParser;

fn corpus() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut files = Vec::new();
    let Ok(subs) = std::fs::read_dir(&dir) else {
        eprintln!("corpus missing at {}", dir.display());
        std::process::exit(1);
    };
    for sub in subs.flatten() {
        let Ok(entries) = std::fs::read_dir(sub.path()) else {
            continue;
        };
        for f in entries.flatten() {
            if f.path().extension().is_some_and(|e| e == "eml")
                && let Ok(bytes) = std::fs::read(f.path())
            {
                files.push(bytes);
            }
        }
    }
    files.sort();
    files
}

/// Runs `f` over the whole corpus repeatedly for at least `min`; msgs/s.
fn rate(files: &[Vec<u8>], min: Duration, mut f: impl FnMut(&[u8])) -> f64 {
    for raw in files {
        f(raw); // warm-up
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < min {
        for raw in files {
            f(raw);
        }
        n += files.len() as u64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let files = corpus();
    let bytes: usize = files.iter().map(Vec::len).sum();
    let relay = RelayIdentity::new("circle@circle.example").unwrap_or_else(|e| {
        eprintln!("bad relay address: {e}");
        std::process::exit(1);
    });
    let limits = Limits::default();
    let min = Duration::from_secs(3);
    let parser = MessageParser::default();

    let bare = rate(&files, min, |raw| {
        black_box(parser.parse(black_box(raw)));
    });
    let ours = rate(&files, min, |raw| {
        if let Ok(msg) = parse(black_box(raw), &limits) {
            black_box(classify(&msg, &relay));
        }
    });
    let parse_only = rate(&files, min, |raw| {
        black_box(parse(black_box(raw), &limits).ok());
    });
    // What `circle-relay explain` does per message: parse, classify, new text, intent.
    let explained = rate(&files, min, |raw| {
        black_box(explain(black_box(raw), &relay, &limits));
    });
    println!("corpus: {} messages, {} KiB", files.len(), bytes / 1024);
    println!("mail-parser bare parse : {bare:>10.0} msgs/s");
    println!("parse only (ours)      : {parse_only:>10.0} msgs/s");
    println!("parse + classify       : {ours:>10.0} msgs/s");
    println!("explain                : {explained:>10.0} msgs/s");
    println!(
        "ratio                  : {:>9.1} % (target >= 50 %)",
        100.0 * ours / bare
    );
}
