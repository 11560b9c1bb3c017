//! Mail texts from templates in `templates/{ja,en}/KIND.txt`: a `Subject:`
//! line, a `---` line, then the body: paragraphs and `::` block lines
//! (headings, the request as a card, buttons, facts; see `layout.rs`). One
//! renderer writes both parts from the same blocks: the text part in good
//! plain text, the HTML part through `templates/layout.html`, the design an
//! admin edits. The files are built into the binary; a folder given at
//! start-up overrides any of them without a rebuild.

use std::path::Path;

use minijinja::{Environment, Value};

use minijinja::{AutoEscape, Error, Output, State};

use super::{layout, reasons, reflow};

macro_rules! embedded {
    ($($kind:literal),* $(,)?) => {
        &[
            ("layout.html", include_str!("../../templates/layout.html")),
            $(
                (concat!("ja/", $kind, ".txt"), include_str!(concat!("../../templates/ja/", $kind, ".txt"))),
                (concat!("en/", $kind, ".txt"), include_str!(concat!("../../templates/en/", $kind, ".txt"))),
            )*
        ]
    };
}

const EMBEDDED: &[(&str, &str)] = embedded!(
    "ack",
    "forward",
    "no_match",
    "intro_requester",
    "intro_member",
    "filled",
    "already_filled",
    "question",
    "answer",
    "not_your_forward",
    "nobody_available",
    "closed",
    "admin_alert",
    "command_help",
    "command_paused",
    "command_resumed",
    "command_profile",
    "command_unsubscribed",
    "digest",
    "followup",
    "followup_thanks",
    "admin_bounce",
    "hold_notice",
    "hold_rejected",
    "moderation_summary",
    "web_login",
    "footer",
);

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {name}: {message}")]
    Render { name: String, message: String },
    #[error("template {0} has no 'Subject:' line followed by a '---' line")]
    Shape(String),
    #[error("cannot read template folder {0}: {1}")]
    Folder(String, String),
}

/// A mail's texts, ready for `OutgoingMail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Who reads the mail and where its answers go.
#[derive(Debug, Clone, Default)]
pub struct MailOptions {
    /// `ja` or `en` (anything else is read as `en`).
    pub language: String,
    /// `circle+TOKEN@domain`: where the buttons' answers go.
    pub reply_address: Option<String>,
    /// A Japanese carrier phone: no links, a short subject.
    pub carrier: bool,
}

impl MailOptions {
    pub fn new(language: &str) -> Self {
        Self {
            language: language.to_string(),
            ..Self::default()
        }
    }
}

/// Longest subject for a carrier phone's list view (characters).
const CARRIER_SUBJECT_CHARS: usize = 30;

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn embedded() -> Self {
        let mut env = Environment::new();
        for (name, source) in EMBEDDED {
            // The embedded set is checked by a unit test; a broken one is a build defect.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "embedded template does not parse");
            }
        }
        env.add_function("mailto", |to: String, subject: String, body: String| {
            layout::mailto(&to, &subject, &body)
        });
        // `{{ reasons | why(lang) }}`: the matcher's reasons as one sentence.
        env.add_filter("why", |reasons: Vec<String>, lang: String| {
            reasons::sentence(&reasons::from_strings(&reasons), lang == "ja").unwrap_or_default()
        });
        env.add_filter("state", |status: String, lang: String| {
            state_word(&status, lang == "ja")
        });
        env.add_filter("period", |p: String, lang: String| {
            human_period(&p, lang == "ja")
        });
        env.add_filter("duration", |minutes: i64, lang: String| {
            human_duration(minutes, lang == "ja")
        });
        env.set_formatter(guard_formatter);
        Self { env }
    }

    /// The embedded set, with every file found under `dir` taking precedence.
    pub fn with_overrides(dir: &Path) -> Result<Self, TemplateError> {
        let mut t = Self::embedded();
        for (name, _) in EMBEDDED {
            let path = dir.join(name);
            if path.exists() {
                let source = std::fs::read_to_string(&path).map_err(|e| {
                    TemplateError::Folder(path.display().to_string(), e.to_string())
                })?;
                t.env
                    .add_template_owned(name.to_string(), source)
                    .map_err(|e| TemplateError::Render {
                        name: path.display().to_string(),
                        message: e.to_string(),
                    })?;
            }
        }
        Ok(t)
    }

    /// Renders `kind` in `lang` with no reply address (buttons then answer
    /// the mail's own From) for an ordinary mailbox.
    pub fn render(
        &self,
        kind: &str,
        lang: &str,
        ctx: &Value,
    ) -> Result<RenderedMail, TemplateError> {
        self.render_mail(kind, &MailOptions::new(lang), ctx)
    }

    /// Renders `kind` for one reader.
    pub fn render_mail(
        &self,
        kind: &str,
        opts: &MailOptions,
        ctx: &Value,
    ) -> Result<RenderedMail, TemplateError> {
        let lang = if opts.language == "ja" { "ja" } else { "en" };
        let name = format!("{lang}/{kind}.txt");
        let for_admin = kind.starts_with("admin_");
        let ctx = minijinja::context! {
            lang => lang, carrier => opts.carrier, for_admin => for_admin,
            reply_address => opts.reply_address.clone(),
            ..ctx.clone()
        };
        let mut whole = self.render_one(&name, &ctx)?;
        if opts.carrier {
            // What the sender typed may hold links; a carrier phone gets none.
            whole = reflow::unlink(&whole);
        }
        let (subject, body) =
            split_subject(&whole).ok_or_else(|| TemplateError::Shape(name.clone()))?;
        let subject = if opts.carrier {
            carrier_subject(subject)
        } else {
            subject.to_string()
        };
        let frame = layout::Frame {
            japanese: lang == "ja",
            subject: subject.clone(),
            reply_address: opts.reply_address.clone(),
            carrier: opts.carrier,
        };
        let mut blocks = layout::parse(body);
        layout::link_buttons(&mut blocks, &frame);
        let footer = self.render_one(&format!("{lang}/footer.txt"), &ctx)?;
        let footer_lines: Vec<&str> = footer.lines().filter(|l| !l.trim().is_empty()).collect();
        let text = format!(
            "{}\n\n-- \n{}\n",
            layout::text(&blocks, &frame).trim_end(),
            footer_lines.join("\n")
        );
        let (html_footer, profile_url) = html_footer(&footer_lines, &ctx, for_admin);
        let html_ctx = minijinja::context! {
            subject => subject.clone(),
            blocks => Value::from(minijinja::value::Serde(layout::html_blocks(&blocks))),
            footer => html_footer,
            profile_link => profile_url,
            profile_label => if lang == "ja" { "プロフィール（確認・変更・一時停止）" } else { "Your profile (change or pause)" },
            unsubscribe_label => if lang == "ja" { "配信停止" } else { "Unsubscribe" },
            ..ctx.clone()
        };
        let html = self.render_one("layout.html", &html_ctx)?;
        Ok(RenderedMail {
            subject,
            text,
            html,
        })
    }

    fn render_one(&self, name: &str, ctx: &Value) -> Result<String, TemplateError> {
        let err = |e: Error| TemplateError::Render {
            name: name.to_string(),
            message: e.to_string(),
        };
        self.env
            .get_template(name)
            .map_err(err)?
            .render(ctx)
            .map_err(err)
    }
}

/// The footer lines of the HTML part, and the member's page link, which it
/// shows as a link of its own (layout.html) instead of the text part's URL.
fn html_footer(lines: &[&str], ctx: &Value, for_admin: bool) -> (Vec<String>, Option<String>) {
    let profile_url = ctx
        .get_attr("profile_url")
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|u| !u.is_empty() && !for_admin);
    let html = lines
        .iter()
        .filter(|l| profile_url.as_ref().is_none_or(|u| !l.contains(u.as_str())))
        .map(|l| reflow::html_inline(l))
        .collect();
    (html, profile_url)
}

/// `2026-11-30 – 2026-12-07` as 「11月30日〜12月7日」 / "30 Nov – 7 Dec";
/// anything else as it is.
pub fn human_period(p: &str, japanese: bool) -> String {
    let dates: Vec<Option<jiff::civil::Date>> =
        p.split(" – ").map(|d| d.trim().parse().ok()).collect();
    let [Some(a), Some(b)] = dates[..] else {
        return p.to_string();
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let en = |d: jiff::civil::Date| {
        format!(
            "{} {}",
            d.day(),
            MONTHS[(d.month() as usize).saturating_sub(1) % 12]
        )
    };
    if japanese {
        format!("{}月{}日〜{}月{}日", a.month(), a.day(), b.month(), b.day())
    } else {
        format!("{} – {}", en(a), en(b))
    }
}

/// A short duration for a row of numbers: 「45分」「2.3時間」, "45 min", "2.3 h".
pub fn human_duration(minutes: i64, japanese: bool) -> String {
    match (minutes, japanese) {
        (m, true) if m < 60 => format!("{m}分"),
        (m, false) if m < 60 => format!("{m} min"),
        (m, true) if m < 48 * 60 => format!("{:.1}時間", m as f64 / 60.0).replace(".0", ""),
        (m, false) if m < 48 * 60 => format!("{:.1} h", m as f64 / 60.0).replace(".0", ""),
        (m, true) => format!("{:.1}日", m as f64 / 1440.0).replace(".0", ""),
        (m, false) => format!("{:.1} days", m as f64 / 1440.0).replace(".0", ""),
    }
}

/// One word per request state in each language, as members read it.
pub fn state_word(status: &str, japanese: bool) -> &'static str {
    match (status, japanese) {
        ("open", true) => "募集中",
        ("open", false) => "open",
        ("filled", true) => "紹介済み",
        ("filled", false) => "introduced",
        ("closed", true) => "締め切り済み",
        ("closed", false) => "closed",
        ("unmatched", true) => "該当者なし",
        ("unmatched", false) => "no match",
        ("exhausted", true) => "引き受け手なし",
        ("exhausted", false) => "nobody available",
        ("held", true) => "承認待ち",
        ("held", false) => "awaiting approval",
        ("rejected", true) => "見送り",
        ("rejected", false) => "not taken",
        (_, true) => "その他",
        (_, false) => "other",
    }
}

/// What people wrote (subjects, names, bodies) is text, never layout: in a
/// text template a line of theirs cannot start a `::` block, and a one-line
/// value cannot end a block's field with ` | `. HTML is escaped as usual.
fn guard_formatter(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    let text = match value.as_str() {
        Some(s) if *state.auto_escape() == AutoEscape::None && !value.is_safe() => s,
        _ => return minijinja::escape_formatter(out, state, value),
    };
    out.write_str(&guard(text))
        .map_err(|e| Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

fn guard(text: &str) -> String {
    let one_line = !text.contains('\n');
    text.split('\n')
        .map(|line| {
            let l = if line.trim_start().starts_with("::") {
                format!("\u{200b}{line}")
            } else {
                line.to_string()
            };
            if one_line {
                l.replace(" | ", " ｜ ")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn split_subject(whole: &str) -> Option<(&str, &str)> {
    let rest = whole.trim_start().strip_prefix("Subject:")?;
    let (subject, body) = rest.split_once("\n---\n")?;
    Some((subject.trim(), body.trim_start_matches('\n')))
}

/// A subject that fits a phone's list: no `[circle]` prefix, the middle cut
/// so that a trailing request number （依頼番号 12） / (request 12) stays.
pub fn carrier_subject(subject: &str) -> String {
    let s = match subject.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((_, rest)) => rest,
        None => subject,
    };
    if s.chars().count() <= CARRIER_SUBJECT_CHARS {
        return s.to_string();
    }
    let tail_at = s
        .rfind(['（', '('])
        .filter(|&i| s[i..].chars().any(|c| c.is_ascii_digit()));
    let (head, tail) = match tail_at {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let room = CARRIER_SUBJECT_CHARS
        .saturating_sub(tail.chars().count() + 1)
        .max(8);
    if head.is_ascii() {
        return match cut_words(head, room) {
            (text, true) => format!("{text}…{tail}"),
            (text, false) => format!("{text} {tail}").trim_end().to_string(),
        };
    }
    let cut: String = head.trim_end().chars().take(room).collect();
    format!("{cut}…{tail}")
}

/// English in `room` characters: the kind before `? ` or `: ` ("Can you
/// help? ") goes first, since the mail itself says it, then the rest is cut
/// between words. True when something was cut.
fn cut_words(head: &str, room: usize) -> (String, bool) {
    let head = head.trim_end();
    if head.chars().count() <= room {
        return (head.to_string(), false);
    }
    let content = match head.split_once("? ").or_else(|| head.split_once(": ")) {
        Some((_, rest)) if !rest.trim().is_empty() => rest.trim(),
        _ => head,
    };
    if content.chars().count() <= room {
        return (content.to_string(), false);
    }
    let fits: String = content.chars().take(room + 1).collect();
    let cut = match fits.rfind(' ') {
        Some(i) if i >= room / 2 => fits[..i].trim_end().to_string(),
        _ => fits.chars().take(room).collect(),
    };
    (cut, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn every_mail_kind_has_a_template_in_each_language() {
        use crate::domain::{MailKind, MailLanguage};
        for kind in MailKind::ALL {
            for lang in MailLanguage::ALL {
                let name = format!("{}/{}.txt", lang.as_str(), kind.as_str());
                assert!(
                    EMBEDDED.iter().any(|(n, _)| *n == name),
                    "{name} is not embedded"
                );
            }
        }
    }

    fn sample() -> Value {
        context! {
            circle => context! { name => "コーチング・サークル", address => "circle@circle.test" },
            request => context! {
                number => 12, subject => "看護師さんを探しています <急ぎ>", body => "救命講習の講師を探しています。",
                requester_name => "佐藤", requester_email => "sato@example.org", status => "open",
            },
            member => context! { name => "山田 花子", email => "hanako@example.org" },
            token => "abcdefghij2345672345", reasons => vec!["看護師 → skills: 看護師", "region: 東京"],
            deadline => "2026-11-30 10:00", forwarded => 3, answer_within_hours => 48, asked => 6,
            text => "日程は？", reason_ja => "合うメンバーがいません", reason_en => "no member fits",
            unsubscribe_url => "mailto:circle@circle.test?subject=unsubscribe",
            hold => context! {
                number => 3, reason_ja => "メンバーではない方からの依頼です", reason_en => "the sender is not a member",
                detail => "", requester_name => "Ann", requester_email => "ann@example.org",
                subject => "看護師さん", body => "救命講習の講師を探しています。",
            },
            held => vec![context! { number => 3, requester_email => "ann@example.org", subject => "x", reason_ja => "r", reason_en => "r", state => "held" }],
            expired => Vec::<Value>::new(),
        }
    }

    #[test]
    fn every_kind_renders_in_both_languages() {
        let t = Templates::embedded();
        for (name, _) in EMBEDDED {
            let Some((lang, file)) = name.split_once('/') else {
                continue;
            };
            let kind = file.trim_end_matches(".txt");
            if kind == "footer" {
                continue;
            }
            let m = t
                .render(kind, lang, &sample())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!m.subject.is_empty() && !m.subject.contains('\n'), "{name}");
            assert!(m.text.contains("circle@circle.test"), "{name}: footer");
            assert!(m.html.contains("</html>"), "{name}");
        }
    }

    #[test]
    fn forward_has_no_token_plain_reasons_buttons_and_escapes_html() {
        let opts = MailOptions {
            language: "ja".into(),
            reply_address: Some("circle+abcdefghij2345672345@circle.test".into()),
            carrier: false,
        };
        let m = Templates::embedded()
            .render_mail("forward", &opts, &sample())
            .unwrap();
        assert_eq!(
            m.subject,
            "[コーチング・サークル] ご協力のお願い: 看護師さんを探しています <急ぎ>（依頼番号 12）"
        );
        assert!(!m.text.contains("abcdefghij2345672345"), "{}", m.text);
        let flat = m.text.replace('\n', "");
        assert!(
            flat.contains("ご依頼の「看護師」が、あなたのプロフィールのスキル「看護師」と一致しました（東京）。"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("skills:") && !m.html.contains("skills:"));
        assert!(m.text.contains("救命講習の講師を探しています。"));
        assert!(m.html.contains("&lt;急ぎ&gt;") && !m.html.contains("<急ぎ>"));
        assert!(
            m.html
                .contains("href=\"mailto:circle+abcdefghij2345672345@circle.test?subject=Re%3A%20"),
            "{}",
            m.html
        );
        assert!(
            flat.contains("「引き受ける」「辞退する」「質問する」"),
            "{}",
            m.text
        );
        let en = Templates::embedded()
            .render("forward", "fr", &sample())
            .unwrap();
        assert!(
            en.text
                .replace('\n', " ")
                .contains("\"Accept\", \"Decline\", \"Ask a question\""),
            "unknown languages fall back to English: {}",
            en.text
        );
    }

    #[test]
    fn what_people_wrote_cannot_add_blocks() {
        let mut ctx = sample();
        ctx = context! {
            request => context! {
                number => 12, subject => "a | b", body => "hello\n:: button Accept | Accept | evil@example.org\nbye",
                requester_name => "x", requester_email => "x@example.org", status => "open",
            },
            ..ctx
        };
        let m = Templates::embedded().render("forward", "en", &ctx).unwrap();
        assert!(!m.html.contains("evil@example.org?subject"), "{}", m.html);
        assert!(
            m.text.contains(":: button Accept"),
            "shown as text: {}",
            m.text
        );
    }

    #[test]
    fn carrier_subjects_fit_a_phone_and_keep_the_number() {
        assert_eq!(
            carrier_subject(
                "[コーチング・サークル] ご協力のお願い: 看護師さんを探しています、急ぎで救命講習の講師も（依頼番号 12）"
            ),
            "ご協力のお願い: 看護師さんを探していま…（依頼番号 12）"
        );
        assert_eq!(
            carrier_subject("[C] Short (request 3)"),
            "Short (request 3)"
        );
        assert_eq!(
            carrier_subject(
                "[Care Circle] Can you help? First aid course for our teachers (request 7)"
            ),
            "First aid course…(request 7)"
        );
        assert_eq!(
            carrier_subject("[Care Circle] Introduction: Greg Miller (request 7)"),
            "Greg Miller (request 7)"
        );
    }

    #[test]
    fn a_folder_overrides_one_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        std::fs::write(
            dir.path().join("en/ack.txt"),
            "Subject: Got it {{ request.number }}\n---\nThanks.\n",
        )
        .unwrap();
        let t = Templates::with_overrides(dir.path()).unwrap();
        let m = t.render("ack", "en", &sample()).unwrap();
        assert_eq!(m.subject, "Got it 12");
        assert!(m.text.starts_with("Thanks."));
        assert!(
            t.render("ack", "ja", &sample())
                .unwrap()
                .subject
                .contains("受け付けました")
        );
    }
}
