//! The Japanese–English noun lexicon (`data/lexicon-ja-en.tsv`, a subset of
//! EDICT by the EDRDG, CC BY-SA 4.0; see data/LEXICON-LICENSE), embedded as
//! sorted text and binary-searched in place: nothing is parsed or indexed at
//! start-up, and only the pages a lookup touches are ever read.
//!
//! Also the kana helpers the bilingual bridge needs: romaji for a reading
//! (生け花 → いけばな → ikebana) and a consonant skeleton that lets a
//! katakana loanword the lexicon lacks meet its English word
//! (バリスタ → barisuta → brst ← barista).

/// One line per Japanese form: `form\treading\tgloss|gloss`.
const LEXICON: &str = include_str!("../../data/lexicon-ja-en.tsv");

/// The usual on-readings of single kanji, `kanji\treading|reading`, sorted
/// (learnt from EDICT by the same script, `--kanji-readings`).
const KANJI_READINGS: &str = include_str!("../../data/kanji-readings.tsv");

/// A lexicon entry, borrowed from the embedded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub form: &'static str,
    /// Empty when the form is itself kana.
    pub reading: &'static str,
    glosses: &'static str,
}

impl Entry {
    pub fn glosses(&self) -> impl Iterator<Item = &'static str> {
        self.glosses.split('|').filter(|g| !g.is_empty())
    }
}

/// The line holding byte `pos` (of a line, not its newline): its start and
/// end (the end is the newline, or the end of the text).
fn line_around(pos: usize) -> (usize, usize) {
    let text = LEXICON.as_bytes();
    let start = text[..pos]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = text[pos..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| pos + i);
    (start, end)
}

/// How `form` compares with the form of the line starting at `start`, with
/// one comparison of bytes: the tab that ends a line's form sorts below
/// every character (`form` holds no tab).
fn cmp_form(form: &[u8], start: usize) -> std::cmp::Ordering {
    let text = LEXICON.as_bytes();
    let end = (start + form.len()).min(text.len());
    match form.cmp(&text[start..end]) {
        std::cmp::Ordering::Equal if text.get(end) == Some(&b'\t') => std::cmp::Ordering::Equal,
        std::cmp::Ordering::Equal => std::cmp::Ordering::Less,
        other => other,
    }
}

/// Binary search of the lines in bytes `lo..hi` (both line starts) for the
/// first whose form is not below `form`: its start, and whether it is `form`.
/// Only the pages on the search path are read, so the lexicon costs memory
/// only for the parts the circle's words touch.
fn search(form: &[u8], mut lo: usize, mut hi: usize) -> (usize, bool) {
    while lo < hi {
        let (start, end) = line_around(lo + (hi - lo) / 2);
        match cmp_form(form, start) {
            std::cmp::Ordering::Equal => return (start, true),
            std::cmp::Ordering::Less => hi = start,
            std::cmp::Ordering::Greater => lo = end + 1,
        }
    }
    (lo.min(LEXICON.len()), false)
}

/// The bytes of the lines whose form starts with `c` (one range: the lines
/// are sorted by bytes), remembered per thread: a lookup then searches its
/// own range (at most 3,300 lines, most far fewer), not all 180,000.
fn first_char_range(c: char) -> (usize, usize) {
    thread_local! {
        static RANGES: std::cell::RefCell<std::collections::HashMap<char, (usize, usize)>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    RANGES.with(|ranges| {
        *ranges.borrow_mut().entry(c).or_insert_with(|| {
            let mut buf = [0u8; 4];
            let lo = search(c.encode_utf8(&mut buf).as_bytes(), 0, LEXICON.len()).0;
            // the first form past every form starting with c
            let next = char::from_u32(c as u32 + 1).unwrap_or(char::MAX);
            let hi = search(next.encode_utf8(&mut buf).as_bytes(), lo, LEXICON.len()).0;
            (lo, hi)
        })
    })
}

/// Exact lookup of a (normalised) Japanese form.
pub fn lookup(form: &str) -> Option<Entry> {
    if form.contains('\t') {
        return None; // no form holds one (and `cmp_form` relies on it)
    }
    let (lo, hi) = first_char_range(form.chars().next()?);
    match search(form.as_bytes(), lo, hi) {
        (start, true) => parse_line(&LEXICON[start..line_around(start).1]),
        _ => None,
    }
}

fn parse_line(line: &'static str) -> Option<Entry> {
    let mut parts = line.splitn(3, '\t');
    Some(Entry {
        form: parts.next()?,
        reading: parts.next()?,
        glosses: parts.next()?,
    })
}

/// The usual readings of one kanji (at most two, the commoner first).
pub fn kanji_readings(kanji: char) -> impl Iterator<Item = &'static str> {
    kanji_table()
        .binary_search_by(|(k, _)| k.cmp(&kanji))
        .ok()
        .map(|i| kanji_table()[i].1)
        .into_iter()
        .flat_map(|r| r.split('|'))
}

/// The readings table, parsed once (1,700 short lines).
fn kanji_table() -> &'static [(char, &'static str)] {
    static TABLE: std::sync::OnceLock<Vec<(char, &'static str)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: Vec<(char, &'static str)> = KANJI_READINGS
            .lines()
            .filter_map(|l| {
                let (k, r) = l.split_once('\t')?;
                let mut cs = k.chars();
                Some((cs.next()?, r)).filter(|_| cs.next().is_none())
            })
            .collect();
        t.sort_by_key(|(k, _)| *k);
        t
    })
}

/// The readings of a kanji abbreviation the lexicon lacks (科研費 → かけんひ),
/// each kanji read by its usual readings: at most four, none when a kanji
/// has no reading.
pub fn abbreviation_readings(kanji: &[char]) -> Vec<String> {
    let mut out = vec![String::new()];
    for &k in kanji {
        let readings: Vec<&str> = kanji_readings(k).collect();
        if readings.is_empty() {
            return Vec::new();
        }
        out = out
            .iter()
            .flat_map(|pre| readings.iter().map(move |r| format!("{pre}{r}")))
            .take(4)
            .collect();
    }
    out
}

/// Katakana to hiragana, so one romaji table serves both.
fn to_hiragana(c: char) -> char {
    match c {
        '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        _ => c,
    }
}

const BASIC: &[(&str, char)] = &[
    ("a", 'あ'),
    ("i", 'い'),
    ("u", 'う'),
    ("e", 'え'),
    ("o", 'お'),
    ("ka", 'か'),
    ("ki", 'き'),
    ("ku", 'く'),
    ("ke", 'け'),
    ("ko", 'こ'),
    ("ga", 'が'),
    ("gi", 'ぎ'),
    ("gu", 'ぐ'),
    ("ge", 'げ'),
    ("go", 'ご'),
    ("sa", 'さ'),
    ("shi", 'し'),
    ("su", 'す'),
    ("se", 'せ'),
    ("so", 'そ'),
    ("za", 'ざ'),
    ("ji", 'じ'),
    ("zu", 'ず'),
    ("ze", 'ぜ'),
    ("zo", 'ぞ'),
    ("ta", 'た'),
    ("chi", 'ち'),
    ("tsu", 'つ'),
    ("te", 'て'),
    ("to", 'と'),
    ("da", 'だ'),
    ("ji", 'ぢ'),
    ("zu", 'づ'),
    ("de", 'で'),
    ("do", 'ど'),
    ("na", 'な'),
    ("ni", 'に'),
    ("nu", 'ぬ'),
    ("ne", 'ね'),
    ("no", 'の'),
    ("ha", 'は'),
    ("hi", 'ひ'),
    ("fu", 'ふ'),
    ("he", 'へ'),
    ("ho", 'ほ'),
    ("ba", 'ば'),
    ("bi", 'び'),
    ("bu", 'ぶ'),
    ("be", 'べ'),
    ("bo", 'ぼ'),
    ("pa", 'ぱ'),
    ("pi", 'ぴ'),
    ("pu", 'ぷ'),
    ("pe", 'ぺ'),
    ("po", 'ぽ'),
    ("ma", 'ま'),
    ("mi", 'み'),
    ("mu", 'む'),
    ("me", 'め'),
    ("mo", 'も'),
    ("ya", 'や'),
    ("yu", 'ゆ'),
    ("yo", 'よ'),
    ("ra", 'ら'),
    ("ri", 'り'),
    ("ru", 'る'),
    ("re", 'れ'),
    ("ro", 'ろ'),
    ("wa", 'わ'),
    ("wi", 'ゐ'),
    ("we", 'ゑ'),
    ("o", 'を'),
    ("n", 'ん'),
    ("vu", 'ゔ'),
    ("a", 'ぁ'),
    ("i", 'ぃ'),
    ("u", 'ぅ'),
    ("e", 'ぇ'),
    ("o", 'ぉ'),
];

fn basic(c: char) -> Option<&'static str> {
    BASIC.iter().find(|(_, k)| *k == c).map(|(r, _)| *r)
}

/// Hepburn-like romaji of a kana string; `None` if it holds anything else.
pub fn romaji(kana: &str) -> Option<String> {
    let chars: Vec<char> = kana.chars().map(to_hiragana).collect();
    let mut out = String::new();
    let mut double_next = false;
    for &c in &chars {
        match c {
            'っ' => double_next = true,
            'ー' => {} // a long vowel: romanised text rarely writes it
            'ゃ' | 'ゅ' | 'ょ' => {
                let v = match c {
                    'ゃ' => "a",
                    'ゅ' => "u",
                    _ => "o",
                };
                // きゃ → kya, しゃ → sha, ちゃ → cha
                if out.ends_with("shi") || out.ends_with("chi") || out.ends_with("ji") {
                    out.pop();
                } else if out.ends_with('i') {
                    out.pop();
                    out.push('y');
                }
                out.push_str(v);
            }
            // a small vowel after a kana is that syllable's vowel: ファ → fa,
            // ティ → ti (not fua, tei)
            'ぁ' | 'ぃ' | 'ぅ' | 'ぇ' | 'ぉ' if out.ends_with(['a', 'i', 'u', 'e', 'o']) => {
                out.pop();
                out.push_str(basic(c)?);
            }
            _ => {
                let r = basic(c)?;
                if std::mem::take(&mut double_next) {
                    out.push_str(&r[..1]);
                }
                out.push_str(r);
            }
        }
    }
    Some(out)
}

/// Romaji as signs and most English text write it, long vowels single
/// (kyuudou → kyudo, oosaka → osaka; ei stays, as in sensei); `None`
/// when it has none.
pub fn single_long_vowels(romaji: &str) -> Option<String> {
    let plain = romaji
        .replace("ou", "o")
        .replace("oo", "o")
        .replace("uu", "u");
    (plain != romaji).then_some(plain)
}

/// Romaji back to hiragana, for romanised Japanese in English mail
/// (`ikebana` → いけばな); `None` unless the whole word reads as kana.
pub fn kana_of_romaji(word: &str) -> Option<String> {
    if !word.is_ascii() {
        return None;
    }
    let b = word.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if i + 1 < b.len() && b[i] == b[i + 1] && !b"aeioun".contains(&b[i]) {
            out.push('っ');
            i += 1;
            continue;
        }
        let found = [3usize, 2, 1].iter().find_map(|&n| {
            let part = word.get(i..i + n)?;
            if part == "n" && b.get(i + 1).is_some_and(|c| b"aeiouy".contains(c)) {
                return None;
            }
            BASIC
                .iter()
                .find(|(r, _)| *r == part)
                .map(|(_, k)| (n, k.to_string()))
                .or_else(|| youon(part).map(|k| (n, k)))
        });
        let (n, kana) = found?;
        out.push_str(&kana);
        i += n;
    }
    Some(out)
}

fn youon(part: &str) -> Option<String> {
    let (head, small) = match part.len() {
        3 => (&part[..part.len() - 1], &part[part.len() - 1..]),
        _ => return None,
    };
    let small = match small {
        "a" => 'ゃ',
        "u" => 'ゅ',
        "o" => 'ょ',
        _ => return None,
    };
    let base = match head {
        "ky" => 'き',
        "gy" => 'ぎ',
        "sh" => 'し',
        "ch" => 'ち',
        "ny" => 'に',
        "hy" => 'ひ',
        "by" => 'び',
        "py" => 'ぴ',
        "my" => 'み',
        "ry" => 'り',
        _ => return None,
    };
    Some(format!("{base}{small}"))
}

/// The consonant skeleton shared by a loanword's romaji and its English
/// spelling: vowels, y, w and h dropped; l≡r, v≡b, th≡s, c≡k or s, z≡s,
/// doubled letters once; an English "-er"/"-or" ending is a long vowel in
/// katakana. `None` when too short to tell words apart (under four).
pub fn skeleton(latin: &str, english: bool) -> Option<String> {
    let w = sound_spelling(latin, english);
    let mut out = String::new();
    for c in w.chars() {
        let c = match sound_letter(c)? {
            Sound::Consonant(c) => c,
            Sound::Vowel(_) | Sound::Silent => continue,
        };
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    // three consonants collide too often (k:prt is many words); four rarely
    (out.len() >= 4).then_some(out)
}

/// A short loanword's key, for words whose skeleton is too short (luthier ↔
/// ルシアー, both r-s): each consonant with the first vowel written after it,
/// so two or three consonants still tell words apart. A vowel with no
/// consonant before it (the a of ルシアー, the i of "ie") is dropped. `None`
/// under four letters.
pub fn short_sound_key(latin: &str, english: bool) -> Option<String> {
    let w = sound_spelling(latin, english);
    let mut out = String::new();
    let mut open = false;
    let mut consonants = 0;
    for c in w.chars() {
        match sound_letter(c)? {
            Sound::Consonant(c) if !(out.ends_with(c) && open) => {
                out.push(c);
                consonants += 1;
                open = true;
            }
            Sound::Vowel(v) if open => {
                out.push(v);
                open = false;
            }
            _ => {}
        }
    }
    (consonants >= 2 && out.len() >= 4).then_some(out)
}

enum Sound {
    Consonant(char),
    Vowel(char),
    Silent,
}

fn sound_letter(c: char) -> Option<Sound> {
    Some(match c {
        'l' => Sound::Consonant('r'),
        'v' => Sound::Consonant('b'),
        'c' | 'q' => Sound::Consonant('k'),
        'z' | 'x' => Sound::Consonant('s'),
        'y' => Sound::Vowel('i'),
        'a' | 'e' | 'i' | 'o' | 'u' => Sound::Vowel(c),
        'w' | 'h' => Sound::Silent,
        c if c.is_ascii_lowercase() => Sound::Consonant(c),
        _ => return None,
    })
}

/// The spelling both keys are read from: English endings and digraphs
/// written as katakana hears them, romaji's own digraphs reduced.
fn sound_spelling(latin: &str, english: bool) -> String {
    let mut w = latin.to_string();
    if english {
        for (end, by) in [
            ("er", ""),
            ("or", ""),
            ("ar", "a"),
            ("tion", "shon"),
            ("sion", "shon"),
        ] {
            if w.len() > end.len() + 2 && w.ends_with(end) {
                w.truncate(w.len() - end.len());
                w.push_str(by);
                break;
            }
        }
        w = w.replace("th", "s").replace("ph", "f").replace("ck", "k");
        w = w
            .replace("ce", "se")
            .replace("ci", "si")
            .replace("cy", "sy");
        w = w.replace("ge", "je").replace("gi", "ji");
    }
    w.replace("tsu", "tu")
        .replace("chi", "ti")
        .replace("shi", "si")
        .replace("sh", "s")
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_vowels_are_written_single_as_signs_write_them() {
        use super::single_long_vowels as single;
        assert_eq!(single("kyuudou").as_deref(), Some("kyudo"));
        assert_eq!(single("oosaka").as_deref(), Some("osaka"));
        assert_eq!(single("toufu").as_deref(), Some("tofu"));
        assert_eq!(single("sensei"), None);
    }

    #[test]
    fn a_kanji_abbreviation_is_read_by_its_kanji() {
        // 県展 and 学振 are not EDICT words; their kanji's usual readings are
        assert!(lookup("県展").is_none());
        assert_eq!(abbreviation_readings(&['県', '展']), vec!["けんてん"]);
        assert!(abbreviation_readings(&['学', '振']).contains(&"がくしん".to_string()));
        // a kanji with no reading learnt gives none
        assert!(abbreviation_readings(&['県', '𠀋']).is_empty());
    }

    use super::*;

    #[test]
    fn finds_forms_and_glosses() {
        let e = lookup("陶芸家").expect("陶芸家 is in the lexicon");
        assert_eq!(e.reading, "とうげいか");
        assert!(e.glosses().any(|g| g == "potter"));
        assert!(lookup("コピーライター").is_some());
        assert!(lookup("ぜんぜんないことば").is_none());
        assert!(lookup("").is_none());
    }

    /// The range search finds what a search over every line finds.
    #[test]
    fn lookup_agrees_with_a_plain_search() {
        let all: std::collections::HashMap<&str, &'static str> = LEXICON
            .lines()
            .map(|l| (l.split('\t').next().unwrap_or(""), l))
            .collect();
        let plain = |form: &str| all.get(form).and_then(|l| parse_line(l));
        for (n, l) in LEXICON.lines().enumerate().filter(|(n, _)| n % 211 == 0) {
            let form = l.split('\t').next().unwrap_or("");
            assert_eq!(lookup(form), plain(form), "line {n}");
            for probe in [
                format!("{form}x"),
                format!("{form}の"),
                form.chars().take(1).collect(),
            ] {
                assert_eq!(lookup(&probe), plain(&probe), "{probe:?}");
            }
        }
        assert_eq!(lookup("ア\t"), None);
    }

    #[test]
    fn romaji_both_ways() {
        assert_eq!(romaji("いけばな").as_deref(), Some("ikebana"));
        assert_eq!(romaji("しゃかいほけん").as_deref(), Some("shakaihoken"));
        assert_eq!(romaji("バリスタ").as_deref(), Some("barisuta"));
        assert_eq!(romaji("きって").as_deref(), Some("kitte"));
        assert_eq!(kana_of_romaji("omotenashi").as_deref(), Some("おもてなし"));
        assert_eq!(kana_of_romaji("shakai").as_deref(), Some("しゃかい"));
        assert_eq!(kana_of_romaji("plumber"), None);
        assert_eq!(kana_of_romaji("pâtissière"), None);
    }

    #[test]
    fn loanword_skeletons_meet_english() {
        let k = |s: &str| skeleton(&romaji(s).unwrap(), false);
        assert_eq!(k("バリスタ"), skeleton("barista", true));
        assert_eq!(k("コピーライター"), skeleton("copywriter", true));
        assert_eq!(k("アロマセラピスト"), skeleton("aromatherapist", true));
        assert_ne!(k("バリスタ"), skeleton("plasterer", true));
    }
}
