//! Times as a person reads them: 「12月4日（金）18時まで」, "by Fri 4 Dec,
//! 6 pm (Tokyo time)". Deadlines land on a full hour in the day, never at
//! 3 a.m.; the zone is named unless it is the reader's own.

use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;

/// Which clock a time is read on.
#[derive(Debug, Clone)]
pub struct ReaderZone {
    pub tz: TimeZone,
    /// The IANA name, e.g. `Asia/Tokyo`.
    pub name: String,
    /// True when the zone is the reader's own (from the directory), so it
    /// goes unnamed.
    pub own: bool,
}

impl ReaderZone {
    /// The member's zone when it is a known IANA name, else the circle's
    /// (then `own` is false and the zone is named).
    pub fn pick(member_zone: Option<&str>, circle_zone: &str) -> Self {
        if let Some(name) = member_zone.map(str::trim).filter(|n| !n.is_empty())
            && let Ok(tz) = TimeZone::get(name)
        {
            return Self {
                tz,
                name: name.to_string(),
                own: true,
            };
        }
        let tz = TimeZone::get(circle_zone).unwrap_or(TimeZone::UTC);
        Self {
            tz,
            name: circle_zone.to_string(),
            own: false,
        }
    }
}

/// Working hours a deadline may fall in: from 08:00 to 20:00.
const DAY_START: i8 = 8;
const DAY_END: i8 = 20;
/// Where a deadline that fell in the night moves: the evening before, or,
/// when that would take more than half the time away, the next morning.
const EVENING: i8 = 18;
const MORNING: i8 = 9;

/// `due` (UNIX seconds) moved to a sensible hour in `zone`: up to the full
/// hour, and out of the night.
pub fn sensible_deadline(due: i64, now: i64, zone: &ReaderZone) -> i64 {
    let up = due + (3600 - due.rem_euclid(3600)) % 3600;
    let Ok(ts) = Timestamp::from_second(up) else {
        return due;
    };
    let hour = ts.to_zoned_datetime(zone.tz.clone()).hour();
    if (DAY_START..=DAY_END).contains(&hour) {
        return up;
    }
    // Hours back to the evening before (same day after 20:00).
    let back = if hour > DAY_END {
        hour - EVENING
    } else {
        hour + 24 - EVENING
    };
    let earlier = up - i64::from(back) * 3600;
    if earlier - now >= (due - now) / 2 {
        return earlier;
    }
    let forward = if hour < DAY_START {
        MORNING - hour
    } else {
        24 - hour + MORNING
    };
    up + i64::from(forward) * 3600
}

/// "by …" / 「…まで」 for a deadline, already made sensible by the caller.
pub fn deadline(at: i64, zone: &ReaderZone, japanese: bool) -> String {
    let Ok(ts) = Timestamp::from_second(at) else {
        return String::new();
    };
    let z = ts.to_zoned_datetime(zone.tz.clone());
    let (month, day, hour, minute) = (z.month(), z.day(), z.hour(), z.minute());
    if japanese {
        let wd = weekday_ja(z.weekday());
        let time = match minute {
            0 => format!("{hour}時"),
            m => format!("{hour}時{m}分"),
        };
        let zone_note = if zone.own || zone.name == "Asia/Tokyo" {
            String::new()
        } else {
            format!("（{}）", zone_name_ja(&zone.name))
        };
        format!("{month}月{day}日（{wd}）{time}まで{zone_note}")
    } else {
        let time = english_hour(hour, minute);
        let zone_note = if zone.own {
            String::new()
        } else {
            format!(" ({})", zone_name_en(&zone.name))
        };
        format!(
            "by {} {day} {}, {time}{zone_note}",
            weekday_en(z.weekday()),
            MONTHS_EN[usize::from(month.unsigned_abs()).saturating_sub(1) % 12]
        )
    }
}

/// A date alone, as in a digest's period: 「12月4日（金）」, "Fri 4 Dec".
pub fn date(at: i64, zone: &ReaderZone, japanese: bool) -> String {
    let Ok(ts) = Timestamp::from_second(at) else {
        return String::new();
    };
    civil_date(ts.to_zoned_datetime(zone.tz.clone()).date(), japanese)
}

/// A calendar day (no zone): 「12月24日（木）」, "Thu 24 Dec".
pub fn civil_date(d: jiff::civil::Date, japanese: bool) -> String {
    if japanese {
        format!(
            "{}月{}日（{}）",
            d.month(),
            d.day(),
            weekday_ja(d.weekday())
        )
    } else {
        format!(
            "{} {} {}",
            weekday_en(d.weekday()),
            d.day(),
            MONTHS_EN[usize::from(d.month().unsigned_abs()).saturating_sub(1) % 12]
        )
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn english_hour(hour: i8, minute: i8) -> String {
    let (h12, half) = match hour {
        0 => (12, "am"),
        1..=11 => (hour, "am"),
        12 => (12, "pm"),
        _ => (hour - 12, "pm"),
    };
    match (hour, minute) {
        (12, 0) => "noon".to_string(),
        (_, 0) => format!("{h12} {half}"),
        (_, m) => format!("{h12}:{m:02} {half}"),
    }
}

fn weekday_ja(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "月",
        Weekday::Tuesday => "火",
        Weekday::Wednesday => "水",
        Weekday::Thursday => "木",
        Weekday::Friday => "金",
        Weekday::Saturday => "土",
        Weekday::Sunday => "日",
    }
}

fn weekday_en(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

/// "Tokyo time" from `Asia/Tokyo`; UTC stays UTC.
pub fn zone_name_en(iana: &str) -> String {
    match iana {
        "UTC" | "Etc/UTC" | "" => "UTC".to_string(),
        _ => {
            let city = iana.rsplit('/').next().unwrap_or(iana).replace('_', " ");
            format!("{city} time")
        }
    }
}

pub fn zone_name_ja(iana: &str) -> String {
    let known = [
        ("Asia/Tokyo", "日本時間"),
        ("UTC", "協定世界時"),
        ("Etc/UTC", "協定世界時"),
        ("Europe/London", "ロンドン時間"),
        ("Europe/Paris", "パリ時間"),
        ("Europe/Berlin", "ベルリン時間"),
        ("America/New_York", "ニューヨーク時間"),
        ("America/Los_Angeles", "ロサンゼルス時間"),
        ("Asia/Seoul", "ソウル時間"),
        ("Asia/Shanghai", "中国時間"),
        ("Asia/Singapore", "シンガポール時間"),
        ("Australia/Sydney", "シドニー時間"),
    ];
    match known.iter().find(|(k, _)| *k == iana) {
        Some((_, ja)) => ja.to_string(),
        None => format!("{} 時間", zone_name_en(iana).trim_end_matches(" time")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_second()
    }

    #[test]
    fn a_night_deadline_moves_to_the_evening_before() {
        let tokyo = ReaderZone::pick(None, "Asia/Tokyo");
        // 2026-12-04 03:21 JST, asked 48 hours before.
        let due = at("2026-12-03T18:21:00Z");
        let d = sensible_deadline(due, due - 48 * 3600, &tokyo);
        assert_eq!(deadline(d, &tokyo, true), "12月3日（木）18時まで");
        assert_eq!(
            deadline(d, &tokyo, false),
            "by Thu 3 Dec, 6 pm (Tokyo time)"
        );
    }

    #[test]
    fn a_day_deadline_goes_up_to_the_hour_and_short_windows_move_forward() {
        let tokyo = ReaderZone::pick(None, "Asia/Tokyo");
        let due = at("2026-12-04T08:05:00Z"); // 17:05 JST
        assert_eq!(
            deadline(sensible_deadline(due, due - 3600, &tokyo), &tokyo, true),
            "12月4日（金）18時まで"
        );
        // Two hours' notice at 01:00: the evening before is gone; next morning.
        let due = at("2026-12-03T16:00:00Z"); // 01:00 JST
        let d = sensible_deadline(due, due - 2 * 3600, &tokyo);
        assert_eq!(
            deadline(d, &tokyo, false),
            "by Fri 4 Dec, 9 am (Tokyo time)"
        );
    }

    #[test]
    fn the_members_own_zone_goes_unnamed() {
        let london = ReaderZone::pick(Some("Europe/London"), "Asia/Tokyo");
        assert!(london.own);
        let due = at("2026-12-04T09:00:00Z");
        assert_eq!(deadline(due, &london, false), "by Fri 4 Dec, 9 am");
        assert_eq!(deadline(due, &london, true), "12月4日（金）9時まで");
        let bad = ReaderZone::pick(Some("Mars/Olympus"), "Asia/Tokyo");
        assert!(!bad.own, "an unknown zone falls back to the circle's");
        let circle_london = ReaderZone::pick(None, "Europe/London");
        assert_eq!(
            deadline(at("2026-12-04T12:00:00Z"), &circle_london, true),
            "12月4日（金）12時まで（ロンドン時間）"
        );
        assert_eq!(
            deadline(at("2026-12-04T12:00:00Z"), &circle_london, false),
            "by Fri 4 Dec, noon (London time)"
        );
    }
}
