//! The digest's content, built from a week's data for one reader. Pure: no
//! I/O, so the numbers and the size bound are unit-tested directly.

use crate::domain::RequestStatus;
use serde::Serialize;

use crate::store::digest::WeekData;

/// Who reads the digest: a member (open requests get a volunteer address,
/// except their own) and/or an admin (adds the admin section).
pub struct Reader<'a> {
    pub member_id: Option<i64>,
    pub email_key: &'a str,
    pub admin: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RequestItem {
    pub number: i64,
    pub subject: String,
    pub status: String,
    /// Where to write to volunteer (open requests only).
    pub volunteer: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Item {
    pub number: i64,
    pub subject: String,
    pub who: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Numbers {
    pub requests: usize,
    pub introductions: usize,
    /// Median minutes from a request to its first accept.
    pub median_minutes: Option<i64>,
    pub helped: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AdminSection {
    pub unmatched: Vec<RequestItem>,
    pub unmatched_more: usize,
    pub bounces: Vec<Item>,
    pub bounces_more: usize,
    pub silent: Vec<Item>,
    pub silent_more: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DigestContent {
    pub week: String,
    pub period: String,
    pub requests: Vec<RequestItem>,
    pub requests_more: usize,
    pub introductions: Vec<Item>,
    pub introductions_more: usize,
    pub thanks: Vec<Item>,
    pub thanks_more: usize,
    pub new_members: Vec<String>,
    pub new_members_more: usize,
    pub numbers: Numbers,
    pub admin: Option<AdminSection>,
}

/// Long subjects are cut: the digest lists, the request holds the details.
const SUBJECT_CHARS: usize = 80;

fn cut(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

/// The first `limit` items and how many more there were.
fn top<T, U>(items: impl Iterator<Item = T>, limit: usize, f: impl Fn(T) -> U) -> (Vec<U>, usize) {
    let all: Vec<T> = items.collect();
    let more = all.len().saturating_sub(limit);
    (all.into_iter().take(limit).map(f).collect(), more)
}

pub fn numbers(week: &WeekData) -> Numbers {
    let mut waits: Vec<i64> = week
        .requests
        .iter()
        .filter_map(|r| r.first_accept_at.map(|a| (a - r.created_at).max(0)))
        .collect();
    waits.sort_unstable();
    let median = match waits.len() {
        0 => None,
        n if n % 2 == 1 => Some(waits[n / 2]),
        n => Some((waits[n / 2 - 1] + waits[n / 2]) / 2),
    };
    let mut helped: Vec<i64> = week.introductions.iter().map(|i| i.member_id).collect();
    helped.sort_unstable();
    helped.dedup();
    Numbers {
        requests: week.requests.len(),
        introductions: week.introductions.len(),
        median_minutes: median.map(|s| (s + 30) / 60),
        helped: helped.len(),
    }
}

/// One reader's digest with at most `limit` items per list: open requests
/// first, then the newest, so a long week shows what can still be helped with.
pub fn build(
    week: &WeekData,
    label: &str,
    period: &str,
    reader: &Reader<'_>,
    limit: usize,
    volunteer: &dyn Fn(i64, i64) -> String,
) -> DigestContent {
    let mut requests: Vec<_> = week.requests.iter().collect();
    requests.sort_by_key(|r| (r.status != RequestStatus::Open, -r.id));
    let (requests, requests_more) = top(requests.into_iter(), limit, |r| RequestItem {
        number: r.id,
        subject: cut(&r.subject, SUBJECT_CHARS),
        status: r.status.as_str().to_string(),
        volunteer: match reader.member_id {
            Some(m)
                if r.status == RequestStatus::Open
                    && r.requester_email.to_ascii_lowercase() != reader.email_key =>
            {
                Some(volunteer(r.id, m))
            }
            _ => None,
        },
    });
    let (introductions, introductions_more) =
        top(week.introductions.iter().rev(), limit, |i| Item {
            number: i.request_id,
            subject: cut(&i.subject, SUBJECT_CHARS),
            who: i.member_name.clone(),
            text: String::new(),
        });
    let (thanks, thanks_more) = top(week.thanks.iter().rev(), limit, |t| Item {
        number: t.request_id,
        subject: cut(&t.subject, SUBJECT_CHARS),
        who: t.member_name.clone(),
        text: cut(t.text.trim(), 200),
    });
    let (new_members, new_members_more) = top(week.new_members.iter(), limit, Clone::clone);
    let admin = reader.admin.then(|| admin_section(week, limit));
    DigestContent {
        week: label.to_string(),
        period: period.to_string(),
        requests,
        requests_more,
        introductions,
        introductions_more,
        thanks,
        thanks_more,
        new_members,
        new_members_more,
        numbers: numbers(week),
        admin,
    }
}

fn admin_section(week: &WeekData, limit: usize) -> AdminSection {
    let unmatched = week.requests.iter().filter(|r| {
        matches!(
            r.status,
            RequestStatus::Unmatched | RequestStatus::Exhausted
        )
    });
    let (unmatched, unmatched_more) = top(unmatched, limit, |r| RequestItem {
        number: r.id,
        subject: cut(&r.subject, SUBJECT_CHARS),
        status: r.status.as_str().to_string(),
        volunteer: None,
    });
    let (bounces, bounces_more) = top(week.bounces.iter(), limit, |b| Item {
        number: 0,
        subject: String::new(),
        who: b.recipient.clone(),
        text: format!(
            "{} {}",
            b.severity,
            b.status_code.clone().unwrap_or_default()
        )
        .trim()
        .to_string(),
    });
    let (silent, silent_more) = top(week.silent.iter(), limit, |s| Item {
        number: s.forwards,
        subject: String::new(),
        who: format!("{} <{}>", s.name, s.email),
        text: String::new(),
    });
    AdminSection {
        unmatched,
        unmatched_more,
        bounces,
        bounces_more,
        silent,
        silent_more,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::digest::{WeekIntroduction, WeekRequest};

    fn req(id: i64, status: &str, created: i64, accept: Option<i64>) -> WeekRequest {
        WeekRequest {
            id,
            subject: format!("request {id}"),
            requester_email: "x@example.org".into(),
            status: RequestStatus::from_word(status).expect("a known status"),
            created_at: created,
            first_accept_at: accept,
        }
    }

    #[test]
    fn numbers_and_limits() {
        let week = WeekData {
            requests: vec![
                req(1, "filled", 0, Some(3600)),
                req(2, "filled", 0, Some(7200)),
                req(3, "open", 0, None),
                req(4, "filled", 0, Some(3 * 3600)),
            ],
            introductions: (1..=3)
                .map(|i| WeekIntroduction {
                    request_id: i,
                    subject: String::new(),
                    member_id: i % 2,
                    member_name: String::new(),
                })
                .collect(),
            ..WeekData::default()
        };
        let n = numbers(&week);
        assert_eq!(
            n,
            Numbers {
                requests: 4,
                introductions: 3,
                median_minutes: Some(120),
                helped: 2
            }
        );
        let reader = Reader {
            member_id: Some(7),
            email_key: "m@example.org",
            admin: false,
        };
        let c = build(&week, "2026-W48", "", &reader, 2, &|r, m| {
            format!("v{r}x{m}")
        });
        assert_eq!(c.requests.len(), 2);
        assert_eq!(c.requests_more, 2);
        assert_eq!(c.requests[0].number, 3, "open first");
        assert_eq!(c.requests[0].volunteer.as_deref(), Some("v3x7"));
        assert!(c.admin.is_none());
    }
}
