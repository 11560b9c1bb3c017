//! The abstain rules on small made-up directories (trades of neither dev
//! set): what a bio declines, a word inside a longer word, a bare subject
//! judged by the fuller phrase, a generic head naming another kind of
//! service, a topic alone, and alternatives that need an asked thing on
//! each side.

use circle_relay::domain::Member;
use circle_relay::matching::{MatchContext, Matcher};

mod matching_support;
use matching_support::member;

fn directory() -> Vec<Member> {
    vec![
        member(
            1,
            "calligrapher@example.org",
            &["calligraphy lessons", "brush lettering"],
            "Calligraphy lessons for adults and children. I don't do corporate events.",
            &["en"],
        ),
        member(
            2,
            "violin-repair@example.org",
            &["バイオリン修理", "弓の毛替え"],
            "弦楽器工房でバイオリンの修理をしています。",
            &["ja"],
        ),
        member(
            3,
            "bar-office@example.org",
            &["会議の運営", "議事録作成"],
            "弁護士会の事務局に勤めています。",
            &["ja"],
        ),
        member(
            4,
            "motorcycle@example.org",
            &["motorcycle mechanic", "tyre fitting"],
            "Motorcycle servicing in Saitama.",
            &["en"],
        ),
        member(
            5,
            "mobile-massage@example.org",
            &["出張マッサージ", "指圧"],
            "ご自宅に伺う出張マッサージです。",
            &["ja"],
        ),
        member(
            6,
            "boat@example.org",
            &["boat mechanic", "outboard engines"],
            "Marine engines serviced at the harbour.",
            &["en"],
        ),
        member(
            7,
            "shodo@example.org",
            &["書道教室", "書道の個人レッスン"],
            "書道を教えています。団体レッスンはお受けしていません。",
            &["ja"],
        ),
        member(
            8,
            "violin-teacher@example.org",
            &["バイオリン講師"],
            "子ども向けのバイオリン教室です。",
            &["ja"],
        ),
        member(
            9,
            "potter@example.org",
            &["pottery classes", "wheel throwing"],
            "Potter with a small studio.",
            &["en"],
        ),
    ]
}

fn matcher() -> Matcher {
    Matcher::with_default_vocabulary(directory()).expect("vocabulary")
}

fn found(m: &Matcher, subject: &str, body: &str) -> (Vec<String>, Vec<String>) {
    let r = m.rank_with_near_misses(subject, body, &MatchContext::default(), 3);
    let emails = |c: &[circle_relay::matching::Candidate]| {
        c.iter().map(|c| c.email.clone()).collect::<Vec<_>>()
    };
    (emails(&r.candidates), emails(&r.near_misses))
}

#[test]
fn what_a_bio_declines_is_a_near_miss_in_either_language() {
    let m = matcher();
    let (got, near) = found(
        &m,
        "Calligraphy demonstration",
        "We are looking for a calligrapher to demonstrate at our corporate event.",
    );
    // the calligrapher declines corporate events; the 書道 teacher does not
    assert_eq!(got, vec!["shodo@example.org".to_string()]);
    assert!(
        near.contains(&"calligrapher@example.org".to_string()),
        "{near:?}"
    );
    let (got, _) = found(
        &m,
        "Calligraphy lessons",
        "Looking for calligraphy lessons for my son.",
    );
    assert_eq!(
        got.first().map(String::as_str),
        Some("calligrapher@example.org")
    );
    let (got, _) = found(
        &m,
        "書道の団体レッスン",
        "書道の団体レッスンをお願いできる方を探しています。",
    );
    assert!(!got.contains(&"shodo@example.org".to_string()), "{got:?}");
    let (got, _) = found(
        &m,
        "書道の個人レッスン",
        "書道の個人レッスンをお願いできる方を探しています。",
    );
    assert!(got.contains(&"shodo@example.org".to_string()), "{got:?}");
}

#[test]
fn a_term_inside_a_longer_word_is_not_that_term() {
    // 弁護士 (a lawyer) inside 弁護士会 (the bar association)
    let (got, _) = found(
        &matcher(),
        "弁護士を紹介してください",
        "相続の件で弁護士を探しています。",
    );
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn a_bare_subject_is_judged_by_the_fuller_phrase() {
    let m = matcher();
    let (got, _) = found(&m, "Mechanic", "Does anyone know a good boat mechanic?");
    assert_eq!(got, vec!["boat@example.org".to_string()]);
    let (got, near) = found(&m, "Mechanic", "Does anyone know a good tractor mechanic?");
    assert!(got.is_empty(), "{got:?}");
    assert!(!near.is_empty());
}

#[test]
fn a_generic_head_names_the_kind_of_service() {
    let m = matcher();
    let (got, _) = found(
        &m,
        "バイオリンの先生",
        "自宅に来ていただけるバイオリンの先生を探しています。",
    );
    assert!(
        !got.contains(&"violin-repair@example.org".to_string()),
        "{got:?}"
    );
    // 出張 (a home visit) alone is how, not who
    assert!(
        !got.contains(&"mobile-massage@example.org".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"violin-teacher@example.org".to_string()),
        "{got:?}"
    );
    let (got, _) = found(
        &m,
        "バイオリンの修理",
        "バイオリンの修理をお願いしたいです。",
    );
    assert_eq!(
        got.first().map(String::as_str),
        Some("violin-repair@example.org")
    );
}

#[test]
fn alternatives_need_an_asked_thing_on_each_side() {
    let m = matcher();
    let q = m.understand(
        "書道の先生",
        "書道の先生を探しています。東京か、郵送でお願いできる方だと助かります。",
    );
    assert!(!q.alternatives);
    let q = m.understand("", "バイオリンの先生か、ヴィオラの先生を探しています。");
    assert!(q.alternatives);
    let q = m.understand(
        "",
        "Looking for a boat mechanic; a motorcycle mechanic is also welcome.",
    );
    assert!(q.alternatives);
}

#[test]
fn evidence_names_the_members_own_skill_item() {
    // 確定申告 is curated under the licence 税理士; the member lists both
    let members = vec![member(
        1,
        "tax@example.org",
        &["税理士", "確定申告"],
        "税理士です。",
        &["ja"],
    )];
    let m = Matcher::with_default_vocabulary(members).expect("vocabulary");
    let got = m.rank(
        "確定申告",
        "確定申告をお願いできる方を探しています。",
        &MatchContext::default(),
        3,
    );
    let first = got
        .first()
        .and_then(|c| c.evidence.first())
        .expect("a candidate with evidence");
    assert_eq!(first.request, "確定申告");
    assert_eq!(first.member, "確定申告", "{:?}", got[0].evidence);
}

#[test]
fn a_former_trade_is_not_a_current_one() {
    let members = vec![
        member(
            1,
            "former-nurse@example.org",
            &["元看護師", "アロマハンドトリートメント"],
            "以前は看護師として病院に勤務していました。",
            &["ja"],
        ),
        member(2, "nurse@example.org", &["看護師", "訪問看護"], "", &["ja"]),
        member(
            3,
            "ex-paramedic@example.org",
            &["first aid training"],
            "Retired paramedic, now teaching first aid to schools.",
            &["en"],
        ),
    ];
    let m = Matcher::with_default_vocabulary(members).expect("vocabulary");
    let ranked = |subject: &str, body: &str| -> Vec<String> {
        m.rank(subject, body, &MatchContext::default(), 3)
            .into_iter()
            .map(|c| c.email)
            .collect()
    };
    assert_eq!(
        ranked("看護師さん", "看護師さんを探しています。"),
        vec!["nurse@example.org"]
    );
    assert_eq!(
        ranked(
            "Paramedic",
            "We are looking for a paramedic for our marathon."
        ),
        Vec::<String>::new()
    );
    // the former nurse is named for the admins, not forwarded to
    let r = m.rank_with_near_misses("看護師さん", "", &MatchContext::default(), 3);
    let near: Vec<&str> = r.near_misses.iter().map(|c| c.email.as_str()).collect();
    assert!(near.contains(&"former-nurse@example.org"), "{near:?}");
}

#[test]
fn a_trade_word_in_a_bio_does_not_turn_a_repairer_into_a_teacher() {
    // the skill's ピアノ only qualifies 調律; the bio's own ピアノ does not
    // make the tuner a piano teacher either
    let members = vec![member(
        1,
        "tuner@example.org",
        &["ピアノ調律"],
        "ピアノが大好きです。ご家庭のピアノを調律します。",
        &["ja"],
    )];
    let m = Matcher::with_default_vocabulary(members).expect("vocabulary");
    let r = m.rank_with_near_misses(
        "ピアノの先生",
        "ピアノの先生を探しています。",
        &MatchContext::default(),
        3,
    );
    assert!(r.candidates.is_empty(), "{:?}", r.candidates);
}

#[test]
fn an_activity_in_a_bio_is_not_the_person_who_does_it() {
    // who runs "drumming workshops" teaches drumming; a request for a
    // drummer (either language) is a near-miss for them, while a request
    // for the workshops themselves still finds them, and a drummer's own
    // "drummer" is direct evidence
    let members = vec![
        member(
            1,
            "workshops@example.org",
            &["community music leader"],
            "I lead a community band and run drumming workshops for schools.",
            &["en"],
        ),
        member(
            2,
            "player@example.org",
            &["session musician"],
            "Drummer for weddings and parties in Tokyo.",
            &["en"],
        ),
    ];
    let m = Matcher::with_default_vocabulary(members).expect("vocabulary");
    let (found_en, near_en) = found(&m, "Drummer wanted", "Looking for a drummer for our party.");
    assert_eq!(found_en, vec!["player@example.org"], "near: {near_en:?}");
    let (found_ja, _) = found(
        &m,
        "ドラマーの方",
        "パーティーで演奏してくださるドラマーの方を探しています。",
    );
    assert!(
        !found_ja.contains(&"workshops@example.org".to_string()),
        "{found_ja:?}"
    );
    let (found_w, _) = found(
        &m,
        "Drumming workshop",
        "Looking for someone to run a drumming workshop at our school.",
    );
    assert!(
        found_w.contains(&"workshops@example.org".to_string()),
        "{found_w:?}"
    );
}

#[test]
fn one_animal_trade_is_not_another() {
    // a vet, a pet sitter and a dog trainer are different trades: a request
    // for one reaches the others only as near-misses, and a topic (a home
    // visit) alone never carries a request that names a trade
    let members = vec![
        member(
            1,
            "vet@example.org",
            &["獣医師", "小動物の診療"],
            "動物病院を開業しています。",
            &["ja"],
        ),
        member(
            2,
            "sitter@example.org",
            &["pet sitter", "home visits"],
            "Pet sitter: home visits while you travel.",
            &["en"],
        ),
        member(
            3,
            "mobile-tuner@example.org",
            &["出張ピアノ調律"],
            "ご自宅に伺って調律します。",
            &["ja"],
        ),
    ];
    let m = Matcher::with_default_vocabulary(members).expect("vocabulary");
    let (got, near) = found(
        &m,
        "Vet home visit",
        "Does anyone know a vet who does home visits for a rabbit?",
    );
    assert_eq!(got, vec!["vet@example.org"], "near: {near:?}");
    assert!(near.contains(&"sitter@example.org".to_string()), "{near:?}");
    let (got, _) = found(
        &m,
        "ペットシッター",
        "旅行中に猫の世話をしてくれるペットシッターを探しています。",
    );
    assert_eq!(got, vec!["sitter@example.org"]);
}

#[test]
fn a_broad_trade_with_a_specialty_asks_for_that_specialty() {
    // coaching has narrower kinds: a coach asked for with words of their
    // own (a relative clause, "who can help with") must have them; a
    // specific trade's words only describe the task (any customs broker
    // files the papers); a coordinated ask of two known trades needs no more
    let members = vec![
        member(
            1,
            "life-coach@example.org",
            &["コーチング", "life coaching"],
            "目標設定を一緒に考えるコーチです。",
            &["ja", "en"],
        ),
        member(
            2,
            "sleep-coach@example.org",
            &["睡眠改善コーチング"],
            "睡眠の習慣を整えるコーチです。",
            &["ja"],
        ),
        member(
            3,
            "speaking-coach@example.org",
            &["public speaking coaching"],
            "I coach executives for talks and pitches.",
            &["en"],
        ),
        member(
            4,
            "broker@example.org",
            &["通関士", "輸入通関"],
            "横浜港で通関業務をしています。",
            &["ja", "en"],
        ),
        member(
            5,
            "piano@example.org",
            &["ピアノ教室"],
            "子どもから大人までのピアノ教室です。",
            &["ja"],
        ),
        member(
            6,
            "guitar@example.org",
            &["ギター教室"],
            "アコースティックギターを教えています。",
            &["ja"],
        ),
    ];
    let m = Matcher::with_default_vocabulary(members).expect("vocabulary");
    let (got, near) = found(
        &m,
        "睡眠改善を伴走してくれるコーチ",
        "睡眠の改善を一緒に進めてくれるコーチの方を探しています。",
    );
    assert_eq!(got, vec!["sleep-coach@example.org"], "near: {near:?}");
    assert!(
        near.contains(&"life-coach@example.org".to_string()),
        "{near:?}"
    );
    let (got, _) = found(
        &m,
        "Coach for public speaking",
        "Looking for a coach who can help with public speaking before my first keynote.",
    );
    assert_eq!(got, vec!["speaking-coach@example.org"]);
    let (got, _) = found(
        &m,
        "コーチ",
        "コーチングを受けたいです。どなたか紹介していただけませんか。",
    );
    assert!(
        got.contains(&"life-coach@example.org".to_string()),
        "{got:?}"
    );
    let (got, _) = found(
        &m,
        "通関士",
        "輸入の書類の手続きをお願いできる通関士の方を探しています。",
    );
    assert_eq!(got, vec!["broker@example.org"]);
    let (got, _) = found(
        &m,
        "Customs broker",
        "Looking for a customs broker who can handle the paperwork for a shipment of furniture.",
    );
    assert_eq!(got, vec!["broker@example.org"]);
    let (mut got, _) = found(
        &m,
        "ピアノとギターの先生",
        "ピアノとギターを教えてくださる先生を探しています。",
    );
    got.sort();
    assert_eq!(got, vec!["guitar@example.org", "piano@example.org"]);
}
