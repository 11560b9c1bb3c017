//! One renderer for both parts of every mail. A template's body (after
//! minijinja) is plain paragraphs plus block lines that start with `::`:
//!
//! ```text
//! :: heading The request
//! :: card SUBJECT | SENDER NAME      (the lines up to `:: end` are the text, reflowed)
//! :: quote WHO                       (someone's own words, up to `:: end`)
//! :: button LABEL | WORD [| ADDRESS | SUBJECT]   (consecutive buttons are one row)
//! :: fact LABEL | VALUE              (consecutive facts are one table)
//! :: stat VALUE | LABEL              (consecutive stats are one row of numbers)
//! :: item TITLE | STATE              (a line of a list, e.g. a request in the digest)
//! :: note SMALL PRINT
//! ```
//!
//! The text part is written here; the HTML part is `layout.html` fed with
//! the same blocks, so the whole design is one file an admin can edit.
//! A button is a `mailto:` link (RFC 6068) to the mail's reply address with
//! the subject and the answer word filled in; in the text part, and for
//! carrier phones everywhere, it is the word to reply with.

use serde::Serialize;

use super::reflow::{html_inline, paragraphs, wrap};

/// Columns of the text part.
const TEXT_COLUMNS: usize = 70;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    pub label: String,
    pub word: String,
    /// Where the answer goes; `None` = the mail's own reply address.
    pub address: Option<String>,
    pub subject: Option<String>,
    /// Filled in when rendering: the `mailto:` URL (absent for carriers).
    pub href: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    Paragraph {
        text: String,
    },
    Heading {
        text: String,
    },
    Card {
        title: String,
        from: String,
        paragraphs: Vec<String>,
    },
    Quote {
        who: String,
        paragraphs: Vec<String>,
    },
    Buttons {
        buttons: Vec<Button>,
    },
    Facts {
        facts: Vec<(String, String)>,
    },
    Stats {
        stats: Vec<(String, String)>,
    },
    Item {
        title: String,
        state: String,
    },
    Note {
        text: String,
    },
}

/// Splits `LABEL | VALUE | …` into trimmed fields.
fn fields(rest: &str) -> Vec<String> {
    rest.split(" | ").map(|f| f.trim().to_string()).collect()
}

fn field(f: &[String], i: usize) -> String {
    f.get(i).cloned().unwrap_or_default()
}

/// Parses a rendered template body into blocks.
pub fn parse(body: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut lines = body.lines();
    while let Some(line) = lines.next() {
        let Some(directive) = line.trim_start().strip_prefix("::") else {
            if line.trim().is_empty() {
                push_paragraphs(&mut blocks, &mut para);
            } else {
                para.push(line);
            }
            continue;
        };
        push_paragraphs(&mut blocks, &mut para);
        let directive = directive.trim();
        let (name, rest) = directive.split_once(' ').unwrap_or((directive, ""));
        let f = fields(rest);
        let block = match name {
            "heading" => Block::Heading {
                text: rest.trim().to_string(),
            },
            "note" => Block::Note {
                text: rest.trim().to_string(),
            },
            "item" => Block::Item {
                title: field(&f, 0),
                state: field(&f, 1),
            },
            "card" | "quote" => {
                let inner: Vec<&str> = lines
                    .by_ref()
                    .take_while(|l| l.trim() != ":: end")
                    .collect();
                framed(name, &f, paragraphs(&inner.join("\n")))
            }
            "button" | "fact" | "stat" => match listed(&mut blocks, name, &f) {
                Some(block) => block,
                None => continue,
            },
            // An unknown directive is shown as text rather than lost.
            _ => Block::Paragraph {
                text: line.trim().to_string(),
            },
        };
        blocks.push(block);
    }
    push_paragraphs(&mut blocks, &mut para);
    blocks
}

/// Consecutive lines of one kind make one block: the line joins the last
/// block when it is of its kind (None), or starts a new block.
fn listed(blocks: &mut [Block], name: &str, f: &[String]) -> Option<Block> {
    if let Some(last) = blocks.last_mut()
        && extend(last, name, f)
    {
        return None;
    }
    let mut block = match name {
        "fact" => Block::Facts { facts: vec![] },
        "stat" => Block::Stats { stats: vec![] },
        _ => Block::Buttons { buttons: vec![] },
    };
    extend(&mut block, name, f);
    Some(block)
}

fn framed(name: &str, f: &[String], paragraphs: Vec<String>) -> Block {
    if name == "card" {
        Block::Card {
            title: field(f, 0),
            from: field(f, 1),
            paragraphs,
        }
    } else {
        Block::Quote {
            who: field(f, 0),
            paragraphs,
        }
    }
}

/// Adds a `button`, `fact` or `stat` line to `block` when it is of that kind.
fn extend(block: &mut Block, name: &str, f: &[String]) -> bool {
    let pair = || (field(f, 0), field(f, 1));
    match (name, block) {
        ("button", Block::Buttons { buttons }) => buttons.push(Button {
            label: field(f, 0),
            word: field(f, 1),
            address: f.get(2).filter(|a| !a.is_empty()).cloned(),
            subject: f.get(3).filter(|s| !s.is_empty()).cloned(),
            href: None,
        }),
        ("fact", Block::Facts { facts }) => facts.push(pair()),
        ("stat", Block::Stats { stats }) => stats.push(pair()),
        _ => return false,
    }
    true
}

fn push_paragraphs(blocks: &mut Vec<Block>, para: &mut Vec<&str>) {
    if para.is_empty() {
        return;
    }
    for text in paragraphs(&para.join("\n")) {
        blocks.push(Block::Paragraph { text });
    }
    para.clear();
}

/// What the renderer needs to know of the mail around the blocks.
#[derive(Debug, Clone)]
pub struct Frame {
    pub japanese: bool,
    pub subject: String,
    /// The address a reply to this mail goes to (`circle+TOKEN@…`).
    pub reply_address: Option<String>,
    /// Japanese carrier phones: no links at all.
    pub carrier: bool,
}

/// RFC 6068: `mailto:` with UTF-8 percent-encoded subject and body.
pub fn mailto(address: &str, subject: &str, body: &str) -> String {
    format!(
        "mailto:{}?subject={}&body={}",
        percent(address, true),
        percent(subject, false),
        percent(body, false)
    )
}

/// Percent-encodes all but RFC 3986 unreserved characters (and `@`, `+` in
/// an address, where they are the address).
fn percent(s: &str, address: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || b"-._~".contains(&b)
            || (address && (b == b'@' || b == b'+'));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// "Re: subject", once.
fn reply_subject(subject: &str) -> String {
    if subject.to_ascii_lowercase().starts_with("re:") {
        subject.to_string()
    } else {
        format!("Re: {subject}")
    }
}

/// Fills in each button's `mailto:` (none for carrier phones).
pub fn link_buttons(blocks: &mut [Block], frame: &Frame) {
    for block in blocks.iter_mut() {
        let Block::Buttons { buttons } = block else {
            continue;
        };
        for b in buttons.iter_mut() {
            let address = b.address.clone().or_else(|| frame.reply_address.clone());
            b.href = match (&address, frame.carrier) {
                (Some(a), false) => {
                    let subject = b
                        .subject
                        .clone()
                        .unwrap_or_else(|| reply_subject(&frame.subject));
                    Some(mailto(a, &subject, &format!("{}\n", b.word)))
                }
                _ => None,
            };
        }
    }
}

/// The plain-text part of `blocks`.
pub fn text(blocks: &[Block], frame: &Frame) -> String {
    let mut out: Vec<String> = Vec::new();
    for b in blocks {
        out.push(text_block(b, frame));
    }
    out.join("\n\n")
}

fn text_block(b: &Block, frame: &Frame) -> String {
    let ja = frame.japanese;
    let w = |t: &str| wrap(t, TEXT_COLUMNS, "");
    match b {
        Block::Paragraph { text } | Block::Note { text } => w(text),
        Block::Heading { text } => {
            if ja {
                format!("■ {text}")
            } else {
                format!(
                    "{text}\n{}",
                    "─".repeat(text.chars().count().min(TEXT_COLUMNS))
                )
            }
        }
        Block::Card {
            title,
            from,
            paragraphs,
        } => text_card(title, from, paragraphs, ja),
        Block::Quote { who, paragraphs } => {
            let body: Vec<String> = paragraphs
                .iter()
                .map(|p| wrap(p, TEXT_COLUMNS, "  "))
                .collect();
            format!("{who}\n{}", body.join("\n\n"))
        }
        Block::Buttons { buttons } => text_buttons(buttons, frame),
        Block::Facts { facts } => text_facts(facts, ja),
        Block::Stats { stats } => stats
            .iter()
            .map(|(v, l)| {
                if ja {
                    format!("{l} {v}")
                } else {
                    format!("{v} {l}")
                }
            })
            .collect::<Vec<_>>()
            .join(if ja { "　／　" } else { "  ·  " }),
        Block::Item { title, state } => {
            let line = if state.is_empty() {
                title.clone()
            } else if ja {
                format!("{title}【{state}】")
            } else {
                format!("{title} ({state})")
            };
            wrap(&format!("・{line}"), TEXT_COLUMNS, "")
        }
    }
}

fn text_card(title: &str, from: &str, paragraphs: &[String], ja: bool) -> String {
    let mut head = if ja {
        format!("「{title}」")
    } else {
        format!("“{title}”")
    };
    if !from.is_empty() {
        head.push_str(&if ja {
            format!("（{from}さんから）")
        } else {
            format!(", from {from}")
        });
    }
    let body: Vec<String> = paragraphs
        .iter()
        .map(|p| wrap(p, TEXT_COLUMNS, "  "))
        .collect();
    format!(
        "{}\n\n{}",
        wrap(&head, TEXT_COLUMNS, "  "),
        body.join("\n\n")
    )
}

/// Labels and values in two aligned columns.
fn text_facts(facts: &[(String, String)], ja: bool) -> String {
    let wide = facts
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    facts
        .iter()
        .map(|(l, v)| {
            let pad = " ".repeat(wide - l.chars().count());
            if ja {
                format!("  {l}{pad}：{v}")
            } else {
                format!("  {l}:{pad} {v}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Buttons as words to reply with: the mail's own reply address needs no
/// address, another address is written out.
fn text_buttons(buttons: &[Button], frame: &Frame) -> String {
    let ja = frame.japanese;
    let (own, other): (Vec<&Button>, Vec<&Button>) =
        buttons.iter().partition(|b| b.address.is_none());
    let mut lines = Vec::new();
    if !own.is_empty() {
        let words: Vec<String> = own
            .iter()
            .map(|b| {
                if ja {
                    format!("「{}」", b.word)
                } else {
                    format!("\"{}\"", b.word)
                }
            })
            .collect();
        lines.push(if ja {
            format!(
                "このメールに{}のどれかを書いて返信してください。",
                words.join("")
            )
        } else {
            format!("Reply to this mail with one of: {}.", words.join(", "))
        });
        if own.len() == 1 {
            lines[0] = if ja {
                format!("このメールに{}と書いて返信してください。", words[0])
            } else {
                format!("Reply to this mail with {}.", words[0])
            };
        }
    }
    for b in other {
        let to = b.address.as_deref().unwrap_or_default();
        lines.push(if ja {
            format!("{}: 「{}」と書いて {to} へ", b.label, b.word)
        } else {
            format!("{}: write \"{}\" to {to}", b.label, b.word)
        });
    }
    // Under a list item, the button's line is indented like the item's text.
    let indent = if own.is_empty() { "  " } else { "" };
    lines
        .iter()
        .map(|l| wrap(l, TEXT_COLUMNS, indent))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The blocks as the HTML layout reads them: every text already escaped,
/// with phrase breaks, so the layout only places it.
#[derive(Debug, Serialize)]
pub struct HtmlBlock {
    pub kind: &'static str,
    pub text: String,
    pub title: String,
    pub from: String,
    pub paragraphs: Vec<String>,
    pub buttons: Vec<Button>,
    pub pairs: Vec<(String, String)>,
    pub state: String,
}

pub fn html_blocks(blocks: &[Block]) -> Vec<HtmlBlock> {
    blocks.iter().map(html_block).collect()
}

fn html_block(b: &Block) -> HtmlBlock {
    let mut h = HtmlBlock {
        kind: "paragraph",
        text: String::new(),
        title: String::new(),
        from: String::new(),
        paragraphs: vec![],
        buttons: vec![],
        pairs: vec![],
        state: String::new(),
    };
    let many = |ps: &[String]| ps.iter().map(|p| html_inline(p)).collect::<Vec<_>>();
    let pairs = |ps: &[(String, String)]| {
        ps.iter()
            .map(|(a, b)| (html_inline(a), html_inline(b)))
            .collect::<Vec<_>>()
    };
    match b {
        Block::Paragraph { text } => h.text = html_inline(text),
        Block::Heading { text } => (h.kind, h.text) = ("heading", html_inline(text)),
        Block::Note { text } => (h.kind, h.text) = ("note", html_inline(text)),
        Block::Card {
            title,
            from,
            paragraphs,
        } => {
            (h.kind, h.title, h.from) = ("card", html_inline(title), html_inline(from));
            h.paragraphs = many(paragraphs);
        }
        Block::Quote { who, paragraphs } => {
            (h.kind, h.from, h.paragraphs) = ("quote", html_inline(who), many(paragraphs));
        }
        Block::Buttons { buttons } => {
            h.kind = "buttons";
            h.buttons = buttons
                .iter()
                .map(|b| Button {
                    label: html_inline(&b.label),
                    word: html_inline(&b.word),
                    href: b.href.as_deref().map(super::reflow::escape),
                    ..b.clone()
                })
                .collect();
        }
        Block::Facts { facts } => (h.kind, h.pairs) = ("facts", pairs(facts)),
        Block::Stats { stats } => (h.kind, h.pairs) = ("stats", pairs(stats)),
        Block::Item { title, state } => {
            (h.kind, h.title, h.state) = ("item", html_inline(title), html_inline(state));
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame {
            japanese: true,
            subject: "ご協力のお願い".into(),
            reply_address: Some("circle+tok123@circle.test".into()),
            carrier: false,
        }
    }

    #[test]
    fn parses_blocks_and_groups_buttons() {
        let blocks = parse(
            "こんにちは。\n\n:: heading 依頼の内容\n:: card 看護師さん | 佐藤\n一行目\n二行目\n\n次の段落\n:: end\n\
             :: button 引き受ける | 引き受ける\n:: button 辞退する | 辞退する\n:: fact 名前 | 佐藤\n:: fact メール | s@x\n",
        );
        assert_eq!(blocks.len(), 5, "{blocks:?}");
        assert_eq!(
            blocks[2],
            Block::Card {
                title: "看護師さん".into(),
                from: "佐藤".into(),
                paragraphs: vec!["一行目二行目".into(), "次の段落".into()]
            }
        );
        assert!(matches!(&blocks[3], Block::Buttons { buttons } if buttons.len() == 2));
        assert!(matches!(&blocks[4], Block::Facts { facts } if facts.len() == 2));
    }

    #[test]
    fn buttons_are_rfc6068_mailto_links_except_for_carriers() {
        let mut blocks = parse(":: button 引き受ける | 引き受ける\n");
        link_buttons(&mut blocks, &frame());
        let Block::Buttons { buttons } = &blocks[0] else {
            panic!()
        };
        assert_eq!(
            buttons[0].href.as_deref(),
            Some(
                "mailto:circle+tok123@circle.test?subject=Re%3A%20%E3%81%94%E5%8D%94%E5%8A%9B%E3%81%AE%E3%81%8A%E9%A1%98%E3%81%84\
                 &body=%E5%BC%95%E3%81%8D%E5%8F%97%E3%81%91%E3%82%8B%0A"
            )
        );
        let t = text(&blocks, &frame());
        assert_eq!(t, "このメールに「引き受ける」と書いて返信してください。");
        let mut carrier = parse(":: button 引き受ける | 引き受ける\n");
        link_buttons(
            &mut carrier,
            &Frame {
                carrier: true,
                ..frame()
            },
        );
        assert!(matches!(&carrier[0], Block::Buttons { buttons } if buttons[0].href.is_none()));
    }
}
