//! Open-vocabulary terms: the words of a profile or a request, whether or not
//! the curated vocabulary knows them, each with the keys under which it meets
//! other words: its own stem or form, the English of a Japanese word (from
//! the EDICT lexicon), the romaji of its reading, and for a katakana loanword
//! the lexicon lacks, a consonant skeleton that meets its English spelling.
//!
//! Japanese has no spaces and no dictionary tokenizer here: a run of kanji
//! and katakana is cut into the longest lexicon words (家事代行 → 家事 代行,
//! パーソナルトレーナー → パーソナル トレーナー); a lexicon word is never cut
//! further, so 保険 is not found inside 社会保険労務士.

use super::lexicon::{self, Entry};
use super::text::{is_cjk, is_word};

/// How a key was reached from the word as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    /// The word itself (or its stem).
    Same,
    /// Its English or Japanese equivalent, or romanised form.
    Translation,
    /// The English of its first sense, under which it meets another
    /// Japanese word of that sense (お坊さん and 僧侶: priest).
    Sense,
    /// Sound-alike spelling of a katakana loanword (matches only across scripts).
    Sound,
}

/// A word or lexicon unit, with its match keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// The word as written (normalised).
    pub surface: String,
    pub keys: Vec<(String, Via)>,
    pub latin: bool,
    pub generic: bool,
    /// Char offsets in the text it came from.
    pub start: usize,
    pub end: usize,
    /// Terms that form one noun phrase share a phrase number.
    pub phrase: u32,
    /// A lone kanji that is the stem of an inflected word (直 of 直して,
    /// 録 of 録って), not a noun of its own (庭 of 庭の).
    pub fragment: bool,
}

/// Words that say little about who is wanted: they may add to a match, never
/// carry one (the "consultant, designer, 講師, コンサルタント").
const GENERIC_EN: &[&str] = &[
    "consultant",
    "consulting",
    "consultancy",
    "advisor",
    "adviser",
    "advice",
    "designer",
    "design",
    "expert",
    "specialist",
    "professional",
    "service",
    "support",
    "lesson",
    "class",
    "course",
    "instructor",
    "lecturer",
    "teacher",
    "trainer",
    "training",
    "staff",
    "business",
    "company",
    "work",
    "job",
    "person",
    "people",
    "help",
    "project",
    "freelance",
    "freelancer",
    "studio",
    "shop",
    "office",
    "team",
    "client",
    "customer",
    "session",
    "workshop",
    "online",
    "local",
    "small",
    "new",
    // how big, how soon, how good: they describe the job, not the trade
    // ("a short harp recital": the harpist is wanted, not "short")
    "short",
    "long",
    "big",
    "large",
    "little",
    "simple",
    "quick",
    "good",
    "great",
    "nice",
    "reliable",
    "experienced",
    "affordable",
    "urgent",
    "regular",
    "personal",
    "general",
    "basic",
    "beginner",
    "maker",
    "creator",
    "artist",
    "coordinator",
    "manager",
    "agent",
    "provider",
    "practitioner",
    // "a rakugo performer", "a shamisen player": the art names the trade
    "performer",
    "player",
    "owner",
    "thing",
    "stuff",
    "member",
    "circle",
    "event",
    "plan",
    "product",
    "production",
    "custom",
    "quality",
    "care",
    "english",
    "japanese",
    // a language is the pair or the mail's language, not the trade
    // ("a Korean interpreter" for a Korean translation)
    "korean",
    "chinese",
    "mandarin",
    "cantonese",
    "french",
    "german",
    "spanish",
    "portuguese",
    "italian",
    "russian",
    "vietnamese",
    "thai",
    "indonesian",
    "tagalog",
    "arabic",
    "dutch",
    "swedish",
    "repair",
    "repairs",
    "fixing",
    "maintenance",
    "installation",
    // the job done to a thing, like "repair": the thing names the trade
    // ("someone who can replace the tatami")
    "replace",
    "replacement",
    "replacing",
    "redo",
    "fix",
    "install",
    "restoration",
    "tuition",
    "consultation",
    "making",
    "creation",
];
const GENERIC_JA: &[&str] = &[
    "コンサルタント",
    "コンサル",
    "コンサルティング",
    "講師",
    "先生",
    "サービス",
    "支援",
    "相談",
    "専門家",
    "専門",
    "教室",
    "講座",
    "レッスン",
    "アドバイザー",
    "デザイナー",
    "デザイン",
    "インストラクター",
    "プロ",
    "担当",
    "対応",
    "仕事",
    "業務",
    "店",
    "お店",
    "方",
    "人",
    "会社",
    "事業",
    "スタッフ",
    "制作",
    "作家",
    "個人",
    "出張",
    "オンライン",
    "サポート",
    "トレーナー",
    "パーソナル",
    "クリエイター",
    "プランナー",
    "指導",
    "教育",
    "研修",
    "活動",
    "経験",
    "実績",
    "当店",
    "当院",
    "弊社",
    "当社",
    "弊店",
    "自分",
    "私",
    "皆様",
    "皆さん",
    "企画",
    "運営",
    "代行",
    "販売",
    "作成",
    "ワークショップ",
    "セミナー",
    "イベント",
    "施工",
    "工事",
    "修理",
    "管理",
    "手入れ",
    "設置",
    "交換",
    "メンテナンス",
    "修繕",
    "補修",
    "お手入れ",
    // the job done to a thing (葺き替え, 張り替え): the thing names the trade
    "替え",
    "張り替え",
    "取り替え",
    "直し",
];
/// Function words and words of every request ("looking", "help", "please").
const STOP_EN: &[&str] = &[
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "but",
    "by",
    "can",
    "do",
    "does",
    "for",
    "from",
    "has",
    "have",
    "hi",
    "hello",
    "dear",
    "i",
    "in",
    "is",
    "it",
    "its",
    "me",
    "my",
    "of",
    "on",
    "or",
    "our",
    "so",
    "that",
    "the",
    "their",
    "them",
    "they",
    "this",
    "to",
    "us",
    "we",
    "who",
    "will",
    "with",
    "would",
    "you",
    "your",
    "anyone",
    "someone",
    "somebody",
    "thanks",
    "thank",
    "please",
    "looking",
    "look",
    "need",
    "needs",
    "needed",
    "know",
    "any",
    "also",
    "all",
    "more",
    "about",
    "into",
    "not",
    "just",
    "one",
    "there",
    "here",
    "what",
    "which",
    "if",
    "than",
    "then",
    "too",
    "very",
    "want",
    "wants",
    "like",
    "some",
    "regards",
    "best",
    "cheers",
    "everyone",
    "could",
    "should",
    "might",
    "may",
    "must",
    "shall",
    "was",
    "were",
    "been",
    "being",
    "am",
    "great",
    "good",
    "nice",
    "happy",
    "glad",
    "welcome",
    "fine",
    "ok",
    "okay",
    "possible",
    "ideally",
    "preferably",
    "soon",
    "next",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "day",
    "days",
    "time",
    "times",
    "budget",
    "price",
    "cost",
    "question",
    "request",
    "introduce",
    "introduction",
    "recommend",
    "recommendation",
    "contact",
    "email",
    "mail",
    "reply",
    "kind",
    "sort",
    "type",
    "something",
    "anything",
    "how",
    "when",
    "where",
    "why",
    "get",
    "got",
    "make",
    "find",
    "found",
    "let",
    "lets",
    "really",
    "maybe",
    "perhaps",
    "much",
    "many",
    "each",
    "every",
    "other",
    "another",
    "such",
    "only",
    "even",
    "still",
    "already",
    "again",
    "well",
    "up",
    "out",
    "over",
    "after",
    "before",
    "between",
    "through",
    "during",
    "without",
    "within",
    "via",
    "per",
    "i'm",
    "we're",
    "i'd",
    "we'd",
    "it's",
    "don't",
    "doesn't",
    "isn't",
    "can't",
    "won't",
    "these",
    "those",
    "both",
    "either",
    "neither",
    "nor",
    "own",
    "same",
    "able",
    "sure",
    "around",
    "near",
    "while",
    "his",
    "her",
    "he",
    "she",
    "him",
    "hers",
    "ours",
    "yours",
    "mine",
    "whom",
    "whose",
    "had",
    "did",
    "done",
    "doing",
    "going",
    "go",
    "come",
    "coming",
    "use",
    "using",
    "based",
    "etc",
    "years'",
    "experience",
    "experienced",
    "since",
    "currently",
    "mainly",
    "mostly",
    "especially",
    "including",
    "include",
    "includes",
    "offer",
    "offers",
    "provide",
    "provides",
    "available",
    // light verbs and adverbs of how a request is put ("take them apart",
    // "tell us roughly"): the thing they act on is the trade
    "take",
    "took",
    "taken",
    "give",
    "gave",
    "given",
    "put",
    "bring",
    "brought",
    "ask",
    "asked",
    "try",
    "tried",
    "send",
    "sent",
    "say",
    "said",
    "think",
    "hope",
    "wonder",
    "seem",
    "seems",
    "happen",
    "exactly",
    "roughly",
    "properly",
    "quite",
    "rather",
    "apart",
    "whether",
    "though",
    "although",
    // how many: no trade ("six dining chairs")
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "dozen",
    "dozens",
    "couple",
    "few",
    "several",
];
/// Japanese words of asking and greeting, never a trade.
const STOP_JA: &[&str] = &[
    "願い",
    "紹介",
    "探し",
    "募集",
    "依頼",
    "希望",
    "今回",
    "以前",
    "予定",
    "来月",
    "今月",
    "先日",
    "宜しく",
    "幸い",
    "可能",
    "場合",
    "件",
    "方々",
    "皆",
    "様",
    "御座",
    "大丈夫",
    "構い",
    "歓迎",
    "助かり",
    "嬉しい",
    "感謝",
    "連絡",
    "返信",
    "質問",
    "今年",
    "来年",
    "今度",
    "最近",
    "一緒",
    "必要",
    "問題",
    "予算",
    "程度",
    "以上",
    "以下",
    "前後",
    "内容",
    "詳細",
    "日程",
    "時間",
    "毎月",
    "週末",
    "平日",
    "土日",
    "世話",
    "初め",
    "以外",
    "気軽",
    "午前",
    // how long and when: no trade (「半日で2名」「当日」)
    // how far: no trade (「近くの納骨堂」「遠方の実家」)
    "近く",
    "近所",
    "遠方",
    "付近",
    "半日",
    "一日",
    "終日",
    "当日",
    "毎日",
    "毎週",
    "翌日",
    "数日",
    "午後",
    "頃",
    "年",
    "月",
    "日",
    "時",
    "分",
    "円",
    "万",
    "名",
];

/// Light, aggressive English stemming so a trade's forms meet: copywriter ≡
/// copywriting, photographer ≡ photography, translator ≡ translation.
pub fn stem(word: &str) -> String {
    let word = american(word.trim_end_matches("'s"));
    let word: &str = &word;
    if let Some(root) = analysis_root(word).or_else(|| latin_root(word)) {
        return root;
    }
    let mut w = f_to_v(word);
    for _ in 0..2 {
        let before = w.clone();
        strip_suffix(&mut w);
        if w == before {
            break;
        }
    }
    if w.len() < word.len() {
        undouble(&mut w);
    }
    // chefs → chef → chev, as chef itself
    f_to_v(&w)
}

/// analyst, analysis, analyse, analyze, analytics: one stem (the Greek
/// -lysis family's forms differ before any suffix the stemmer knows).
fn analysis_root(word: &str) -> Option<String> {
    const ENDS: &[&str] = &[
        "lysis", "lyses", "lysts", "lyst", "lysed", "lyses", "lyser", "lysing", "lyse", "lyzed",
        "lyzer", "lyzing", "lyze", "lytics", "lytical", "lytic",
    ];
    ENDS.iter().find_map(|end| {
        let base = word.strip_suffix(end)?;
        (base.len() >= 2).then(|| format!("{base}ly"))
    })
}

/// The British words of their own (defence, mould, programme) and their
/// plurals, written the American way.
fn american_word(word: &str) -> Option<String> {
    const WORDS: &[(&str, &str)] = &[
        ("defence", "defense"),
        ("licence", "license"),
        ("offence", "offense"),
        ("mould", "mold"),
        ("grey", "gray"),
        ("tyre", "tire"),
        ("programme", "program"),
        ("jewellery", "jewelry"),
        ("aluminium", "aluminum"),
        ("plough", "plow"),
        ("practise", "practice"),
    ];
    WORDS.iter().find_map(|(british, american)| {
        let rest = word.strip_prefix(british)?;
        (rest.is_empty() || rest == "s").then(|| format!("{american}{rest}"))
    })
}

/// British spellings written the American way, so that "self-defence"
/// meets the lexicon's "self-defense" and "colour" meets "color": -our,
/// -ise, -tre, -ogue and a few words of their own. Both sides of a match
/// pass through it, so a word it changes needlessly (detour) still meets
/// itself.
fn american(word: &str) -> std::borrow::Cow<'_, str> {
    if let Some(w) = american_word(word) {
        return w.into();
    }
    let n = word.len();
    const ISE: &[&str] = &[
        "isation", "isations", "ise", "ised", "ises", "ising", "iser", "isers",
    ];
    const TRE: &[(&str, &str)] = &[
        ("tre", "ter"),
        ("tres", "ters"),
        ("ogue", "og"),
        ("ogues", "ogs"),
    ];
    // most words have none of these spellings: no copy
    let british = word.get(3..).is_some_and(|t| t.contains("our"))
        || ISE
            .iter()
            .chain(TRE.iter().map(|(b, _)| b))
            .any(|e| word.ends_with(e));
    if !word.is_ascii() || n < 5 || !british {
        return word.into();
    }
    let mut w = word.to_string();
    // colour, labourer, neighbourhood (four, hour, flour keep theirs)
    if let Some(i) = w.find("our").filter(|&i| i >= 3) {
        w.replace_range(i..i + 3, "or");
    }
    // organise, organisation, specialised
    for end in ISE {
        if w.len() >= end.len() + 3 && w.ends_with(end) {
            let at = w.len() - end.len();
            w.replace_range(at..at + 2, "iz");
            break;
        }
    }
    // centre, theatres; catalogue, dialogues
    for (british, american) in TRE {
        if w.len() >= british.len() + 2 && w.ends_with(british) {
            w.truncate(w.len() - british.len());
            w.push_str(american);
            break;
        }
    }
    w.into()
}

/// transcribe, transcription; produce, production: the Latin verbs whose
/// noun changes the root's end meet at the verb's root.
fn latin_root(word: &str) -> Option<String> {
    const FAMILIES: &[(&str, &[&str])] = &[
        (
            "scrib",
            &[
                "scriptions",
                "scription",
                "scribers",
                "scriber",
                "scribing",
                "scribed",
                "scribes",
                "scribe",
            ],
        ),
        (
            "duc",
            &[
                "ductions", "duction", "ducers", "ducer", "ducing", "duced", "duces", "duce",
            ],
        ),
    ];
    FAMILIES.iter().find_map(|(root, ends)| {
        ends.iter().find_map(|end| {
            let base = word.strip_suffix(end)?;
            (base.len() >= 2).then(|| format!("{base}{root}"))
        })
    })
}

/// planner, planning → plan; programmer → program: a consonant doubled
/// before a suffix is written once.
fn undouble(w: &mut String) {
    let b = w.as_bytes();
    let n = b.len();
    if n >= 4 && b[n - 1] == b[n - 2] && b"bdgmnprt".contains(&b[n - 1]) {
        w.pop();
    }
}

/// knife/knives, shelf/shelves, loaf/loaves meet at one stem: a final
/// f or fe is written v (life and safe keep theirs: live and save differ).
fn f_to_v(word: &str) -> String {
    if ["life", "safe"].contains(&word) || word.ends_with("ff") || word.len() < 4 {
        return word.to_string();
    }
    if let Some(base) = word.strip_suffix("fe") {
        format!("{base}ve")
    } else if let Some(base) = word.strip_suffix('f') {
        format!("{base}v")
    } else {
        word.to_string()
    }
}

fn strip_suffix(w: &mut String) {
    const SUFFIXES: &[&str] = &[
        "ations", "ation", "itions", "ition", "ions", "ion", "ings", "ing", "ists", "ist", "isms",
        "ism", "ians", "ian", "ers", "er", "ors", "or", "ery", "ries", "ry", "ies", "ied", "ics",
        "ic", "ments", "ment", "ants", "ant", "ents", "ent", "als", "al", "ies", "es", "ed", "s",
        "y", "e",
    ];
    let n = w.chars().count();
    for suf in SUFFIXES {
        let min = 3;
        // care, hire, cure, store keep their e (care is not car); a longer
        // word drops it to meet its derivations (restore, restoration;
        // acupuncture, acupuncturist)
        if *suf == "e" && n <= 5 && ["are", "ire", "ure", "ore"].iter().any(|x| w.ends_with(x)) {
            continue;
        }
        if w.ends_with(suf) && n >= suf.len() + min && w.is_char_boundary(w.len() - suf.len()) {
            w.truncate(w.len() - suf.len());
            if w.ends_with("at") && w.len() > 5 {
                w.truncate(w.len() - 2); // translat(or|ion) → transl
            }
            return;
        }
    }
}

pub(super) fn is_katakana(c: char) -> bool {
    ('\u{30A1}'..='\u{30FA}').contains(&c) || c == 'ー'
}

pub(super) fn is_hiragana(c: char) -> bool {
    ('\u{3041}'..='\u{309F}').contains(&c)
}

fn is_kanji(c: char) -> bool {
    is_cjk(c) && !is_katakana(c) && !is_hiragana(c) && c != '・'
}

/// The terms of already-normalised text, with phrase numbers starting at
/// `phrase` (returns the next free number too).
pub fn terms(text: &str, phrase: u32) -> (Vec<Term>, u32) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut phrase = phrase;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_word(c) {
            let start = i;
            while i < chars.len() && (is_word(chars[i]) || chars[i] == '\'') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match latin_term(&word, start, i, phrase) {
                Some(mut t) => {
                    compound_key(out.last(), &mut t);
                    out.push(t);
                }
                None => phrase += 1,
            }
            // only spaces and hyphens keep a noun phrase together, and a
            // Japanese word written straight after (1on1研修, Excel講座)
            let runs_on = |c: char| matches!(c, ' ' | '-') || is_kanji(c) || is_katakana(c);
            if i < chars.len() && !runs_on(chars[i]) {
                phrase += 1;
            }
        } else if is_kanji(c) || is_katakana(c) {
            let runs_on;
            (i, runs_on) = japanese_run(&chars, i, phrase, &mut out);
            // AのB is one phrase whose head is B
            if !runs_on && chars.get(i) != Some(&'の') {
                phrase += 1;
            }
        } else if let Some(end) = hiragana_word(&chars, i) {
            let entry = lexicon::lookup(&chars[i..end].iter().collect::<String>());
            push_japanese(&chars, i, end, entry, phrase, &mut out);
            i = end;
            if chars.get(i) != Some(&'の') {
                phrase += 1;
            }
        } else {
            if c != ' ' && c != 'の' {
                phrase += 1;
            }
            i += 1;
        }
    }
    (out, phrase + 1)
}

/// The terms of a run of kanji and katakana from `start`: where reading
/// goes on, and whether the run's last word runs on into the next noun
/// through its okurigana (茅葺き屋根, 生け花教室: one phrase, as if written
/// in kanji).
fn japanese_run(chars: &[char], start: usize, phrase: u32, out: &mut Vec<Term>) -> (usize, bool) {
    let mut i = start;
    while i < chars.len() && (is_kanji(chars[i]) || is_katakana(chars[i])) {
        i += 1;
    }
    let first = out.len();
    japanese_terms(chars, start, i, phrase, out);
    for k in first.max(1)..out.len() {
        let (before, after) = out.split_at_mut(k);
        japanese_compound_key(before.last(), &mut after[0]);
    }
    if let Some(end) = out.last().map(|t| t.end).filter(|&e| e > i) {
        let runs_on = chars
            .get(end)
            .is_some_and(|&c| is_kanji(c) || is_katakana(c));
        return (end, runs_on);
    }
    (i, false)
}

/// Particles that end or start a word written in hiragana.
const HIRAGANA_BOUNDS: &[char] = &[
    'を', 'が', 'に', 'で', 'と', 'は', 'も', 'の', 'や', 'へ', 'か',
];

/// A noun written in hiragana (そろばん, おもちゃ) that starts at `i`: the
/// longest lexicon word of three or more kana, standing between word
/// boundaries (a particle, another script, punctuation), so that the kana
/// of verbs and endings are never read as nouns.
fn hiragana_word(chars: &[char], i: usize) -> Option<usize> {
    let starts = i == 0 || !is_hiragana(chars[i - 1]) || HIRAGANA_BOUNDS.contains(&chars[i - 1]);
    if !starts || !is_hiragana(chars[i]) || HIRAGANA_BOUNDS.contains(&chars[i]) {
        return None;
    }
    let run = chars[i..].iter().take_while(|&&c| is_hiragana(c)).count();
    (3..=run.min(8)).rev().map(|n| i + n).find(|&end| {
        let ends =
            end == chars.len() || !is_hiragana(chars[end]) || HIRAGANA_BOUNDS.contains(&chars[end]);
        let word: String = chars[i..end].iter().collect();
        ends && !STOP_HIRAGANA.contains(&word.as_str()) && lexicon::lookup(&word).is_some()
    })
}

/// Nouns in kana that are the grammar of every sentence (「お忙しいところ」).
const STOP_HIRAGANA: &[&str] = &[
    "ところ",
    "とおり",
    "つもり",
    "くらい",
    "ぐらい",
    "あたり",
    "おかげ",
    "あいだ",
    "まわり",
    "ばかり",
    "いろいろ",
    "みなさま",
    "みなさん",
    "よろしく",
    "ありがとう",
    "こちら",
    "そちら",
    "あちら",
    "どちら",
    "いつも",
    "ほんとう",
    "たくさん",
    "すこし",
    "ちょっと",
    "なるべく",
    // and the adverbs the lexicon also files as nouns
    "きちんと",
    "しっかり",
    "そのまま",
    "どちらか",
    "ゆっくり",
    "はっきり",
    "すっきり",
    "のんびり",
    "ぴったり",
    "たっぷり",
    "すべて",
    "みんな",
    "なにか",
    "だれか",
    "どなたか",
    "いつか",
    "どこか",
    "なかなか",
    "だいたい",
    "ほとんど",
    "もちろん",
    "さっそく",
    "そろそろ",
    "ときどき",
    "いっしょ",
];

/// 旅行の計画, 結婚式の写真: two Japanese words of one phrase also meet the
/// English compounds of their glosses ("travel plan", "wedding photo"), on
/// the head, as an English phrase's pair does: the modifier's first three
/// one-word glosses with the head's first two.
fn japanese_compound_key(prev: Option<&Term>, t: &mut Term) {
    let Some(p) = prev.filter(|p| !p.latin && !t.latin && p.phrase == t.phrase) else {
        return;
    };
    let glosses = |t: &Term, n: usize| -> Vec<String> {
        t.keys
            .iter()
            .filter(|(k, v)| *v == Via::Translation && k.starts_with("w:") && !k.contains(' '))
            .take(n)
            .map(|(k, _)| k[2..].to_string())
            .collect()
    };
    let heads = glosses(t, 2);
    for a in glosses(p, 3) {
        for b in &heads {
            let key = format!("w:{a} {b}");
            if !t.keys.iter().any(|(k, _)| *k == key) {
                t.keys.push((key, Via::Translation));
            }
        }
    }
}

/// "eye doctor" also meets a gloss as a whole: the pair's key goes on the head.
fn compound_key(prev: Option<&Term>, t: &mut Term) {
    let Some(p) = prev.filter(|p| p.latin && p.phrase == t.phrase) else {
        return;
    };
    let (Some((a, _)), Some((b, _))) = (p.keys.first(), t.keys.first()) else {
        return;
    };
    if let (Some(a), Some(b)) = (a.strip_prefix("w:"), b.strip_prefix("w:")) {
        t.keys.push((format!("w:{a} {b}"), Via::Same));
    }
}

fn latin_term(word: &str, start: usize, end: usize, phrase: u32) -> Option<Term> {
    let lower = word.trim_matches('\'');
    let short = lower.chars().count() < 3;
    if short && !is_short_name(lower)
        || is_stop_en(lower)
        || lower.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let stemmed = if short {
        lower.to_string()
    } else {
        stem(lower)
    };
    let mut keys = vec![(format!("w:{stemmed}"), Via::Same)];
    if let Some(base) = closed_compound_base(lower) {
        keys.push((format!("w:{}", stem(base)), Via::Same));
    }
    if !short
        && let Some(k) =
            lexicon::skeleton(lower, true).or_else(|| lexicon::short_sound_key(lower, true))
    {
        keys.push((format!("k:{k}"), Via::Sound));
    }
    // romanised Japanese (ikebana, omotenashi) meets its kana and kanji
    if lower.len() >= 4
        && let Some(kana) = lexicon::kana_of_romaji(lower)
    {
        match lexicon::lookup(&kana) {
            Some(entry) => {
                keys.push((format!("j:{kana}"), Via::Translation));
                gloss_keys(&entry, &mut keys);
            }
            None => keys.extend(reading_tail_keys(&kana)),
        }
    }
    Some(Term {
        surface: lower.to_string(),
        generic: is_generic_en(lower, &stemmed),
        keys,
        latin: true,
        start,
        end,
        phrase,
        fragment: false,
    })
}

/// A two-letter word that can name a trade (MC, DJ, PR, 3D), not one of
/// the short words every sentence has, a unit or a romanised particle.
fn is_short_name(lower: &str) -> bool {
    const COMMON: &[&str] = &[
        "am", "an", "as", "at", "be", "by", "do", "eh", "go", "ha", "he", "hi", "ho", "if", "in",
        "is", "it", "me", "mr", "ms", "my", "no", "of", "oh", "ok", "on", "or", "so", "to", "uh",
        "um", "up", "us", "we", "ye", "yo", "re", "fw", "cc", "ps", "vs", "eg", "ie", "st", "nd",
        "rd", "th", "jr", "sr", "dr", "pm", "cm", "mm", "km", "kg", "mg", "ml", "wa", "ga", "ni",
        "de", "wo", "ne", "ka", "mo", "ya", "na", "ta", "te",
    ];
    lower.len() == 2
        && lower.chars().all(|c| c.is_ascii_alphanumeric())
        && lower.chars().any(|c| c.is_ascii_alphabetic())
        && !COMMON.contains(&lower)
}

/// The thing an English closed compound of a maker's trade is built on, as
/// if written apart ("shoemaker" as "shoe maker", "locksmith" → lock), so
/// it meets that word in either language (靴職人, 鍵屋). Only endings that
/// name the one who makes or works the thing: not "keeper" or "builder"
/// (bookkeeper, bodybuilder are not about books or bodies).
fn closed_compound_base(lower: &str) -> Option<&str> {
    const ENDINGS: &[&str] = &[
        "makers", "maker", "smiths", "smith", "binders", "binder", "blowers", "blower", "workers",
        "worker", "cutters", "cutter", "carvers", "carver",
    ];
    ENDINGS.iter().find_map(|ending| {
        let base = lower.strip_suffix(ending)?;
        (base.len() >= 3 && base.chars().all(|c| c.is_ascii_alphabetic())).then_some(base)
    })
}

/// A function word or an inflection of one ("knows", "needed", "asking"):
/// the verbs of every request name nobody's trade in any form.
fn is_stop_en(lower: &str) -> bool {
    // a short base is often a noun's start, not its verb (outing, out)
    let plural = [lower.strip_suffix('s'), lower.strip_suffix("es")];
    let verb = [
        lower.strip_suffix("ed"),
        lower.strip_suffix('d'),
        lower.strip_suffix("ing"),
    ];
    STOP_EN.contains(&lower)
        || plural
            .iter()
            .flatten()
            .any(|b| b.len() >= 3 && STOP_EN.contains(b))
        || verb
            .iter()
            .flatten()
            .any(|b| b.len() >= 4 && STOP_EN.contains(b))
}

/// A generic word, or its plural ("classes": the stems of class and
/// classes differ, the stemmer cutting the bare word twice).
fn is_generic_en(lower: &str, stemmed: &str) -> bool {
    let singular = [lower.strip_suffix("es"), lower.strip_suffix('s')];
    GENERIC_EN.contains(&lower)
        || singular.iter().flatten().any(|s| GENERIC_EN.contains(s))
        || generic_stems().contains(stemmed)
}

/// The stems of the generic words, computed once (every Latin word of every
/// profile and request is checked against them).
fn generic_stems() -> &'static std::collections::HashSet<String> {
    static STEMS: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    STEMS.get_or_init(|| GENERIC_EN.iter().map(|g| stem(g)).collect())
}

/// Cuts a run of kanji and katakana into the longest lexicon words.
fn japanese_terms(chars: &[char], start: usize, end: usize, phrase: u32, out: &mut Vec<Term>) {
    let first = out.len();
    cut_japanese(chars, start, end, phrase, out);
    if let Some(whole) = loanword_whole(chars, start, end, phrase, &out[first..]) {
        out.insert(first, whole);
    }
}

/// A short katakana word the lexicon lacks is often cut into lexicon words
/// that are only its syllables (ルシアー → ルシ アー, ファリアー → ファ リアー):
/// when a piece is a single syllable or a syllable is left over, the whole
/// run is also a word of its
/// own, with the sound key that meets its English spelling.
fn loanword_whole(
    chars: &[char],
    start: usize,
    end: usize,
    phrase: u32,
    pieces: &[Term],
) -> Option<Term> {
    let syllables = |t: &Term| {
        chars[t.start..t.end]
            .iter()
            .filter(|c| !"ァィゥェォャュョッヮー".contains(**c))
            .count()
    };
    let katakana = chars[start..end].iter().all(|&c| is_katakana(c));
    let whole: String = chars[start..end].iter().collect();
    // a kana no piece covers (the ボ of ボ シアー) is a syllable left over too
    let covered: usize = pieces.iter().map(|t| t.end - t.start).sum();
    let leftover = covered < end - start;
    let cut = pieces.len() >= 2 || leftover && end - start >= 3;
    if !katakana || !cut || !leftover && !pieces.iter().any(|t| syllables(t) <= 1) {
        return None;
    }
    if lexicon::lookup(&whole).is_some() {
        return None;
    }
    let mut out = Vec::new();
    push_japanese(chars, start, end, None, phrase, &mut out);
    out.pop()
}

fn cut_japanese(chars: &[char], start: usize, end: usize, phrase: u32, out: &mut Vec<Term>) {
    let mut i = start;
    let mut unknown_from: Option<usize> = None;
    while i < end {
        if chars[i] == '・' || chars[i] == 'ー' && unknown_from.is_none() {
            flush_unknown(chars, &mut unknown_from, i, phrase, out);
            i += 1;
            continue;
        }
        // a single kanji is a word only when it stands alone (庭の, 鍵を)
        let shortest = if end - start == 1 { i + 1 } else { i + 2 };
        let longest = (shortest..=end.min(i + 8))
            .rev()
            .find_map(|j| {
                let form: String = chars[i..j].iter().collect();
                lexicon::lookup(&form).map(|e| (j, e))
            })
            // okurigana: 生け花, 取り扱い
            .into_iter()
            .chain(okurigana_word(chars, i, end))
            .max_by_key(|(j, _)| *j);
        match longest {
            Some((j, entry)) => {
                let lone_kanji = unknown_from == Some(i.wrapping_sub(1)) && is_kanji(chars[i - 1]);
                // 靴職人, 鞄職人: the maker of a thing one kanji names
                if lone_kanji && agent_of(&chars[i - 1..j]) {
                    unknown_from = None;
                    push_japanese(chars, i - 1, j, None, phrase, out);
                    i = j;
                    continue;
                }
                flush_unknown(chars, &mut unknown_from, i, phrase, out);
                // 剥製師, 調香師: a lexicon word and an agent ending no
                // longer word takes, one person word the lexicon lacks
                if agent_ending_at(chars, j, end) {
                    push_japanese(chars, i, j + 1, None, phrase, out);
                    i = j + 1;
                    continue;
                }
                let j = loanword_end(chars, i, j, end);
                push_japanese(chars, i, j, Some(entry), phrase, out);
                if lone_kanji
                    && !entry.reading.is_empty()
                    && let Some(t) = out.last_mut().filter(|t| t.start == i)
                {
                    t.keys
                        .push((format!("q:1:{}", entry.reading), Via::Translation));
                }
                i = j;
            }
            None => {
                unknown_from.get_or_insert(i);
                i += 1;
            }
        }
    }
    flush_unknown(chars, &mut unknown_from, end, phrase, out);
}

/// A katakana word cannot end before a small kana or a long-vowel mark: リサーチャー
/// is リサーチ with the agent ending (researcher), not リサーチ and ャー. The
/// word runs on over them and keeps the lexicon word's glosses.
fn loanword_end(chars: &[char], i: usize, j: usize, end: usize) -> usize {
    const SMALL: &[char] = &[
        'ァ', 'ィ', 'ゥ', 'ェ', 'ォ', 'ャ', 'ュ', 'ョ', 'ッ', 'ヮ', 'ー',
    ];
    if !chars[i..j].iter().all(|&c| is_katakana(c)) {
        return j;
    }
    let mut k = j;
    while k < end && SMALL.contains(&chars[k]) {
        k += 1;
    }
    k
}

/// Keys for a compound the lexicon lacks, written as one unknown kanji
/// before a word it has (金継ぎ: 金 + 継ぎ, read つぎ): "q:1:つぎ". A romanised
/// word (kintsugi → きんつぎ) gives the same key for each way its kana can
/// end in such a reading after one to three kana for that kanji, so the
/// compound meets its romaji both ways.
fn reading_tail_keys(kana: &str) -> Vec<(String, Via)> {
    let chars: Vec<char> = kana.chars().collect();
    (1..=3.min(chars.len().saturating_sub(2)))
        .map(|k| {
            let tail: String = chars[k..].iter().collect();
            (format!("q:1:{tail}"), Via::Translation)
        })
        .collect()
}

/// Particles that follow a noun (not a verb's endings: 研ぎます).
const NOUN_PARTICLES: &[char] = &['の', 'を', 'が', 'は', 'や', 'も', 'へ'];

fn okurigana_word(chars: &[char], i: usize, end: usize) -> Option<(usize, Entry)> {
    if !is_kanji(chars[i]) || end > i + 1 && end < chars.len() && !is_hiragana(chars[end]) {
        return None;
    }
    let limit = chars.len().min(i + 6);
    (end + 1..=limit).rev().find_map(|j| {
        if !chars[end..j].iter().all(|&c| is_hiragana(c) || is_kanji(c)) {
            return None;
        }
        let form: String = chars[i..j].iter().collect();
        // a two-character form ending in kana is a verb's stem when more
        // kana follow (研ぎます), a noun at the end of a word (包丁研ぎ, 研ぎ直し)
        // (a particle after it ends the noun: 銀継ぎの器, 研ぎを)
        let word_ends = !chars
            .get(j)
            .is_some_and(|&c| is_hiragana(c) && !NOUN_PARTICLES.contains(&c));
        lexicon::lookup(&form)
            .filter(|_| {
                chars[j - 1] != 'の' && (!is_hiragana(chars[j - 1]) || word_ends) || j - i >= 3
            })
            .map(|e| (j, e))
    })
}

fn flush_unknown(
    chars: &[char],
    from: &mut Option<usize>,
    to: usize,
    phrase: u32,
    out: &mut Vec<Term>,
) {
    if let Some(s) = from.take()
        && to > s + 1
    {
        push_japanese(chars, s, to, None, phrase, out);
    }
}

/// A single kanji followed by okurigana (not a particle): a verb's or
/// adjective's stem, too ambiguous to name anything on its own.
fn is_stem_fragment(chars: &[char], start: usize, end: usize) -> bool {
    const PARTICLES: &[char] = &[
        'の', 'に', 'を', 'が', 'は', 'で', 'と', 'へ', 'も', 'や', 'か',
    ];
    end == start + 1
        && is_kanji(chars[start])
        && chars
            .get(end)
            .is_some_and(|&c| is_hiragana(c) && !PARTICLES.contains(&c))
}

fn push_japanese(
    chars: &[char],
    start: usize,
    end: usize,
    entry: Option<Entry>,
    phrase: u32,
    out: &mut Vec<Term>,
) {
    let form: String = chars[start..end].iter().collect();
    if STOP_JA.contains(&form.as_str()) {
        return;
    }
    let mut keys = vec![(format!("j:{form}"), Via::Same)];
    agent_keys(&chars[start..end], entry.is_none(), &mut keys);
    let katakana = chars[start..end].iter().all(|&c| is_katakana(c));
    match entry {
        Some(e) => {
            gloss_keys(&e, &mut keys);
            sense_keys(&e, &mut keys);
            let reading = if e.reading.is_empty() {
                e.form
            } else {
                e.reading
            };
            // romanised Japanese is written for native words, not loanwords
            let native = !chars[start..end].iter().all(|&c| is_katakana(c));
            if let Some(r) = lexicon::romaji(reading).filter(|r| native && r.len() >= 4) {
                // and as it is mostly written, long vowels single (kyudo, tofu)
                if let Some(plain) = lexicon::single_long_vowels(&r).filter(|p| p.len() >= 4) {
                    keys.push((format!("w:{plain}"), Via::Translation));
                }
                keys.push((format!("w:{r}"), Via::Translation));
            }
        }
        None if katakana => {
            let sound = |r: String| {
                lexicon::skeleton(&r, false).or_else(|| lexicon::short_sound_key(&r, false))
            };
            if let Some(k) = lexicon::romaji(&form).and_then(sound) {
                keys.push((format!("k:{k}"), Via::Sound));
            }
        }
        None => abbreviation_keys(&chars[start..end], &mut keys),
    }
    out.push(Term {
        fragment: is_stem_fragment(chars, start, end),
        generic: GENERIC_JA.contains(&form.as_str()),
        surface: form,
        keys,
        latin: false,
        start,
        end,
        phrase,
    });
}

/// A person word's keys from the trade it is built on (庭師: 庭).
fn agent_keys(word: &[char], unknown: bool, keys: &mut Vec<(String, Via)>) {
    let Some(base) = agent_base(word) else {
        return;
    };
    keys.push((format!("j:{base}"), Via::Same));
    // a compound the lexicon lacks means what its base means (靴職人:
    // shoe); a lexicon word keeps its own glosses (花屋 is a florist) and
    // adds a base of two or more characters (花火師, a pyrotechnician, is
    // the fireworks maker)
    let specific_base = base.chars().count() >= 2;
    if (unknown || specific_base)
        && let Some(base_entry) = lexicon::lookup(&base)
    {
        gloss_keys(&base_entry, keys);
        // and what its art means (剥製師: 剥製術, taxidermy)
        if let Some(art) = lexicon::lookup(&format!("{base}術")) {
            gloss_keys(&art, keys);
        }
    }
}

/// A run of two to four kanji the lexicon lacks is often an abbreviation
/// (科研費, 県展) read by its kanji's usual readings: its romaji keys, so
/// "kakenhi" meets it both ways.
fn abbreviation_keys(run: &[char], keys: &mut Vec<(String, Via)>) {
    if !(2..=4).contains(&run.len()) || !run.iter().all(|&c| is_kanji(c)) {
        return;
    }
    for reading in lexicon::abbreviation_readings(run) {
        if let Some(r) = lexicon::romaji(&reading).filter(|r| r.len() >= 5) {
            keys.push((format!("w:{r}"), Via::Translation));
        }
    }
}

/// Endings that make a person (or their shop) of a trade's thing.
const AGENT: &[&str] = &[
    "職人", "家", "師", "士", "屋", "者", "人", "工", "業", "医", "店",
];

/// One kanji the lexicon knows and a whole agent word after it (靴 + 職人):
/// one word, the maker of that thing.
fn agent_of(chars: &[char]) -> bool {
    let ending: String = chars[1..].iter().collect();
    AGENT.contains(&ending.as_str()) && lexicon::lookup(&chars[0].to_string()).is_some()
}

/// A one-character agent ending at `j` that starts no lexicon word of its
/// own (the 家 of 木製家具 is furniture's).
fn agent_ending_at(chars: &[char], j: usize, end: usize) -> bool {
    j < end
        && AGENT.contains(&chars[j].to_string().as_str())
        && (j + 2..=end.min(j + 8)).all(|k| {
            let form: String = chars[j..k].iter().collect();
            lexicon::lookup(&form).is_none()
        })
        && okurigana_word(chars, j, end).is_none()
}

/// The trade a person word is built on, when it is a lexicon word itself:
/// 庭師 → 庭, 鍵屋 → 鍵, 陶芸家 → 陶芸, 調律師 → 調律, 眼鏡店 → 眼鏡.
fn agent_base(chars: &[char]) -> Option<String> {
    let form: String = chars.iter().collect();
    AGENT.iter().find_map(|suffix| {
        let base = form.strip_suffix(suffix)?;
        (!base.is_empty() && lexicon::lookup(base).is_some()).then(|| base.to_string())
    })
}

/// The content words of a gloss ("art of self-defense": art, self, defense).
fn gloss_words(gloss: &str) -> Vec<&str> {
    gloss
        .split([' ', '-'])
        .filter(|w| w.len() > 1 && !STOP_EN.contains(w))
        .collect()
}

/// English keys of a lexicon entry: the content words of its short glosses.
fn gloss_keys(entry: &Entry, keys: &mut Vec<(String, Via)>) {
    // the first senses are the common ones; later ones mostly add noise
    for gloss in entry.glosses().take(3) {
        let words = gloss_words(gloss);
        // a several-word gloss is the compound ("eye specialist") and its head
        let mut chosen: Vec<String> = words.last().map(|w| stem(w)).into_iter().collect();
        if words.len() > 1 {
            chosen.push(words.iter().map(|w| stem(w)).collect::<Vec<_>>().join(" "));
            // English writes many two-word trades closed too ("ghost writer",
            // ghostwriting; "hair dresser", hairdresser)
            if let [a, b] = words[..]
                && a.len() >= 3
                && b.len() >= 3
                && gloss.split(' ').count() == 2
            {
                chosen.push(stem(&format!("{a}{b}")));
            }
            // and its word pairs, as a request's phrase is keyed ("sign
            // language interpreter": sign language, language interpreter)
            if words.len() >= 3 {
                chosen.extend(
                    words
                        .windows(2)
                        .map(|p| format!("{} {}", stem(p[0]), stem(p[1]))),
                );
            }
            if words.last().is_some_and(|w| GENERIC_EN.contains(w)) {
                chosen.remove(0);
            }
        }
        for w in chosen {
            let key = format!("w:{w}");
            if !keys.iter().any(|(k, _)| *k == key) {
                keys.push((key, Via::Translation));
            }
        }
    }
}

/// The keys of a Japanese word's first two senses, each gloss whole
/// (`s:` keys meet only each other): お坊さん ("buddhist priest", "monk")
/// meets 僧侶 ("priest", "monk"). A shared head alone is no synonym (挙式
/// and 成人式 are both a "ceremony"), nor a later sense (申請 and
/// エントリーシート are both an "application").
fn sense_keys(entry: &Entry, keys: &mut Vec<(String, Via)>) {
    for gloss in entry.glosses().take(2) {
        let words: Vec<String> = gloss_words(gloss).into_iter().map(stem).collect();
        if words.is_empty() || words.len() == 1 && GENERIC_EN.contains(&words[0].as_str()) {
            continue;
        }
        let key = format!("s:{}", words.join(" "));
        if !keys.iter().any(|(k, _)| *k == key) {
            keys.push((key, Via::Sense));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::text::normalize;

    fn surfaces(text: &str) -> Vec<String> {
        terms(&normalize(text), 0)
            .0
            .into_iter()
            .map(|t| t.surface)
            .collect()
    }

    fn shares_key(a: &str, b: &str) -> bool {
        let ta = terms(&normalize(a), 0).0;
        let tb = terms(&normalize(b), 0).0;
        ta.iter().any(|x| {
            tb.iter().any(|y| {
                x.keys.iter().any(|(k, v)| {
                    y.keys.iter().any(|(k2, v2)| {
                        k == k2 && (x.latin != y.latin || (*v != Via::Sound && *v2 != Via::Sound))
                    })
                })
            })
        })
    }

    #[test]
    fn a_makers_closed_compound_meets_the_thing_in_either_language() {
        for (a, b) in [
            ("shoemaker", "靴職人"),
            ("a hatmaker", "帽子職人"),
            ("glassblower", "ガラス職人"),
            ("gunsmith", "gun repair"),
            ("靴職人です", "handmade shoes"),
        ] {
            assert!(shares_key(a, b), "{a} / {b}");
        }
        // keeping or building is not making: the thing is not the trade
        for (a, b) in [("bookkeeper", "books"), ("bodybuilder", "body care")] {
            assert!(!shares_key(a, b), "{a} / {b}");
        }
        let surfaces = surfaces("靴職人を探しています");
        assert!(surfaces.contains(&"靴職人".to_string()), "{surfaces:?}");
    }

    #[test]
    fn short_trade_names_and_closed_compounds_of_glosses_are_kept() {
        for (a, b) in [
            ("an MC for our party", "イベントMC"),
            ("wedding DJ", "結婚式のDJ"),
            ("3D printing", "3Dプリンター"),
            ("ゴーストライターを探しています", "ghostwriting"),
        ] {
            assert!(shares_key(a, b), "{a} / {b}");
        }
        assert!(
            !shares_key("it is up to us, at 3 pm", "IT consulting up north at 5 pm"),
            "the short words of every sentence"
        );
    }

    #[test]
    fn a_lexicon_word_and_an_agent_ending_are_one_person_word() {
        // the lexicon has 剥製 (stuffing) and 剥製術 (taxidermy), not 剥製師
        assert_eq!(surfaces("剥製師です"), ["剥製師"]);
        assert!(shares_key("taxidermist", "剥製師"));
        assert!(shares_key("剥製", "剥製師"));
        // an ending that starts a longer word is that word's
        assert_eq!(surfaces("木製家具"), ["木製", "家具"]);
    }

    #[test]
    fn two_japanese_words_of_a_phrase_meet_the_english_compound() {
        let has_pair = |text: &str| {
            terms(&normalize(text), 0)
                .0
                .iter()
                .any(|t| t.keys.iter().any(|(k, _)| k == "w:travel plan"))
        };
        assert!(has_pair("旅行の計画"));
        assert!(has_pair("旅行計画"));
        // not across a phrase's end
        assert!(!has_pair("旅行が好きで、計画"));
        assert!(shares_key("travel planner", "旅行の計画"));
    }

    #[test]
    fn a_gloss_of_three_words_is_keyed_by_its_pairs_too() {
        let (terms, _) = terms(&normalize("手話通訳士"), 0);
        let keys: Vec<&str> = terms[0].keys.iter().map(|(k, _)| k.as_str()).collect();
        for key in ["w:interpret", "w:sign languag", "w:languag interpret"] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
    }

    #[test]
    fn agent_nouns_and_their_activity_share_a_stem() {
        for (a, b) in [
            ("planner", "plan"),
            ("planning", "plan"),
            ("programmer", "programming"),
            ("programmer", "program"),
            ("analyst", "analysis"),
            ("analyse", "analytics"),
            ("analyzer", "analysis"),
            ("runner", "running"),
            ("hypnotist", "hypnotism"),
            ("journalist", "journalism"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_eq!(stem("tester"), stem("testing"));
        assert_eq!(stem("tester"), stem("test"));
    }

    #[test]
    fn a_katakana_agent_ending_stays_on_its_word() {
        let found = surfaces("ＵＸリサーチャー");
        assert!(found.contains(&"リサーチャー".to_string()), "{found:?}");
        assert!(!found.iter().any(|s| s.starts_with('ャ')), "{found:?}");
        assert!(shares_key("リサーチャー", "researcher"));
    }

    #[test]
    fn a_compound_the_lexicon_lacks_meets_its_romaji() {
        // 金継ぎ and 銀継ぎ are not in the lexicon; 継ぎ (つぎ) is
        assert!(shares_key("金継ぎ", "kintsugi"));
        assert!(shares_key("銀継ぎの器", "gintsugi"));
        assert!(shares_key("kintsugi repair", "金継ぎ教室"));
        assert!(!shares_key("金継ぎ", "katsuo"));
    }

    #[test]
    fn a_latin_word_written_into_a_japanese_one_is_one_phrase() {
        let (ts, _) = terms(&normalize("Excel研修とWord講座"), 0);
        let phrase = |w: &str| ts.iter().find(|t| t.surface == w).map(|t| t.phrase);
        assert_eq!(phrase("excel"), phrase("研修"));
        assert_ne!(phrase("研修"), phrase("word"));
    }

    #[test]
    fn stems_meet_across_forms() {
        assert_eq!(stem("copywriter"), stem("copywriting"));
        assert_eq!(stem("photographer"), stem("photography"));
        assert_eq!(stem("translator"), stem("translation"));
        assert_eq!(stem("interpreter"), stem("interpreting"));
        assert_eq!(stem("baker"), stem("bakery"));
        assert_eq!(stem("caterer"), stem("catering"));
        assert_eq!(stem("knife"), stem("knives"));
        assert_eq!(stem("shelf"), stem("shelves"));
        assert_eq!(stem("chef"), stem("chefs"));
        assert_ne!(stem("life"), stem("live"));
        assert_eq!(stem("staff"), "staff");
        assert_eq!(stem("restore"), stem("restoration"));
        assert_eq!(stem("transcribing"), stem("transcription"));
        assert_eq!(stem("defence"), stem("defense"));
        assert_eq!(stem("colours"), stem("colors"));
        assert_eq!(stem("labourer"), stem("laborer"));
        assert_eq!(stem("organisation"), stem("organization"));
        assert_eq!(stem("centre"), stem("center"));
        assert_eq!(stem("catalogue"), stem("catalog"));
        assert_ne!(stem("four"), stem("for"));
        assert_ne!(stem("flour"), stem("floor"));
        assert_eq!(stem("producer"), stem("production"));
        assert_ne!(stem("producer"), stem("product"));
        assert_eq!(stem("acupuncture"), stem("acupuncturist"));
        assert_eq!(stem("manicure"), stem("manicurist"));
        assert_ne!(stem("care"), stem("car"));
        assert_ne!(stem("store"), stem("stor"));
    }

    #[test]
    fn japanese_runs_are_cut_into_lexicon_words() {
        assert_eq!(surfaces("家事代行を頼みたい"), vec!["家事", "代行"]);
        assert_eq!(
            surfaces("パーソナルトレーナー"),
            vec!["パーソナル", "トレーナー"]
        );
        assert_eq!(surfaces("ｶﾞｲﾄﾞ"), vec!["ガイド"]);
        assert_eq!(surfaces("包丁研ぎ"), vec!["包丁", "研ぎ"]);
        assert!(!surfaces("研ぎます").contains(&"研ぎ".to_string()));
        let found = terms("屋根の葺き替え", 0).0;
        assert!(found.iter().all(|t| t.surface != "替え" || t.generic));
    }

    #[test]
    fn bridges_languages() {
        assert!(shares_key("バリスタ", "barista"));
        assert!(shares_key("陶芸家", "potter"));
        assert!(shares_key("コピーライター", "copywriting"));
        assert!(shares_key("生け花", "ikebana"));
        assert!(!shares_key("左官", "house painter"));
        // a person word the lexicon knows also means its base of two or
        // more characters (花火師: pyrotechnician, and fireworks)
        assert!(shares_key("花火師", "fireworks"));
        assert!(shares_key("花火師", "pyrotechnician"));
    }

    #[test]
    fn a_short_loanword_meets_its_english_by_sound() {
        // skeletons of two consonants (f-r) are too short; the vowels tell
        assert!(shares_key("ファリアー", "farrier"));
        assert!(shares_key("ボシアー", "vothier"));
        assert!(!shares_key("ファリアー", "fury"));
        assert!(!shares_key("ファリアー", "ferry"));
    }

    #[test]
    fn a_noun_written_in_hiragana_is_a_word() {
        assert_eq!(
            surfaces("息子にそろばんを習わせたい"),
            vec!["息子", "そろばん"]
        );
        assert!(shares_key("そろばん教室", "abacus"));
        // the kana of grammar and adverbs are not
        assert!(surfaces("お忙しいところ、しっかり教えてください").is_empty());
    }

    #[test]
    fn okurigana_keeps_a_noun_phrase_together() {
        let found = terms("茅葺き屋根の修理", 0).0;
        let phrase = |w: &str| found.iter().find(|t| t.surface == w).map(|t| t.phrase);
        assert!(phrase("屋根").is_some());
        assert_eq!(phrase("茅葺き"), phrase("屋根"));
        // a verb's okurigana followed by kana still ends the phrase
        let found = terms("畳を張り替えてほしい。襖も", 0).0;
        let phrase = |w: &str| found.iter().find(|t| t.surface == w).map(|t| t.phrase);
        assert_ne!(phrase("畳"), phrase("襖"));
    }

    /// Whether two Japanese words meet under a first-sense key.
    fn same_sense(a: &str, b: &str) -> bool {
        let senses = |w: &str| -> Vec<String> {
            terms(&normalize(w), 0)
                .0
                .into_iter()
                .flat_map(|t| t.keys)
                .filter(|(_, v)| *v == Via::Sense)
                .map(|(k, _)| k)
                .collect()
        };
        let theirs = senses(b);
        senses(a).iter().any(|k| theirs.contains(k))
    }

    #[test]
    fn japanese_synonyms_meet_by_their_first_senses() {
        assert!(same_sense("お坊さん", "僧侶"));
        assert!(same_sense("骨董", "古美術"));
        assert!(same_sense("法事", "法要"));
        // a shared head is a kind, not a synonym; a later sense is a pun
        assert!(!same_sense("挙式", "成人式"));
        assert!(!same_sense("外壁", "土壁"));
        assert!(!same_sense("申請", "エントリーシート"));
    }

    #[test]
    fn the_verbs_of_asking_are_no_terms_in_any_form() {
        let words = surfaces("someone who knows them, to take them apart and tell us roughly");
        assert_eq!(words, vec!["tell"]);
        assert_eq!(
            surfaces("six dining chairs, a dozen stools"),
            vec!["dining", "chairs", "stools"]
        );
        // a noun that starts like a function word stays (outing, out)
        assert_eq!(surfaces("a river outing"), vec!["river", "outing"]);
    }

    #[test]
    fn descriptive_adjectives_never_name_the_trade() {
        let found = terms("a short harp recital for a large party; replace strings", 0).0;
        let generic = |w: &str| found.iter().find(|t| t.surface == w).map(|t| t.generic);
        assert_eq!(generic("short"), Some(true));
        assert_eq!(generic("large"), Some(true));
        assert_eq!(generic("harp"), Some(false));
        assert_eq!(generic("recital"), Some(false));
        assert_eq!(generic("replace"), Some(true));
        let found = terms("korean interpreter", 0).0;
        assert_eq!(found.first().map(|t| t.generic), Some(true));
    }
}
