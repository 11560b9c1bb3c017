//! Property test: arbitrary bytes and mutated corpus files never panic
//! parse, classify or new_text. A fixed-seed generator keeps it repeatable.

use std::path::Path;

use circle_relay::understand::{Limits, RelayIdentity, classify, new_text, parse};

/// xorshift64*: deterministic, no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments that steer mutations into the parser's tricky paths.
const SNIPPETS: &[&[u8]] = &[
    b"=?iso-2022-jp?B?GyRCJUsl=?=",
    b"=?utf-8?Q?=E3=81?=",
    b"\x1b$B",
    b"\x1b(B",
    b"\r\n\r\n",
    b"\n--",
    b"boundary=\"x\"",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"charset=cp932",
    b"> ",
    b"-- \n",
    b"\xff\xfe\x00",
    b"<html><blockquote>",
];

fn run(raw: &[u8], relay: &RelayIdentity) {
    if let Ok(msg) = parse(raw, &Limits::default()) {
        let _ = classify(&msg, relay);
        let _ = new_text(&msg.text);
    }
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut m = base.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(m.len() + 1);
        match rng.below(5) {
            0 if !m.is_empty() => {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
            1 => m.truncate(at),
            2 => {
                let s = SNIPPETS[rng.below(SNIPPETS.len())];
                m.splice(at..at, s.iter().copied());
            }
            3 if at < m.len() => {
                let end = (at + rng.below(64)).min(m.len());
                m.drain(at..end);
            }
            _ => {
                let end = (at + rng.below(256)).min(m.len());
                let chunk = m[at..end].to_vec();
                m.splice(at..at, chunk);
            }
        }
    }
    m
}

#[test]
fn arbitrary_bytes_never_panic() {
    let relay = RelayIdentity::new("circle@circle.example").expect("valid");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..1500 {
        let len = rng.below(2048);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        run(&bytes, &relay);
        // Header-shaped noise reaches deeper than pure noise.
        let mut shaped = b"From: a@b.c\r\nSubject: ".to_vec();
        shaped.extend_from_slice(&bytes[..len.min(200)]);
        shaped.extend_from_slice(SNIPPETS[rng.below(SNIPPETS.len())]);
        shaped.extend_from_slice(&bytes[len.min(200)..]);
        run(&shaped, &relay);
    }
}

#[test]
fn mutated_corpus_files_never_panic() {
    let relay = RelayIdentity::new("circle@circle.example").expect("valid");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut files = Vec::new();
    for sub in std::fs::read_dir(&dir).expect("corpus missing") {
        let sub = sub.expect("entry").path();
        if sub.is_dir() {
            for f in std::fs::read_dir(&sub).expect("subdir") {
                files.push(std::fs::read(f.expect("file").path()).expect("readable"));
            }
        }
    }
    assert!(!files.is_empty(), "corpus is empty");
    let mut rng = Rng(42);
    for base in &files {
        for _ in 0..15 {
            run(&mutate(&mut rng, base), &relay);
        }
    }
}

#[test]
fn oversized_message_is_refused_unread() {
    let limits = Limits {
        max_message_bytes: 1024,
    };
    let big = vec![b'a'; 2048];
    assert!(parse(&big, &limits).is_err());
}
