//! Who almost fitted a request nobody fits, for the admins' alert: the
//! members the matcher found some evidence for (a neighbouring trade, a
//! general word), with their own words and why those are only close, so a
//! person can decide. They are never forwarded to, and the requester is
//! never told about them (their no-match mail stays as it is).

use minijinja::{Value, context};

use crate::domain::EmailAddress;
use crate::matching::{Candidate, Evidence, How, Matcher, Source};

/// At most this many near-misses are named in one alert (best first).
pub(super) const MAX_NAMED: usize = 3;

/// At most this many pieces of evidence are shown for one near-miss.
const MAX_WORDS: usize = 2;

/// The near-misses an admin may be told about: active members of the
/// directory other than the requester, best first, at most [`MAX_NAMED`].
/// (The matcher already skips paused and departed members and the
/// requester; this keeps the alert right whatever the ranking does.)
pub(super) fn nameable(
    near: Vec<Candidate>,
    matcher: &Matcher,
    requester: &EmailAddress,
) -> Vec<Candidate> {
    near.into_iter()
        .filter(|c| {
            matcher
                .members()
                .iter()
                .any(|m| m.id == c.member_id && m.is_active() && m.email.key() != requester.key())
        })
        .take(MAX_NAMED)
        .collect()
}

/// The near-misses as the alert's template reads them: `name`, `email` and
/// `why` (one sentence a piece of evidence) in the alert's language.
pub fn view(near: &[Candidate], japanese: bool) -> Vec<Value> {
    near.iter()
        .map(|c| {
            let why: Vec<String> = c
                .evidence
                .iter()
                .take(MAX_WORDS)
                .map(|e| sentence(e, japanese))
                .collect();
            context! { name => c.name.clone(), email => c.email.clone(), why => why }
        })
        .collect()
}

/// Why one piece of evidence is only close, in the member's own words.
fn sentence(e: &Evidence, japanese: bool) -> String {
    let (word, asked) = (&e.member, &e.request);
    let theirs = match (japanese, &e.source) {
        (true, Source::Skill) => format!("スキル「{word}」"),
        (true, Source::Profile) => format!("紹介文の「{word}」"),
        (false, Source::Skill) => format!("Their skill “{word}”"),
        (false, Source::Profile) => format!("“{word}” in their profile"),
    };
    match (japanese, e.how == How::Related) {
        (true, true) => {
            format!("{theirs}は、ご依頼の「{asked}」に近い分野ですが、同じ職種ではありません。")
        }
        (true, false) => format!(
            "{theirs}がご依頼の「{asked}」に当たりますが、依頼された職種そのものの根拠ではありません（一般的な語・背景の語、または一部だけの一致）。"
        ),
        (false, true) => {
            format!("{theirs} is a neighbouring trade to “{asked}”, not the one asked for.")
        }
        (false, false) => format!(
            "{theirs} meets “{asked}” in the request, but is not evidence of the trade asked for (a general or background word, or only part of it)."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::templates::Templates;

    fn candidate(name: &str, email: &str, evidence: Vec<Evidence>) -> Candidate {
        Candidate {
            member_id: 1,
            email: email.into(),
            name: name.into(),
            score: 0.2,
            reasons: vec![],
            evidence,
        }
    }

    fn bookkeeper() -> Candidate {
        candidate(
            "Ken Abe",
            "ken@circle.example",
            vec![Evidence {
                request: "税理士".into(),
                member: "記帳代行".into(),
                source: Source::Skill,
                how: How::Related,
            }],
        )
    }

    fn caterer() -> Candidate {
        candidate(
            "Mia Lund",
            "mia@circle.example",
            vec![Evidence {
                request: "chef".into(),
                member: "chef for parties".into(),
                source: Source::Profile,
                how: How::SameWord,
            }],
        )
    }

    fn render(lang: &str, near: &[Candidate], console: Option<&str>) -> String {
        let vars = context! {
            circle => context! { name => "Care Circle" },
            request => context! { number => 12, subject => "税理士の方を探しています", body => "確定申告をお願いできる税理士の方を探しています。",
                requester_name => "Kim", requester_email => "kim@example.org" },
            reason_ja => "条件に合うメンバーが見つからず、どなたにも転送していません",
            reason_en => "no member fits this request; it was forwarded to nobody",
            near_misses => view(near, lang == "ja"),
            console_link => console,
        };
        let m = Templates::embedded()
            .render("admin_alert", lang, &vars)
            .expect("renders");
        assert!(m.html.contains("Ken Abe") == m.text.contains("Ken Abe"));
        assert!(!m.text.contains("> |"), "no empty item state:\n{}", m.text);
        format!("Subject: {}\n\n{}", m.subject, m.text)
    }

    /// The text without whitespace, so wrapped lines compare as written.
    fn has(text: &str, want: &str) -> bool {
        let flat = |s: &str| s.split_whitespace().collect::<String>();
        flat(text).contains(&flat(want))
    }

    #[test]
    fn the_english_alert_names_the_near_misses_and_what_to_do() {
        let text = render("en", &[bookkeeper(), caterer()], None);
        println!("{text}");
        for want in [
            "Who came close",
            "Ken Abe <ken@circle.example>",
            "Their skill “記帳代行” is a neighbouring trade to “税理士”, not the one asked for.",
            "Mia Lund <mia@circle.example>",
            "“chef for parties” in their profile meets “chef”",
            "nobody was sent this request",
            "forward it through the relay: the command below with their address.",
            "Command: circle-relay requests forward 12 EMAIL",
            "when they accept, the requester is introduced",
            "circle-relay members import",
            "circle-relay requests show 12",
        ] {
            assert!(has(&text, want), "missing {want:?} in:\n{text}");
        }
        assert!(
            !text.contains("console"),
            "no console without [web]:\n{text}"
        );
        assert!(
            !text.contains("記帳代行」"),
            "no Japanese quoting in English"
        );
    }

    #[test]
    fn with_the_console_the_alert_links_the_requests_page() {
        let text = render(
            "en",
            &[bookkeeper()],
            Some("https://circle.example/admin/requests/12"),
        );
        for want in [
            "with their address, or \"Forward to a member\" on the request's page in the console.",
            "Console: https://circle.example/admin/requests/12",
        ] {
            assert!(has(&text, want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn the_japanese_alert_names_the_near_misses_in_japanese() {
        let text = render(
            "ja",
            &[bookkeeper()],
            Some("https://circle.example/admin/requests/12"),
        );
        println!("{text}");
        for want in [
            "近かったメンバー",
            "Ken Abe <ken@circle.example>",
            "スキル「記帳代行」は、ご依頼の「税理士」に近い分野ですが、同じ職種ではありません。",
            "どなたにも転送していません",
            "下のコマンドにその方のメールアドレスを入れて実行するか、",
            "コマンド：circle-relay requests forward 12 メールアドレス",
            "「メンバーに転送する」で選んでください。",
            "コンソール：https://circle.example/admin/requests/12",
            "circle-relay members import",
            "https://circle.example/admin/requests/12",
        ] {
            assert!(has(&text, want), "missing {want:?} in:\n{text}");
        }
        for english in ["Their skill", "neighbouring", "Who came close", "EMAIL"] {
            assert!(!text.contains(english), "{english} in:\n{text}");
        }
    }

    #[test]
    fn without_near_misses_the_alert_is_as_before() {
        for lang in ["en", "ja"] {
            let text = render(lang, &[], None);
            for absent in ["Who came close", "近かったメンバー", "members import"] {
                assert!(!text.contains(absent), "{absent} in:\n{text}");
            }
        }
    }

    #[test]
    fn only_active_members_other_than_the_requester_are_named() {
        let csv = "email,name,skills,bio,languages,region,status\n\
            book@x.org,Ken Abe,記帳代行,,ja,東京,\n\
            paused@x.org,Sara Ito,記帳代行,,ja,東京,paused\n\
            left@x.org,Old Member,記帳代行,,ja,東京,left\n\
            asker@x.org,Kim Asker,記帳代行,,ja,東京,\n";
        let members = crate::directory::parse_members_csv(csv.as_bytes())
            .expect("csv")
            .into_iter()
            .enumerate()
            .map(|(i, mut m)| {
                m.id = i as i64 + 1;
                m
            })
            .collect::<Vec<_>>();
        let matcher = Matcher::with_default_vocabulary(members.clone()).expect("vocabulary");
        let near: Vec<Candidate> = members
            .iter()
            .map(|m| Candidate {
                member_id: m.id,
                ..candidate(&m.name, m.email.as_str(), vec![])
            })
            .collect();
        let asker = EmailAddress::parse("ASKER@x.org").expect("address");
        let named = nameable(near, &matcher, &asker);
        let emails: Vec<&str> = named.iter().map(|c| c.email.as_str()).collect();
        assert_eq!(emails, ["book@x.org"]);
    }
}
