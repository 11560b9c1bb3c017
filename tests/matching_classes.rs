//! Classes of matching failure found on the dev sets, each shown on a small
//! made-up directory (never a dev set's sentences): the words of a trade
//! nobody curated, in either language, and honest near-misses.

use circle_relay::domain::Member;
use circle_relay::matching::{MatchContext, Matcher};

mod matching_support;
use matching_support::member;

/// The shortlist's addresses, best first.
fn shortlist(members: Vec<Member>, subject: &str, body: &str) -> Vec<String> {
    let matcher = Matcher::with_default_vocabulary(members).expect("vocabulary");
    matcher
        .rank(subject, body, &MatchContext::default(), 3)
        .into_iter()
        .map(|c| c.email)
        .collect()
}

#[test]
fn a_two_word_gloss_met_whole_covers_both_words() {
    let members = vec![
        member(
            1,
            "asr@example.org",
            &["音声認識エンジニア"],
            "コールセンター向けの音声認識システムを作っています。",
            &["ja"],
        ),
        member(
            2,
            "pa@example.org",
            &["sound engineer"],
            "Live sound for concerts.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "Speech recognition engineer",
        "We are looking for a speech recognition engineer for six months.",
    );
    assert_eq!(found, vec!["asr@example.org"]);
}

#[test]
fn a_katakana_agent_noun_meets_its_english_form() {
    let members = vec![member(
        1,
        "ux@example.org",
        &["UX researcher"],
        "I run interviews with your users.",
        &["en", "ja"],
    )];
    let found = shortlist(
        members,
        "UXリサーチャーの方",
        "UXリサーチャーの方を探しています。",
    );
    assert_eq!(found, vec!["ux@example.org"]);
}

#[test]
fn an_agent_noun_meets_its_activity() {
    let members = vec![member(
        1,
        "data@example.org",
        &["データ分析", "売上レポート"],
        "小売店のデータ分析をしています。",
        &["ja"],
    )];
    let found = shortlist(
        members,
        "Data analyst wanted",
        "We need a data analyst to look at two years of sales.",
    );
    assert_eq!(found, vec!["data@example.org"]);
}

#[test]
fn a_translator_works_in_the_pair_their_profile_names() {
    let members = vec![
        member(
            1,
            "tagalog@example.org",
            &["Tagalog-Japanese translation"],
            "Tagalog and Japanese translator, both ways.",
            &["tl", "ja", "en"],
        ),
        member(
            2,
            "eiwa@example.org",
            &["英日翻訳"],
            "英語から日本語への翻訳をしています。",
            &["ja", "en"],
        ),
    ];
    let found = shortlist(
        members,
        "Translating a leaflet into Japanese",
        "We need someone to translate our leaflet from English into Japanese.",
    );
    assert_eq!(found, vec!["eiwa@example.org"]);
}

/// "Kotlin backend developer" is another kind of developer than the one a
/// "Haskell developer" request asks for, even where Haskell is common in the
/// directory (so the head alone would weigh enough): a near-miss. Whoever
/// lists the bare trade still has it.
#[test]
fn a_kind_of_a_trade_named_in_the_directory_needs_evidence_for_the_kind_asked() {
    let mut members = vec![
        member(
            1,
            "kotlin@example.org",
            &["Kotlin backend developer"],
            "APIs.",
            &["en"],
        ),
        member(
            2,
            "haskell@example.org",
            &["Haskell developer"],
            "Compilers.",
            &["en"],
        ),
        member(
            3,
            "generalist@example.org",
            &["developer"],
            "Small tools.",
            &["en"],
        ),
    ];
    for i in 0..4 {
        members.push(member(
            10 + i,
            &format!("teacher{i}@example.org"),
            &["Haskell courses for students"],
            "University lecturer.",
            &["en"],
        ));
    }
    let matcher = Matcher::with_default_vocabulary(members).expect("vocabulary");
    let ranked = matcher.rank_with_near_misses(
        "Haskell developer",
        "We are looking for a Haskell developer.",
        &MatchContext::default(),
        3,
    );
    let found: Vec<&str> = ranked.candidates.iter().map(|c| c.email.as_str()).collect();
    assert_eq!(found.first(), Some(&"haskell@example.org"), "{found:?}");
    assert!(!found.contains(&"kotlin@example.org"), "{found:?}");
    assert!(found.contains(&"generalist@example.org"), "{found:?}");
    let near: Vec<&str> = ranked
        .near_misses
        .iter()
        .map(|c| c.email.as_str())
        .collect();
    assert!(near.contains(&"kotlin@example.org"), "{near:?}");
}

#[test]
fn where_and_when_it_is_for_is_no_need() {
    let members = vec![
        member(
            1,
            "guide@example.org",
            &["licensed tour guide"],
            "Tours of Hokkaido.",
            &["en"],
        ),
        member(
            2,
            "van@example.org",
            &["camper van servicing"],
            "I service camper vans.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "Camper van service before a guided tour",
        "Could someone check my camper van before I leave?",
    );
    assert_eq!(found, vec!["van@example.org"]);
}

#[test]
fn a_wish_that_someone_do_it_is_the_need() {
    let members = vec![member(
        1,
        "sign@example.org",
        &["看板製作", "看板の修理"],
        "木の看板を作っています。",
        &["ja"],
    )];
    let found = shortlist(
        members,
        "はじめまして",
        "店の木の看板が割れたので、直してほしいです。\nよろしくお願いします。",
    );
    assert_eq!(found, vec!["sign@example.org"]);
}

#[test]
fn a_duration_names_no_trade() {
    let members = vec![member(
        1,
        "kayak@example.org",
        &["kayak tours"],
        "Half-day and one-day tours on the lake.",
        &["en"],
    )];
    let found = shortlist(
        members,
        "手話通訳の方を探しています",
        "講演会の当日、半日ほどお願いしたいです。",
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_compound_the_lexicon_lacks_meets_its_romaji_both_ways() {
    let members = vec![
        member(
            1,
            "urushi@example.org",
            &["銀継ぎ", "漆の器"],
            "漆と銀で器を直します。",
            &["ja"],
        ),
        member(
            2,
            "glass@example.org",
            &["glass repair"],
            "I repair glass.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "Gintsugi for a cracked cup",
        "Looking for someone who does gintsugi.",
    );
    assert_eq!(found, vec!["urushi@example.org"]);
    let members = vec![member(
        1,
        "en@example.org",
        &["gintsugi"],
        "Silver joinery.",
        &["en"],
    )];
    let found = shortlist(
        members,
        "銀継ぎをお願いしたい",
        "銀継ぎをお願いできる方を探しています。",
    );
    assert_eq!(found, vec!["en@example.org"]);
}

/// 「Pythonデータ分析」 is data analysis done in Python: the Latin word
/// written into the Japanese one qualifies it, so it is not a Python
/// developer's evidence.
#[test]
fn a_latin_word_written_into_a_japanese_item_qualifies_it() {
    let mut members = vec![
        member(
            1,
            "analyst@example.org",
            &["Pythonデータ分析"],
            "小売のデータ分析。",
            &["ja"],
        ),
        member(
            2,
            "dev@example.org",
            &["Python開発", "Webアプリ開発"],
            "受託開発をしています。",
            &["ja"],
        ),
    ];
    // developers of other kinds make "developer" the common word, so
    // "Python" would weigh enough alone
    for (i, lang) in ["Java", "PHP", "Ruby"].iter().enumerate() {
        members.push(member(
            10 + i as i64,
            &format!("{}@example.org", lang.to_lowercase()),
            &[&format!("{lang}開発")],
            "業務システムの開発。",
            &["ja"],
        ));
    }
    let found = shortlist(
        members,
        "Python developer wanted",
        "We need a Python developer for a web app.",
    );
    assert_eq!(found, vec!["dev@example.org"]);
}

/// A language named elsewhere in a translator's profile is no part of the
/// pair they translate in.
#[test]
fn a_language_named_beside_a_translation_is_not_its_pair() {
    let members = vec![member(
        1,
        "es@example.org",
        &["スペイン語翻訳", "家庭教師"],
        "スペイン語の翻訳者です。英語の家庭教師もしています。",
        &["ja", "es", "en"],
    )];
    let found = shortlist(
        members,
        "スペイン語の翻訳",
        "会社案内を日本語からスペイン語に翻訳していただける方を探しています。",
    );
    assert_eq!(found, vec!["es@example.org"]);
}

#[test]
fn a_short_loanword_meets_its_english_spelling() {
    // a katakana trade word the lexicon lacks, too short for a consonant
    // skeleton of four (f-r): its vowels tell it from other words
    let members = vec![
        member(
            1,
            "hoof@example.org",
            &["装蹄と蹄の手入れ"],
            "乗馬クラブを回るファリアーです。",
            &["ja"],
        ),
        member(
            2,
            "ferry@example.org",
            &["ferry timetables"],
            "I run a small ferry service.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "Farrier for two horses",
        "Hi, we are looking for a farrier who could visit our stable in May.",
    );
    assert_eq!(found, vec!["hoof@example.org"]);
}

/// A kanji abbreviation EDICT lacks (県展, the prefectural art exhibition) is
/// read by its kanji's usual readings (けん + てん), so its romaji meets it.
#[test]
fn a_kanji_abbreviation_the_lexicon_lacks_meets_its_romaji() {
    let members = vec![
        member(
            1,
            "kenten@example.org",
            &["県展", "額装"],
            "県展に出す作品の準備をお手伝いします。",
            &["ja", "en"],
        ),
        member(
            2,
            "oil@example.org",
            &["oil painting lessons"],
            "Small classes for adults.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "Help with the kenten",
        "I would like help with the kenten this year, from someone who \
         knows the kenten well.",
    );
    assert_eq!(found, vec!["kenten@example.org"]);
}

/// And the other way: a Japanese request with the abbreviation meets a
/// member who writes it in romaji.
#[test]
fn a_kanji_abbreviation_in_a_request_meets_its_romaji_in_a_profile() {
    let members = vec![
        member(
            1,
            "gakushin@example.org",
            &["gakushin fellowship applications"],
            "I help early-career researchers with their gakushin forms.",
            &["en", "ja"],
        ),
        member(
            2,
            "visa@example.org",
            &["在留資格の申請"],
            "行政書士です。",
            &["ja"],
        ),
    ];
    let found = shortlist(
        members,
        "学振の申請",
        "来年の学振の申請書を見ていただける方を探しています。",
    );
    assert_eq!(found, vec!["gakushin@example.org"]);
}

#[test]
fn a_longer_word_around_a_curated_one_is_what_is_asked() {
    // ライター (writer) is curated; ゴーストライター around it is the trade asked,
    // and a member who writes that trade closed in English is the one
    let members = vec![
        member(
            1,
            "ghost@example.org",
            &["ghostwriting", "business books"],
            "I ghostwrite books for founders.",
            &["en", "ja"],
        ),
        member(
            2,
            "copy@example.org",
            &["copywriting"],
            "Web copy for small shops.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "本の執筆",
        "会社の歴史の本を書いてくれるゴーストライターを探しています。",
    );
    assert_eq!(found, ["ghost@example.org"]);
}

#[test]
fn a_two_letter_trade_name_is_a_word() {
    let members = vec![
        member(
            1,
            "mc@example.org",
            &["イベントMC", "ナレーション"],
            "",
            &["ja"],
        ),
        member(2, "dj@example.org", &["club DJ"], "", &["en"]),
        member(3, "it@example.org", &["IT support"], "", &["en"]),
    ];
    let found = shortlist(
        members,
        "MCを探しています",
        "町内会の夏祭りでMCをお願いできる方はいませんか。",
    );
    assert_eq!(found, ["mc@example.org"]);
}

#[test]
fn a_person_word_the_lexicon_lacks_means_its_base_and_its_art() {
    // 剥製師: the lexicon has 剥製 (stuffing, mounting) and 剥製術 (taxidermy)
    let members = vec![
        member(
            1,
            "hakusei@example.org",
            &["剥製師"],
            "鳥や小動物の剥製を作っています。",
            &["ja"],
        ),
        member(
            2,
            "frames@example.org",
            &["picture framing"],
            "Mounting and framing prints.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "Taxidermist",
        "Looking for a taxidermist to preserve a bird.",
    );
    assert_eq!(found, vec!["hakusei@example.org"]);
}

#[test]
fn a_three_word_trade_meets_a_japanese_compound_whole() {
    let members = vec![
        member(
            1,
            "shuwa@example.org",
            &["手話通訳士"],
            "講演会や病院で手話通訳をしています。",
            &["ja"],
        ),
        member(
            2,
            "langs@example.org",
            &["language teacher"],
            "English and French lessons.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "Sign language interpreter",
        "We need a sign language interpreter for a seminar in March.",
    );
    assert_eq!(found, vec!["shuwa@example.org"]);
}

#[test]
fn an_english_compound_meets_a_japanese_noun_phrase() {
    // 旅行の計画: "travel" and "plan", one phrase, as "travel planner" is
    let members = vec![
        member(
            1,
            "ryokou@example.org",
            &["旅行の計画"],
            "家族旅行の計画をお手伝いします。",
            &["ja"],
        ),
        member(
            2,
            "events@example.org",
            &["event planning"],
            "Corporate events and parties.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "Travel planner",
        "Looking for a travel planner for a family trip to Hokkaido.",
    );
    assert_eq!(found, vec!["ryokou@example.org"]);
}

#[test]
fn a_japanese_synonym_names_the_same_trade() {
    // お坊さん and 僧侶 share no character, only their meaning
    let members = vec![
        member(
            1,
            "souryo@example.org",
            &["僧侶", "写経体験"],
            "お寺の住職です。",
            &["ja"],
        ),
        member(
            2,
            "sekizai@example.org",
            &["石材店", "墓石の建立"],
            "お墓の建立をしています。",
            &["ja"],
        ),
    ];
    let found = shortlist(
        members,
        "お坊さんを探しています",
        "自宅でお経をあげていただけるお坊さんを紹介してください。",
    );
    assert_eq!(found, vec!["souryo@example.org"]);
}

#[test]
fn what_a_request_says_it_does_not_want_names_no_need() {
    let members = vec![
        member(
            1,
            "painter@example.org",
            &["外壁塗装", "house painter"],
            "住宅の外壁と屋根の塗装をしています。",
            &["ja", "en"],
        ),
        member(
            2,
            "sakan@example.org",
            &["左官", "漆喰塗り"],
            "漆喰や珪藻土の壁を塗っています。",
            &["ja"],
        ),
    ];
    let found = shortlist(
        members.clone(),
        "店の壁",
        "外壁塗装ではなく、漆喰塗りをお願いできる左官さんを探しています。",
    );
    assert_eq!(found, vec!["sakan@example.org"]);
    let found = shortlist(
        members,
        "A plasterer",
        "We are looking for a plasterer rather than a house painter.",
    );
    assert_eq!(found, vec!["sakan@example.org"]);
}

#[test]
fn a_verb_that_runs_into_the_asking_phrase_is_still_asked() {
    // 仕立て直|してくださる: the asking phrase begins in the verb's okurigana
    let members = vec![
        member(
            1,
            "wasai@example.org",
            &["和裁", "着物の仕立て直し"],
            "着物の仕立てと寸法直しをしています。",
            &["ja"],
        ),
        member(
            2,
            "kitsuke@example.org",
            &["着付け教室"],
            "着物の着付けを教えています。",
            &["ja"],
        ),
    ];
    let found = shortlist(
        members,
        "母の着物",
        "母の着物を、私の寸法に仕立て直してくださる方を探しています。",
    );
    // before, only the dresser was found: 仕立て直し was no asked word
    assert_eq!(
        found.first().map(String::as_str),
        Some("wasai@example.org"),
        "{found:?}"
    );
}

#[test]
fn a_thing_and_the_job_done_to_it_meet_a_skill_item_of_both() {
    // 屏風の修復: 屏風 only qualifies the item, but the request asks for
    // the restoring too, so the item is what is asked
    let members = vec![
        member(
            1,
            "byobu@example.org",
            &["表具師", "屏風の修復"],
            "襖や障子の張り替えもしています。",
            &["ja"],
        ),
        member(
            2,
            "dealer@example.org",
            &["antique dealer"],
            "Old folding screens bought and sold.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "Restoring a folding screen",
        "Is there anyone who can restore my grandmother's folding screen?",
    );
    assert!(
        found.contains(&"byobu@example.org".to_string()),
        "{found:?}"
    );
}

#[test]
fn a_class_of_a_thing_meets_a_request_to_teach_it() {
    // 味噌作り教室: 味噌 only qualifies 教室, and teaching is what is asked
    let members = vec![
        member(
            1,
            "miso@example.org",
            &["味噌作り教室", "発酵食品"],
            "発酵食品の講座もしています。",
            &["ja"],
        ),
        member(
            2,
            "chef@example.org",
            &["Japanese home cooking"],
            "Private chef for dinner parties.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members,
        "A miso class",
        "We would like someone to teach a miso workshop to our members.",
    );
    assert_eq!(found, vec!["miso@example.org"]);
}

#[test]
fn a_member_who_declines_a_job_is_a_near_miss_for_it() {
    // "I don't do repairs": a job word alone still says what is turned down
    let members = vec![
        member(
            1,
            "maker@example.org",
            &["bespoke shoemaker", "handmade leather shoes"],
            "Handmade shoes to measure. I don't do repairs.",
            &["en"],
        ),
        member(
            2,
            "company@example.org",
            &["shoe design"],
            "Freelance shoe designer; I'm not a company.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members.clone(),
        "Shoe repair",
        "The heel of my leather boots has come off. Who repairs leather shoes?",
    );
    assert!(
        !found.contains(&"maker@example.org".to_string()),
        "{found:?}"
    );
    let found = shortlist(
        members,
        "Handmade shoes",
        "Looking for a shoemaker for handmade shoes for a company event.",
    );
    assert_eq!(
        found.first().map(String::as_str),
        Some("maker@example.org"),
        "{found:?}"
    );
}

/// Romanised Japanese is mostly written with single long vowels (kyudo for
/// きゅうどう, as on signs), and a question that opens with "who" asks.
#[test]
fn romaji_with_single_long_vowels_meets_its_kanji() {
    let members = vec![
        member(
            1,
            "archer@example.jp",
            &["弓道", "弓道の体験教室"],
            "仙台で弓道を教えています。",
            &["ja"],
        ),
        member(
            2,
            "guide@example.net",
            &["city walking tours"],
            "I guide visitors around Sendai.",
            &["en"],
        ),
    ];
    let found = shortlist(
        members.clone(),
        "Our exchange students",
        "Our exchange students are in Sendai next month. Who could give them a taste of kyudo?",
    );
    assert_eq!(
        found.first().map(String::as_str),
        Some("archer@example.jp"),
        "{found:?}"
    );
}
