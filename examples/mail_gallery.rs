//! Writes the relay's main mails, in Japanese and English, as the embedded
//! templates render them, to `DIR/<kind>-<lang>.html` and `.txt`, for
//! `scripts/screenshots.sh` to photograph, and prints each whole message's
//! size (MIME, as sent) to `DIR/sizes.txt`. Usage: `cargo run --example
//! mail_gallery -- DIR`. The English reader is in London (the circle in
//! Tokyo), so her deadline reads in her own time.

use std::path::PathBuf;

use circle_relay::domain::EmailAddress;
use circle_relay::domain::human_time::{ReaderZone, deadline, sensible_deadline};
use circle_relay::outbox::{AutoSubmitted, OutgoingMail};
use circle_relay::relay::templates::{MailOptions, RenderedMail, Templates};
use minijinja::{Value, context};

const REPLY: &str = "circle+k3j9q2m7x5v8w4t6r1p0@circle.example";

fn request(ja: bool) -> Value {
    if ja {
        context! {
            number => 12, subject => "就業規則を作り直したい",
            body => "はじめまして。都内で雑貨店を営んでいる山田です。\n社員が10名を超えたので、就業規則を\n作り直したいと考えています。\n\n社労士の方を紹介していただけませんか。\n12月中にご相談できると助かります。\n\nよろしくお願いいたします。",
            requester_name => "山田 達", requester_email => "tatsu@shop.example", status => "open",
        }
    } else {
        context! {
            number => 7, subject => "First aid course for our teachers",
            body => "Hello,\n\nOur language school in Tokyo needs a nurse or a certified instructor to teach\na half-day first aid and CPR course to 15 teachers.\n\nAny Saturday in January works for us. Our rooms: https://school.example/rooms\n\nThanks,\nGreg",
            requester_name => "Greg Miller", requester_email => "greg@school.example", status => "open",
        }
    }
}

fn digest(ja: bool) -> Value {
    let v = |n: i64| format!("circle+v{n}x3xq8w2e7r4t9y1u6i3o5p@circle.example");
    let (s1, s2, s3, s4) = if ja {
        (
            "就業規則を作り直したい",
            "週末の親子ヨガ教室の講師",
            "介護施設での腰痛予防セミナー",
            "配管工事のできる方",
        )
    } else {
        (
            "First aid course for our teachers",
            "Weekend yoga class for parents and children",
            "Back-care seminar at a care home",
            "Need a plumber this week",
        )
    };
    context! {
        week => "2026-W49", period => "2026-11-30 – 2026-12-07",
        numbers => context! { requests => 4, introductions => 2, median_minutes => 135, helped => 2 },
        requests => vec![
            context! { number => 12, subject => s1, status => "open", volunteer => v(12) },
            context! { number => 11, subject => s2, status => "open", volunteer => v(11) },
            context! { number => 10, subject => s3, status => "filled" },
            context! { number => 9, subject => s4, status => "unmatched" },
        ],
        requests_more => 0,
        introductions => vec![context! { number => 10, subject => s3, who => if ja { "佐藤 健太" } else { "Kenta Sato" } }],
        introductions_more => 0,
        thanks => vec![context! { number => 8, subject => if ja { "救命講習の講師" } else { "First aid trainer" }, who => if ja { "山田 花子" } else { "Hanako Yamada" },
            text => if ja { "とても分かりやすい講習で、先生方にも好評でした。ありがとうございました！" } else { "A clear, friendly course; our teachers loved it. Thank you!" } }],
        thanks_more => 0,
        new_members => vec![if ja { "鈴木 一郎" } else { "Ichiro Suzuki" }],
        new_members_more => 0,
    }
}

/// Who almost fitted, as the unmatched alert names them (the relay words
/// the matcher's evidence this way in `relay/near_miss.rs`).
fn near_misses(ja: bool) -> Vec<Value> {
    let why = if ja {
        "スキル「給与計算」は、ご依頼の「社労士」に近い分野ですが、同じ職種ではありません。"
    } else {
        "Their skill “care worker” is a neighbouring trade to “nurse”, not the one asked for."
    };
    vec![
        context! { name => if ja { "鈴木 一郎" } else { "Ichiro Suzuki" }, email => "ichiro@example.org", why => vec![why] },
    ]
}

/// The whole message as the outbox would send it, for its size.
fn mime_size(m: &RenderedMail, carrier: bool) -> Result<usize, Box<dyn std::error::Error>> {
    let to = if carrier {
        "hana@docomo.ne.jp"
    } else {
        "hanako.yamada@example.org"
    };
    let mail = OutgoingMail {
        from: EmailAddress::parse("circle@circle.example")?,
        from_name: "Care Circle".into(),
        reply_to: Some(EmailAddress::parse(REPLY)?),
        to: EmailAddress::parse(to)?,
        to_name: "Hanako Yamada".into(),
        subject: m.subject.clone(),
        text: m.text.clone(),
        html: m.html.clone(),
        message_id: "cr.k3j9q2m7x5v8w4t6r1p0.fwd@circle.example".into(),
        in_reply_to: None,
        references: vec![],
        auto_submitted: AutoSubmitted::Generated,
        list_unsubscribe: "mailto:circle@circle.example?subject=unsubscribe".into(),
        one_click_unsubscribe: None,
    };
    Ok(mail.render()?.len())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "gallery".into()));
    std::fs::create_dir_all(&dir)?;
    let t = Templates::embedded();
    let now = 1_796_160_000; // 2026-12-01
    let circle = ReaderZone::pick(None, "Asia/Tokyo");
    let mut sizes = String::new();
    for lang in ["ja", "en"] {
        let ja = lang == "ja";
        // The wave's due time is rounded in the circle's zone; each reader
        // reads that same instant in their own.
        let due = sensible_deadline(now + 48 * 3600, now, &circle);
        let zone = if ja {
            circle.clone()
        } else {
            ReaderZone::pick(Some("Europe/London"), "Asia/Tokyo")
        };
        let member = if ja {
            context! { name => "佐藤 健太", email => "kenta.sato@example.org",
            skills => "社会保険労務士; 就業規則", bio => "都内で開業している社労士です。",
            languages => "ja", region => "東京", status => "active" }
        } else {
            context! { name => "Hanako Yamada", email => "hanako.yamada@example.org",
            skills => "registered nurse; first aid instructor", bio => "Nurse teaching first aid and CPR.",
            languages => "en; ja", region => "Tokyo", status => "active", timezone => "Europe/London" }
        };
        let reasons: Vec<&str> = if ja {
            vec![
                "就業規則 → skills: 就業規則",
                "社労士 → skills: 社会保険労務士",
                "region: 東京",
            ]
        } else {
            vec![
                "nurse → skills: 看護師",
                "first aid → skills: 救命講習",
                "region: 東京",
            ]
        };
        let base = context! {
            circle => context! { name => if ja { "コーチング・サークル" } else { "Care Circle" }, address => "circle@circle.example", timezone => "Asia/Tokyo" },
            unsubscribe_url => "mailto:circle@circle.example?subject=unsubscribe",
            request => request(ja), member => member, reasons => reasons,
            deadline => deadline(due, &zone, ja), forwarded => 3, answer_within_hours => 48,
            accept_text => if ja { "はい、お受けします。平日の夕方ならお電話でもご相談いただけます。" } else { "Happy to help! I can do a Saturday in January." },
            reply_direct => true, d => digest(ja), near_misses => near_misses(ja),
            reason_ja => "条件に合うメンバーが見つからず、どなたにも転送していません",
            reason_en => "no member fits this request; it was forwarded to nobody",
            text => if ja { "従業員は何名くらいですか？ パートの方も含めて教えてください。" } else { "How long is the course, and do you have a CPR manikin?" },
        };
        for kind in [
            "forward",
            "ack",
            "intro_requester",
            "intro_member",
            "digest",
            "followup",
            "no_match",
            "question",
            "filled",
            "command_profile",
            "admin_alert",
        ] {
            for carrier in [false, true] {
                if carrier && !matches!(kind, "forward" | "intro_member" | "digest") {
                    continue;
                }
                let opts = MailOptions {
                    language: lang.into(),
                    reply_address: Some(REPLY.into()),
                    carrier,
                };
                let m = t.render_mail(kind, &opts, &base)?;
                let name = format!("{kind}{}-{lang}", if carrier { "-carrier" } else { "" });
                std::fs::write(dir.join(format!("{name}.html")), &m.html)?;
                std::fs::write(
                    dir.join(format!("{name}.txt")),
                    format!("Subject: {}\n\n{}", m.subject, m.text),
                )?;
                sizes.push_str(&format!(
                    "{name:<28} message {:>6} B  html {:>6} B  text {:>5} B\n",
                    mime_size(&m, carrier)?,
                    m.html.len(),
                    m.text.len()
                ));
            }
        }
    }
    std::fs::write(dir.join("sizes.txt"), &sizes)?;
    print!("{sizes}");
    println!("wrote {}", dir.display());
    Ok(())
}
