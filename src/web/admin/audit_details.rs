//! The detail of an audit row in the page's language. The details are
//! recorded in English by the code that acts (`members_import`'s counts, a
//! member's own change, a directory edit's fields); the shapes it writes are
//! read back here, and any other detail is shown as it was recorded.

use std::collections::BTreeMap;

use crate::domain::MailLanguage;
use crate::web::page::PAGES;

type Texts = BTreeMap<String, String>;

pub fn words(action: &str, detail: &str, lang: MailLanguage) -> String {
    let texts = PAGES.texts(lang);
    let worded = match action {
        "member_edit" | "member_remove" => fields(detail, texts),
        "members_import" => import(detail, texts),
        "member_status" => status(detail, texts),
        "member_profile" => profile(detail, texts),
        "inbox_reprocess" => reprocess(detail, lang),
        _ => None,
    };
    worded.unwrap_or_else(|| detail.to_string())
}

fn word<'a>(texts: &'a Texts, key: &str) -> Option<&'a str> {
    texts.get(key).map(String::as_str)
}

/// "a@x.org: skills, region" with the fields named in the page's words.
fn fields(detail: &str, texts: &Texts) -> Option<String> {
    let (who, fields) = detail.rsplit_once(": ")?;
    let named: Vec<&str> = fields
        .split(", ")
        .map(|f| word(texts, &format!("dir_field_{f}")).unwrap_or(f))
        .collect();
    let sep = word(texts, "audit_list_sep")?;
    Some(format!("{who}: {}", named.join(sep)))
}

/// "3 rows: 1 added, 1 updated, 1 unchanged".
fn import(detail: &str, texts: &Texts) -> Option<String> {
    let (rows, rest) = detail.split_once(" rows: ")?;
    let mut counts = rest.split(", ").map(|p| p.split_once(' ').map(|(n, _)| n));
    let (added, updated, unchanged) = (counts.next()??, counts.next()??, counts.next()??);
    Some(
        word(texts, "audit_import")?
            .replace("{rows}", rows)
            .replace("{added}", added)
            .replace("{updated}", updated)
            .replace("{unchanged}", unchanged),
    )
}

/// "a@x.org paused until 2026-12-24", "… paused", "… resumed", "… left …".
fn status(detail: &str, texts: &Texts) -> Option<String> {
    let (_, what) = detail.split_once(' ')?;
    if let Some(date) = what.strip_prefix("paused until ") {
        return Some(word(texts, "audit_paused_until")?.replace("{date}", date));
    }
    let key = match what {
        "paused" => "audit_paused",
        "resumed" => "audit_resumed",
        w if w.starts_with("left") || w.starts_with("unsubscribed") => "audit_left",
        _ => return None,
    };
    word(texts, key).map(str::to_string)
}

/// "a@x.org changed their profile: skills A; B; languages ja; region R; time zone T".
fn profile(detail: &str, texts: &Texts) -> Option<String> {
    let (_, rest) = detail.split_once(" changed their profile: skills ")?;
    let (rest, zone) = rest.rsplit_once("; time zone ")?;
    let (rest, region) = rest.rsplit_once("; region ")?;
    let (skills, languages) = rest.rsplit_once("; languages ")?;
    let zone = if zone == "(the circle's)" {
        word(texts, "audit_circle_zone")?
    } else {
        zone
    };
    Some(
        word(texts, "audit_profile")?
            .replace("{skills}", skills)
            .replace("{languages}", &language_names(languages, texts)?)
            .replace("{region}", region)
            .replace("{timezone}", zone),
    )
}

/// "ja; en" as the languages' names ("日本語、英語"); a tag without a name as recorded.
fn language_names(tags: &str, texts: &Texts) -> Option<String> {
    let names: Vec<String> = crate::domain::split_list(tags)
        .iter()
        .map(|t| {
            let key = format!("lang_name_{}", t.to_ascii_lowercase());
            word(texts, &key).unwrap_or(t.as_str()).to_string()
        })
        .collect();
    Some(names.join(word(texts, "audit_list_sep")?))
}

/// "handled again as request", "still fails: REASON" (`cli::inbox`).
fn reprocess(detail: &str, lang: MailLanguage) -> Option<String> {
    let texts = PAGES.texts(lang);
    if let Some(kind) = detail.strip_prefix("handled again as ") {
        let kind = word(texts, &format!("audit_kind_{kind}")).unwrap_or(kind);
        return Some(word(texts, "audit_reprocessed")?.replace("{kind}", kind));
    }
    let reason = detail.strip_prefix("still fails: ")?;
    let (why, recorded) = super::mail::reason_words("", reason, lang);
    let why = if recorded.is_empty() {
        why
    } else {
        format!("{why} ({recorded})")
    };
    Some(word(texts, "audit_still_fails")?.replace("{reason}", &why))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ja(action: &str, detail: &str) -> String {
        words(action, detail, MailLanguage::Ja)
    }

    #[test]
    fn recorded_details_read_in_japanese() {
        assert_eq!(
            ja("members_import", "3 rows: 1 added, 1 updated, 1 unchanged"),
            "3行：追加1件・変更1件・変更なし1件"
        );
        assert_eq!(
            ja("member_status", "a@x.org paused until 2026-12-24"),
            "2026-12-24まで休止"
        );
        assert_eq!(ja("member_status", "a@x.org resumed"), "再開");
        assert_eq!(
            ja("member_status", "a@x.org unsubscribed (one-click)"),
            "退会"
        );
        assert_eq!(
            ja(
                "member_profile",
                "a@x.org changed their profile: skills 看護師; 救命講習; languages ja; region 東京; time zone (the circle's)"
            ),
            "スキル：看護師; 救命講習・言語：日本語・地域：東京・タイムゾーン：サークルの設定"
        );
        assert_eq!(
            ja("member_edit", "a@x.org: skills, paused_until"),
            "a@x.org: スキル、休止の終了日"
        );
        assert_eq!(
            ja("inbox_reprocess", "handled again as request"),
            "依頼として再処理"
        );
        assert_eq!(
            ja(
                "inbox_reprocess",
                "still fails: request from an address that is not an active member (hold 2)"
            ),
            "まだ処理できません：送信者はまだサークルのメンバーではありません。メンバーに追加してから、もう一度処理してください。"
        );
        // A shape not known stays as recorded.
        assert_eq!(ja("member_status", "something else"), "something else");
        assert_eq!(ja("outbox_release", "x"), "x");
    }
}
