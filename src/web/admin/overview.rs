//! `/admin`: this week's numbers and a 12-week chart of requests,
//! introductions and unmatched requests, drawn on the server as inline SVG
//! (no script; colours from the stylesheet, so light and dark both read).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use minijinja::context;

use super::chart::{Chart, Series};
use crate::domain::MailLanguage;
use crate::store::web_stats::{WEEK, WeekCounts};
use crate::web::page::PAGES;
use crate::web::{Admin, Page, WebError, WebState};

/// Weeks the chart shows, this one last.
const WEEKS: usize = 12;

pub fn routes() -> Router<WebState> {
    Router::new().route("/admin", get(overview))
}

async fn overview(State(state): State<WebState>, admin: Admin) -> Result<Page, WebError> {
    let tz = TimeZone::get(&state.circle.timezone).unwrap_or(TimeZone::UTC);
    let this_week = week_start(state.now(), &tz);
    let first = this_week - WEEK * (WEEKS as i64 - 1);
    let (numbers, weeks) = tokio::try_join!(
        state.store.overview(this_week),
        state.store.weekly_counts(first, WEEKS)
    )?;
    // Requests waiting for an admin's approval (moderation): the first thing to do.
    let held = super::requests::open_holds(&state.store).await?.len();
    let lang = admin.lang;
    let labels: Vec<String> = (0..WEEKS)
        .map(|i| short_date(first + WEEK * i as i64, &tz, lang))
        .collect();
    let chart = chart(&weeks, &labels, lang);
    let rows: Vec<_> = weeks
        .iter()
        .zip(&labels)
        .map(|(w, label)| context! { label, requests => w.requests, introductions => w.introductions, unmatched => w.unmatched })
        .collect();
    let since = short_date(this_week, &tz, lang);
    Ok(admin.page(
        &state,
        "admin/overview.html",
        "overview",
        "overview_title",
        context! { n => numbers_context(&numbers), chart, rows, since, held },
    ))
}

fn numbers_context(o: &crate::store::web_stats::Overview) -> minijinja::Value {
    context! {
        requests => o.requests, forwards => o.forwards, introductions => o.introductions,
        unmatched => o.unmatched, members_active => o.members_active,
        members_paused => o.members_paused, mail_queued => o.mail_queued,
        mail_failed => o.mail_failed, mail_held => o.mail_held,
    }
}

fn chart(weeks: &[WeekCounts], labels: &[String], lang: MailLanguage) -> String {
    let word = |k: &str| PAGES.word(lang, k);
    let series = [
        (
            "s-requests",
            "ov_requests",
            weeks.iter().map(|w| w.requests).collect::<Vec<_>>(),
        ),
        (
            "s-intros",
            "ov_introductions",
            weeks.iter().map(|w| w.introductions).collect(),
        ),
        (
            "s-unmatched",
            "ov_unmatched",
            weeks.iter().map(|w| w.unmatched).collect(),
        ),
    ];
    Chart {
        title: word("ov_chart_title"),
        description: word("ov_chart_desc"),
        x_axis: word("ov_axis_week"),
        y_axis: word("ov_axis_count"),
        labels: labels.to_vec(),
        series: series
            .into_iter()
            .map(|(class, key, values)| Series {
                class,
                name: word(key),
                values,
            })
            .collect(),
    }
    .svg()
}

/// Monday 00:00 of the week `now` falls in, in the circle's zone.
pub fn week_start(now: i64, tz: &TimeZone) -> i64 {
    let Ok(ts) = Timestamp::from_second(now) else {
        return now - now.rem_euclid(WEEK);
    };
    let date = ts.to_zoned_datetime(tz.clone()).date();
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(back.days())
        .and_then(|d| d.to_zoned_datetime(tz.clone()))
        .map(|z| z.timestamp().as_second())
        .unwrap_or(now - now.rem_euclid(WEEK))
}

/// "1 Dec" or 「12/1」.
pub fn short_date(at: i64, tz: &TimeZone, lang: MailLanguage) -> String {
    let Ok(ts) = Timestamp::from_second(at) else {
        return String::new();
    };
    let z = ts.to_zoned_datetime(tz.clone());
    match lang {
        MailLanguage::Ja => format!("{}/{}", z.month(), z.day()),
        MailLanguage::En => format!("{} {}", z.day(), z.strftime("%b")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_in_the_circles_zone() {
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        // Wed 2 Dec 2026 01:00 UTC = 10:00 in Tokyo; Monday 30 Nov 00:00 JST.
        let now = 1_796_173_200;
        let start = week_start(now, &tz);
        assert_eq!(short_date(start, &tz, MailLanguage::En), "30 Nov");
        assert_eq!(short_date(start, &tz, MailLanguage::Ja), "11/30");
        assert_eq!(start, 1_795_964_400);
        assert_eq!(
            week_start(start, &tz),
            start,
            "Monday midnight is its own week"
        );
    }
}
