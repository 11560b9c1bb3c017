//! Behaviour of the matcher on small hand-made directories: cross-lingual
//! matching, exclusions, fairness, abstaining, reasons, the `--json` shape.

use std::collections::HashMap;

use circle_relay::domain::{EmailAddress, Member, MemberStatus};
use circle_relay::matching::{MatchContext, Matcher};

mod matching_support;

/// [`matching_support::member`] in `region`.
fn member(
    id: i64,
    email: &str,
    skills: &[&str],
    bio: &str,
    langs: &[&str],
    region: &str,
) -> Member {
    Member {
        region: region.to_string(),
        ..matching_support::member(id, email, skills, bio, langs)
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
            .any(|r| r.contains("tax accountant") && r.contains("their skill \"税理士\"")),
        "{:?}",
        first.reasons
    );
    assert!(first.score > 0.0 && first.score <= 1.0);
}

// ---- open vocabulary: trades the curated vocabulary does not list --------

/// A circle of trades data/skills.toml does not know (made up for these tests).
fn makers() -> Vec<Member> {
    vec![
        member(
            1,
            "tuner@example.org",
            &["piano tuning and repair"],
            "Upright and grand pianos.",
            &["en"],
            "Tokyo",
        ),
        member(
            2,
            "niwa@example.org",
            &["庭師", "剪定"],
            "",
            &["ja"],
            "東京",
        ),
        member(
            3,
            "potter@example.org",
            &["potter", "wheel-throwing classes"],
            "Stoneware for restaurants.",
            &["en"],
            "Kyoto",
        ),
        member(
            4,
            "aroma@example.org",
            &["アロマセラピスト"],
            "",
            &["ja"],
            "大阪",
        ),
        member(
            5,
            "clocks@example.org",
            &["antique clock restoration"],
            "I restore old clocks. I do not repair wristwatches.",
            &["en"],
            "Tokyo",
        ),
        member(
            6,
            "diy@example.org",
            &["日曜大工の教室"],
            "",
            &["ja"],
            "東京",
        ),
        member(
            7,
            "mgmt@example.org",
            &["経営コンサルタント"],
            "中小企業の経営コンサルタントです。",
            &["ja"],
            "東京",
        ),
        member(
            8,
            "chef@example.org",
            &["catering for parties"],
            "Former hotel chef.",
            &["en"],
            "Tokyo",
        ),
        member(
            9,
            "potter2@example.org",
            &["陶芸家"],
            "陶芸教室を主宰。グループレッスンはお受けしていません。",
            &["ja"],
            "京都",
        ),
        member(
            10,
            "hobby@example.org",
            &["ceramics hobby group"],
            "I also tune pianos on weekends.",
            &["en"],
            "Tokyo",
        ),
        member(
            11,
            "pt-ja@example.org",
            &["翻訳"],
            "ポルトガル語と日本語の翻訳をしています。",
            &["ja", "pt"],
            "浜松",
        ),
        member(
            12,
            "en-ja@example.org",
            &["翻訳"],
            "英語と日本語の翻訳をしています。",
            &["ja", "en"],
            "東京",
        ),
    ]
}

fn makers_matcher() -> Matcher {
    Matcher::with_default_vocabulary(makers()).expect("vocabulary")
}

fn found(subject: &str, body: &str) -> Vec<String> {
    emails(&makers_matcher(), subject, body, &MatchContext::default())
}

#[test]
fn skill_items_match_by_their_parts() {
    let got = found("Looking for a piano tuner", "");
    assert_eq!(
        got.first().map(String::as_str),
        Some("tuner@example.org"),
        "{got:?}"
    );
    assert!(!got.contains(&"mgmt@example.org".to_string()), "{got:?}");
}

#[test]
fn katakana_and_kanji_meet_english() {
    // the lexicon: 陶芸家 ↔ potter, アロマセラピスト ↔ aromatherapist
    let got = found("陶芸家の方を探しています", "");
    assert!(got.contains(&"potter@example.org".to_string()), "{got:?}");
    assert!(got.contains(&"potter2@example.org".to_string()), "{got:?}");
    let got = found(
        "Aromatherapist wanted",
        "Looking for an aromatherapist in Osaka.",
    );
    assert_eq!(got, vec!["aroma@example.org"]);
    // half-width katakana is the same word
    let got = found("ｱﾛﾏｾﾗﾋﾟｽﾄを探しています", "");
    assert_eq!(got, vec!["aroma@example.org"]);
}

#[test]
fn wider_need_cues_and_trade_stems() {
    // 「〜してもらえたら嬉しいです」 states the need; 庭 meets 庭師
    let got = found("ご相談", "庭の手入れをしてもらえたら嬉しいです。");
    assert_eq!(
        got.first().map(String::as_str),
        Some("niwa@example.org"),
        "{got:?}"
    );
}

#[test]
fn background_words_do_not_become_the_need() {
    // nobody fixes locks here: "for our hotel party" is context, not the need
    assert!(
        found(
            "Locksmith needed",
            "We need a locksmith for our hotel party."
        )
        .is_empty()
    );
}

#[test]
fn bio_skills_count_and_negated_ones_do_not() {
    let got = found("Piano tuner?", "Does anyone know a piano tuner in Tokyo?");
    assert!(got.contains(&"hobby@example.org".to_string()), "{got:?}");
    assert_eq!(
        got.first().map(String::as_str),
        Some("tuner@example.org"),
        "{got:?}"
    );
    // "I do not repair wristwatches"
    assert!(
        found(
            "Wristwatch repair",
            "Looking for someone to repair my wristwatch."
        )
        .is_empty()
    );
}

#[test]
fn a_lexicon_word_is_not_found_inside_a_longer_one() {
    // 日曜大工 (DIY) is one word: it does not contain a carpenter (大工)
    assert!(found("大工さんを探しています", "").is_empty());
}

#[test]
fn generic_words_and_partial_phrases_abstain_with_near_misses() {
    // only the generic part matches: コンサルタント alone carries nothing
    assert!(found("Webコンサルタントを探しています", "").is_empty());
    assert!(found("Looking for a designer", "").is_empty());
    // a sushi chef is not a caterer who once was a hotel chef: a near-miss
    let m = makers_matcher();
    let r = m.rank_with_near_misses("Looking for a sushi chef", "", &MatchContext::default(), 3);
    assert!(r.candidates.is_empty(), "{:?}", r.candidates);
    assert_eq!(
        r.near_misses.first().map(|c| c.email.as_str()),
        Some("chef@example.org"),
        "{:?}",
        r.near_misses
    );
}

#[test]
fn language_pairs_are_hard_for_translation() {
    let got = found(
        "Translator wanted",
        "Looking for a translator from Japanese to Portuguese.",
    );
    assert_eq!(got, vec!["pt-ja@example.org"]);
    let got = found(
        "英日翻訳をお願いできる方を探しています",
        "英語から日本語への翻訳です。",
    );
    assert_eq!(got, vec!["en-ja@example.org"]);
}

#[test]
fn alternatives_spread_the_shortlist() {
    let mut dir = makers();
    dir.push(member(
        13,
        "potter3@example.org",
        &["potter"],
        "",
        &["en"],
        "Tokyo",
    ));
    let m = Matcher::with_default_vocabulary(dir).expect("vocabulary");
    let got = emails(
        &m,
        "Potter for a workshop",
        "We are looking for a potter. A gardener or a piano tuner would also be fine.",
        &MatchContext::default(),
    );
    assert_eq!(got.len(), 3, "{got:?}");
    let potters = got.iter().filter(|e| e.starts_with("potter")).count();
    assert_eq!(potters, 1, "{got:?}");
    assert!(got.contains(&"tuner@example.org".to_string()), "{got:?}");
    assert!(got.contains(&"niwa@example.org".to_string()), "{got:?}");
}

#[test]
fn evidence_says_which_words_met_and_how() {
    use circle_relay::matching::{How, Source};
    let c = makers_matcher().rank("陶芸家の方を探しています", "", &MatchContext::default(), 3);
    let potter = c
        .iter()
        .find(|c| c.email == "potter@example.org")
        .expect("the potter");
    let e = potter.evidence.first().expect("evidence");
    assert_eq!(
        (e.request.as_str(), e.member.as_str(), e.source, e.how),
        ("陶芸家", "potter", Source::Skill, How::Translation)
    );
    for r in &potter.reasons {
        assert!(
            !r.contains("skills:") && !r.contains('→') && !r.contains("bio"),
            "{r}"
        );
    }
    assert_eq!(
        potter.reasons[0],
        "\"陶芸家\" matches their skill \"potter\" (translation)"
    );
}

#[test]
fn an_admin_vocabulary_file_extends_the_built_in_one() {
    use circle_relay::matching::Vocabulary;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("extra.toml");
    std::fs::write(
        &path,
        "[[concept]]\nid = \"kintsugi\"\nkind = \"skill\"\nja = [\"金継ぎ\"]\nen = [\"gold joinery\"]\n",
    )
    .expect("write");
    let dir_members = vec![member(1, "k@example.org", &["金継ぎ"], "", &["ja"], "東京")];
    let m = Matcher::new(
        Vocabulary::with_extension(&path).expect("loads"),
        dir_members,
    );
    let got = emails(
        &m,
        "Gold joinery for a broken bowl?",
        "Looking for gold joinery.",
        &MatchContext::default(),
    );
    assert_eq!(got, vec!["k@example.org"]);

    std::fs::write(&path, "[[concept]]\nid = \"x\"\nkind = \"skil\"\n").expect("write");
    let err = Vocabulary::with_extension(&path)
        .expect_err("bad kind")
        .to_string();
    assert!(
        err.contains("extra.toml") && err.contains("line 3") && err.contains("kind"),
        "{err}"
    );
}
