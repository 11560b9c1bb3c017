//! Mail texts from templates in `templates/{ja,en}/KIND.txt`: a `Subject:`
//! line, a `---` line, then the text body. The HTML part is the same text in
//! `templates/layout.html`, so an admin edits one file per mail. The files are
//! built into the binary; a folder given at start-up overrides any of them
//! without a rebuild.

use std::path::Path;

use minijinja::{Environment, Value};

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

    /// Renders `kind` in `lang` (`ja` or `en`; anything else falls back to `en`).
    pub fn render(
        &self,
        kind: &str,
        lang: &str,
        ctx: &Value,
    ) -> Result<RenderedMail, TemplateError> {
        let lang = if lang == "ja" { "ja" } else { "en" };
        let name = format!("{lang}/{kind}.txt");
        let whole = self.render_one(&name, ctx)?;
        let (subject, body) =
            split_subject(&whole).ok_or_else(|| TemplateError::Shape(name.clone()))?;
        let footer = self.render_one(&format!("{lang}/footer.txt"), ctx)?;
        let text = format!("{}\n\n{}\n", body.trim_end(), footer.trim_end());
        let html_ctx = minijinja::context! {
            lang => lang,
            subject => subject,
            body_html => Value::from_safe_string(text_to_html(body.trim_end())),
            unsubscribe_label => if lang == "ja" { "配信停止" } else { "Unsubscribe" },
            ..ctx.clone()
        };
        let html = self.render_one("layout.html", &html_ctx)?;
        Ok(RenderedMail {
            subject: subject.to_string(),
            text,
            html,
        })
    }

    fn render_one(&self, name: &str, ctx: &Value) -> Result<String, TemplateError> {
        let err = |e: minijinja::Error| TemplateError::Render {
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

fn split_subject(whole: &str) -> Option<(&str, &str)> {
    let rest = whole.trim_start().strip_prefix("Subject:")?;
    let (subject, body) = rest.split_once("\n---\n")?;
    Some((subject.trim(), body.trim_start_matches('\n')))
}

/// Plain text as HTML paragraphs, every character escaped.
fn text_to_html(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(escape).collect();
            format!("<p>{}</p>", lines.join("<br>\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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
            token => "abcdefghij2345672345", reasons => vec!["看護師 (skills)"],
            deadline => "2026-11-30 10:00", forwarded => 3, answer_within_hours => 48, asked => 6,
            text => "日程は？", reason_ja => "合うメンバーがいません", reason_en => "no member fits",
            unsubscribe_url => "mailto:circle@circle.test?subject=unsubscribe",
            hold => context! {
                number => 3, reason_ja => "メンバーではない方からの依頼です", reason_en => "the sender is not a member",
                detail => "", requester_name => "Ann", requester_email => "ann@example.org",
                subject => "看護師さん", body => "救命講習の講師を探しています。",
            },
            approve_url => "mailto:circle+t@circle.test?subject=approve&body=approve",
            reject_url => "mailto:circle+t@circle.test?subject=reject&body=reject",
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
    fn forward_carries_token_reasons_and_escapes_html() {
        let m = Templates::embedded()
            .render("forward", "ja", &sample())
            .unwrap();
        assert!(
            m.subject.ends_with("[ref:abcdefghij2345672345]"),
            "{}",
            m.subject
        );
        assert!(m.text.contains("看護師 (skills)"));
        assert!(m.text.contains("救命講習の講師を探しています。"));
        assert!(m.html.contains("&lt;急ぎ&gt;") && !m.html.contains("<急ぎ>"));
        let en = Templates::embedded()
            .render("forward", "fr", &sample())
            .unwrap();
        assert!(
            en.text.contains("Reply \"yes\""),
            "unknown languages fall back to English"
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
