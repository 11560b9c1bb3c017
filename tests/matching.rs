//! Behaviour of the matcher on small hand-made directories: cross-lingual
//! matching, exclusions, fairness, abstaining, reasons, the `--json` shape.

use std::collections::HashMap;

use circle_relay::domain::{EmailAddress, Language, Member, MemberStatus};
use circle_relay::matching::{MatchContext, Matcher};

fn member(
    id: i64,
    email: &str,
    skills: &[&str],
    bio: &str,
    langs: &[&str],
    region: &str,
) -> Member {
    Member {
        id,
        email: EmailAddress::parse(email).expect("valid test address"),
        name: email.split('@').next().unwrap_or_default().to_string(),
        skills: skills.iter().map(|s| s.to_string()).collect(),
        bio: bio.to_string(),
        languages: langs
            .iter()
            .map(|l| Language::parse(l).expect("tag"))
            .collect(),
        region: region.to_string(),
        status: MemberStatus::Active,
        paused_until: None,
    }
}

fn directory() -> Vec<Member> {
    vec![
        member(
            1,
            "nurse@example.org",
            &["registered nurse", "first aid"],
            "Nurse in Tokyo.",
            &["en"],
            "Tokyo",
        ),
        member(
            2,
            "pt@example.org",
            &["理学療法士", "スポーツリハビリ"],
            "病院勤務の理学療法士です。",
            &["ja"],
            "大阪",
        ),
        member(
            3,
            "sharo@example.org",
            &["社会保険労務士", "給与計算"],
            "社労士です。",
            &["ja"],
            "東京",
        ),
        member(
            4,
            "tax@example.org",
            &["税理士", "相続税"],
            "税理士です。",
            &["ja"],
            "東京",
        ),
        member(
            5,
            "books@example.org",
            &["bookkeeping"],
            "Monthly books in English.",
            &["en"],
            "Tokyo",
        ),
        member(
            6,
            "care@example.org",
            &["介護福祉士", "介護職員研修"],
            "介護の研修講師。",
            &["ja"],
            "千葉",
        ),
        member(
            7,
            "manners@example.org",
            &["business manners trainer"],
            "Etiquette workshops.",
            &["en"],
            "online",
        ),
    ]
}

fn emails(matcher: &Matcher, subject: &str, body: &str, ctx: &MatchContext) -> Vec<String> {
    matcher
        .rank(subject, body, ctx, 3)
        .into_iter()
        .map(|c| c.email)
        .collect()
}

fn matcher() -> Matcher {
    Matcher::with_default_vocabulary(directory()).expect("vocabulary")
}

#[test]
fn japanese_request_finds_english_only_profile() {
    let found = emails(
        &matcher(),
        "看護師の方を探しています",
        "学校で救命講習をお願いしたいです。",
        &MatchContext::default(),
    );
    assert_eq!(
        found.first().map(String::as_str),
        Some("nurse@example.org"),
        "{found:?}"
    );
}

#[test]
fn english_request_finds_japanese_only_profile() {
    let m = matcher();
    let ctx = MatchContext::default();
    let found = emails(
        &m,
        "Looking for a physiotherapist",
        "For a running club talk.",
        &ctx,
    );
    assert_eq!(found.first().map(String::as_str), Some("pt@example.org"));
    let found = emails(
        &m,
        "Need a labour and social security attorney",
        "Payroll help.",
        &ctx,
    );
    assert_eq!(found.first().map(String::as_str), Some("sharo@example.org"));
    let found = emails(&m, "Anyone know a business manners trainer?", "", &ctx);
    assert_eq!(
        found.first().map(String::as_str),
        Some("manners@example.org")
    );
}

#[test]
fn full_width_and_abbreviations_match() {
    let found = emails(
        &matcher(),
        "ＰＴさんを探しています",
        "",
        &MatchContext::default(),
    );
    assert_eq!(found.first().map(String::as_str), Some("pt@example.org"));
}

#[test]
fn near_misses_rank_below_the_real_trade() {
    let m = matcher();
    let found = emails(
        &m,
        "English-speaking bookkeeper?",
        "We need someone to keep our books.",
        &MatchContext::default(),
    );
    assert_eq!(
        found.first().map(String::as_str),
        Some("books@example.org"),
        "{found:?}"
    );
    let found = emails(
        &m,
        "介護福祉士の方に研修をお願いしたい",
        "",
        &MatchContext::default(),
    );
    assert_eq!(found.first().map(String::as_str), Some("care@example.org"));
    assert!(
        !found.contains(&"nurse@example.org".to_string()),
        "{found:?}"
    );
}

#[test]
fn abstains_when_nobody_fits() {
    let m = matcher();
    let ctx = MatchContext::default();
    assert!(
        emails(
            &m,
            "通関士の方を探しています",
            "輸入通関の手続きをお願いしたいです。",
            &ctx
        )
        .is_empty()
    );
    assert!(
        emails(
            &m,
            "Scuba diving instructor?",
            "A certified instructor in Tokyo.",
            &ctx
        )
        .is_empty()
    );
    assert!(emails(&m, "こんにちは", "よろしくお願いします。", &ctx).is_empty());
}

#[test]
fn never_the_requester_paused_left_or_declined() {
    let mut dir = directory();
    dir.push(member(
        8,
        "nurse2@example.org",
        &["看護師"],
        "",
        &["ja"],
        "東京",
    ));
    dir.push(member(
        9,
        "nurse3@example.org",
        &["nurse"],
        "",
        &["en"],
        "Tokyo",
    ));
    dir.push(member(
        10,
        "nurse4@example.org",
        &["nurse"],
        "",
        &["en"],
        "Tokyo",
    ));
    dir[7].status = MemberStatus::Paused;
    dir[8].status = MemberStatus::Left;
    let m = Matcher::with_default_vocabulary(dir).expect("vocabulary");
    let ctx = MatchContext {
        exclude_emails: vec![EmailAddress::parse("NURSE@example.org").expect("address")],
        exclude_members: [10].into_iter().collect(),
        ..MatchContext::default()
    };
    assert!(emails(&m, "Looking for a nurse", "", &ctx).is_empty());
}

#[test]
fn fairness_caps_and_nudges_but_relevance_wins() {
    let dir = vec![
        member(
            1,
            "strong@example.org",
            &["看護師", "救命講習"],
            "",
            &["ja"],
            "東京",
        ),
        member(2, "weak@example.org", &["看護師"], "", &["ja"], "大阪"),
        member(
            3,
            "twin@example.org",
            &["看護師", "救命講習"],
            "",
            &["ja"],
            "東京",
        ),
    ];
    let m = Matcher::with_default_vocabulary(dir).expect("vocabulary");
    let subject = "東京で救命講習をしてくださる看護師さん";
    let busy = MatchContext {
        recent_forwards: HashMap::from([(1, 4)]),
        weekly_cap: Some(5),
        ..MatchContext::default()
    };
    let found = emails(&m, subject, "", &busy);
    // the equally good twin moves ahead of the busy member, the weak fit does not
    assert_eq!(
        found,
        vec!["twin@example.org", "strong@example.org", "weak@example.org"]
    );
    let capped = MatchContext {
        recent_forwards: HashMap::from([(1, 5)]),
        weekly_cap: Some(5),
        ..MatchContext::default()
    };
    assert!(!emails(&m, subject, "", &capped).contains(&"strong@example.org".to_string()));
}

#[test]
fn candidates_explain_themselves() {
    let found = matcher().rank(
        "Looking for a tax accountant in Tokyo",
        "inheritance tax",
        &MatchContext::default(),
        3,
    );
    let first = found.first().expect("a candidate");
    assert_eq!(first.email, "tax@example.org");
    assert!(
        first
            .reasons
            .iter()
            .any(|r| r.contains("tax accountant") && r.contains("skills: 税理士")),
        "{:?}",
        first.reasons
    );
    assert!(first.score > 0.0 && first.score <= 1.0);
}
