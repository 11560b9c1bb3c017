mod matching_support;
use circle_relay::matching::{MatchContext, Matcher};
use matching_support::member;

fn probe(members: Vec<circle_relay::domain::Member>, subject: &str, body: &str) {
    let m = Matcher::with_default_vocabulary(members).unwrap();
    let q = m.understand(subject, body);
    let terms: Vec<String> = q
        .terms
        .iter()
        .map(|t| {
            format!(
                "{}[{}{}{}{}]{:?}",
                t.term.surface,
                if t.opens() { "O" } else { "." },
                if t.need { "n" } else { "." },
                if t.primary { "p" } else { "." },
                if t.background { "b" } else { "." },
                t.term.keys.iter().map(|k| &k.0).collect::<Vec<_>>()
            )
        })
        .collect();
    println!("== {subject} | {body}\n  terms {}", terms.join(" "));
    let r = m.rank_with_near_misses(subject, body, &MatchContext::default(), 3);
    for c in &r.candidates {
        println!("  {:.3} {} {:?}", c.score, c.email, c.reasons);
    }
    for c in &r.near_misses {
        println!("  near {:.3} {} {:?}", c.score, c.email, c.reasons);
    }
}

#[test]
fn zz() {
    let ms = || {
        vec![
            member(
                1,
                "kakei@x.jp",
                &["家系図作成", "戸籍の調査", "ルーツ調査"],
                "戸籍や古い資料をたどって家系図を作成しています。海外にお住まいの日系の方のルーツ調査も。",
                &["ja", "en"],
            ),
            member(
                2,
                "other@x.jp",
                &["ピアノ講師"],
                "ピアノ教室です。",
                &["ja"],
            ),
        ]
    };
    probe(
        ms(),
        "Tracing my Japanese family",
        "My great-grandparents came from Hiroshima in 1905. I would love to trace the family back and make a family tree from the old koseki records.",
    );
    probe(
        ms(),
        "Family tree",
        "I would like someone to make a family tree from koseki records.",
    );
}
