//! Why a member got a request, in words the member reads: 「ご依頼の「看護師」
//! 「救命講習」が、あなたのプロフィールのスキル「看護師」「救命講習」と一致しまし
//! た（東京）」. Written from a small structure of its own, so either the
//! matcher's structured evidence or today's stored reason strings
//! ("nurse → skills: 看護師", "training → bio", "region: 東京") can feed it.

/// Where in the member's profile a request's word was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Skill,
    Bio,
    Region,
    Language,
}

/// How the two words are related.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Same,
    Synonym,
    Translation,
    Related,
}

/// One piece of evidence: a word of the request and the member's own word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchTerm {
    pub request_term: String,
    pub member_term: String,
    pub field: Field,
    pub how: How,
}

/// Reads today's reason strings; unknown shapes are dropped, never shown.
pub fn from_strings(reasons: &[String]) -> Vec<MatchTerm> {
    reasons.iter().filter_map(|r| from_string(r)).collect()
}

fn from_string(r: &str) -> Option<MatchTerm> {
    if let Some(region) = r.strip_prefix("region: ") {
        return Some(place(Field::Region, region));
    }
    if let Some(lang) = r.strip_prefix("language: ") {
        return Some(place(Field::Language, lang));
    }
    let (left, right) = r.split_once(" → ")?;
    let (term, related) = match left.strip_suffix(" (related)") {
        Some(t) => (t.trim(), true),
        None => (left.trim(), false),
    };
    let (field, member_term) = match right.strip_prefix("skills: ") {
        Some(skill) => (Field::Skill, skill.trim()),
        None if right.trim() == "bio" => (Field::Bio, term),
        None => return None,
    };
    if term.is_empty() || member_term.is_empty() {
        return None;
    }
    let how = if related {
        How::Related
    } else if same_word(term, member_term) {
        How::Same
    } else if script_is_japanese(term) != script_is_japanese(member_term) {
        How::Translation
    } else {
        How::Synonym
    };
    Some(MatchTerm {
        request_term: term.to_string(),
        member_term: member_term.to_string(),
        field,
        how,
    })
}

fn place(field: Field, value: &str) -> MatchTerm {
    MatchTerm {
        request_term: value.trim().to_string(),
        member_term: value.trim().to_string(),
        field,
        how: How::Same,
    }
}

fn same_word(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn script_is_japanese(s: &str) -> bool {
    s.chars().any(super::reflow::is_cjk)
}

fn uniq(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.iter().any(|o| same_word(o, &i)) {
            out.push(i);
        }
    }
    out
}

/// One sentence, or `None` when there is nothing worth saying.
pub fn sentence(terms: &[MatchTerm], japanese: bool) -> Option<String> {
    let of = |f: Field| terms.iter().filter(move |t| t.field == f);
    let skills: Vec<&MatchTerm> = of(Field::Skill).collect();
    let bio: Vec<&MatchTerm> = of(Field::Bio).collect();
    let places = uniq(of(Field::Region).map(|t| t.member_term.clone()));
    let langs = uniq(of(Field::Language).map(|t| language_name(&t.member_term, japanese)));
    let mut parts = Vec::new();
    if japanese {
        parts.extend(skills_ja(&skills));
        parts.extend(bio_ja(&bio, !skills.is_empty()));
    } else {
        parts.extend(skills_en(&skills));
        parts.extend(bio_en(&bio, !skills.is_empty()));
    }
    let mut where_: Vec<String> = places;
    where_.extend(langs);
    if parts.is_empty() && where_.is_empty() {
        return None;
    }
    Some(if japanese {
        let mut s = parts.join("。また、");
        if s.is_empty() {
            s = format!("ご依頼の条件（{}）に合っています", where_.join("・"));
        } else if !where_.is_empty() {
            s.push_str(&format!("（{}）", where_.join("・")));
        }
        s.push('。');
        s
    } else {
        let mut s = parts.join("; ");
        if s.is_empty() {
            s = format!(
                "The request fits where and how you work ({})",
                where_.join(", ")
            );
        } else if !where_.is_empty() {
            s.push_str(&format!(" ({})", where_.join(", ")));
        }
        s.push('.');
        s
    })
}

fn quoted_ja(items: &[String]) -> String {
    items.iter().map(|i| format!("「{i}」")).collect()
}

fn skills_ja(skills: &[&MatchTerm]) -> Option<String> {
    if skills.is_empty() {
        return None;
    }
    let asked = uniq(skills.iter().map(|t| t.request_term.clone()));
    let own = uniq(skills.iter().map(|t| t.member_term.clone()));
    Some(format!(
        "ご依頼の{}が、あなたのプロフィールのスキル{}と一致しました",
        quoted_ja(&asked),
        quoted_ja(&own)
    ))
}

fn bio_ja(bio: &[&MatchTerm], after_skills: bool) -> Option<String> {
    if bio.is_empty() {
        return None;
    }
    let words = uniq(bio.iter().map(|t| t.request_term.clone()));
    let head = if after_skills { "" } else { "ご依頼の" };
    Some(format!(
        "{head}{}は、あなたの紹介文にも書かれています",
        quoted_ja(&words)
    ))
}

/// "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn skills_en(skills: &[&MatchTerm]) -> Option<String> {
    if skills.is_empty() {
        return None;
    }
    let asked = uniq(skills.iter().map(|t| t.request_term.clone()));
    let own = uniq(skills.iter().map(|t| match t.how {
        How::Same => t.member_term.clone(),
        _ => format!("{} ({})", t.member_term, t.request_term),
    }));
    Some(format!(
        "the request asks for {}; your profile lists {}",
        and_list(&asked),
        and_list(&own)
    ))
    .map(capitalise)
}

fn bio_en(bio: &[&MatchTerm], after_skills: bool) -> Option<String> {
    if bio.is_empty() {
        return None;
    }
    let words = uniq(bio.iter().map(|t| format!("“{}”", t.request_term)));
    let s = format!("your own description mentions {}", and_list(&words));
    Some(if after_skills { s } else { capitalise(s) })
}

fn capitalise(s: String) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

fn language_name(tag: &str, japanese: bool) -> String {
    let known = [
        ("ja", "日本語", "Japanese"),
        ("en", "英語", "English"),
        ("zh", "中国語", "Chinese"),
        ("ko", "韓国語", "Korean"),
        ("fr", "フランス語", "French"),
        ("de", "ドイツ語", "German"),
        ("es", "スペイン語", "Spanish"),
        ("vi", "ベトナム語", "Vietnamese"),
        ("pt", "ポルトガル語", "Portuguese"),
    ];
    let base = tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
    match known.iter().find(|(k, _, _)| *k == base) {
        Some((_, ja, _)) if japanese => ja.to_string(),
        Some((_, _, en)) => en.to_string(),
        None => tag.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn todays_strings_become_plain_sentences() {
        let terms = from_strings(&s(&[
            "看護師 → skills: 看護師",
            "救命講習 → skills: 救命講習",
            "region: 東京",
        ]));
        assert_eq!(
            sentence(&terms, true).unwrap(),
            "ご依頼の「看護師」「救命講習」が、あなたのプロフィールのスキル「看護師」「救命講習」と一致しました（東京）。"
        );
        let terms = from_strings(&s(&[
            "nurse → skills: 看護師",
            "first aid → skills: 救命講習",
        ]));
        assert_eq!(
            sentence(&terms, false).unwrap(),
            "The request asks for nurse and first aid; your profile lists 看護師 (nurse) and 救命講習 (first aid)."
        );
    }

    #[test]
    fn bio_language_and_unknown_shapes() {
        let terms = from_strings(&s(&[
            "training → bio",
            "certified (related) → bio",
            "language: en",
            "volunteered from the digest",
        ]));
        assert_eq!(terms.len(), 3);
        let en = sentence(&terms, false).unwrap();
        assert_eq!(
            en,
            "Your own description mentions “training” and “certified” (English)."
        );
        let ja = sentence(&terms, true).unwrap();
        assert!(ja.contains("紹介文") && ja.contains("（英語）"), "{ja}");
        for text in [en, ja] {
            for internal in ["skills:", "→", "bio", "region:"] {
                assert!(!text.contains(internal), "{text}");
            }
        }
        assert_eq!(sentence(&[], true), None);
    }
}
