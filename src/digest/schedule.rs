//! When the weekly digest is due: `[digest] weekday` and `time` in the
//! circle's time zone. Civil-time arithmetic (jiff with the bundled tz
//! database) keeps 08:00 at 08:00 across daylight-saving changes.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    #[error("{0:?} is not a weekday (mon … sun)")]
    Weekday(String),
    #[error("{0:?} is not a time of day (HH:MM)")]
    Time(String),
    #[error("time arithmetic: {0}")]
    Arithmetic(#[from] jiff::Error),
}

#[derive(Debug, Clone)]
pub struct Schedule {
    weekday: Weekday,
    time: Time,
    tz: TimeZone,
}

/// One week's digest: its label and the period it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestWeek {
    /// ISO week of the due date, e.g. `2026-W48`: the once-per-week key.
    pub label: String,
    /// When this digest was due (the end of the period it reports).
    pub due: i64,
    pub from: i64,
    /// `2026-11-16 – 2026-11-23`, in the circle's zone.
    pub period: String,
}

impl Schedule {
    pub fn new(weekday: &str, time: &str, timezone: &str) -> Result<Self, ScheduleError> {
        let weekday = match weekday.trim().to_ascii_lowercase().as_str() {
            "mon" => Weekday::Monday,
            "tue" => Weekday::Tuesday,
            "wed" => Weekday::Wednesday,
            "thu" => Weekday::Thursday,
            "fri" => Weekday::Friday,
            "sat" => Weekday::Saturday,
            "sun" => Weekday::Sunday,
            _ => return Err(ScheduleError::Weekday(weekday.into())),
        };
        let time = Time::strptime("%H:%M", time).map_err(|_| ScheduleError::Time(time.into()))?;
        let tz = TimeZone::get(timezone).map_err(|_| ScheduleError::TimeZone(timezone.into()))?;
        Ok(Self { weekday, time, tz })
    }

    fn at(&self, date: Date) -> Result<ZonedDateTime, ScheduleError> {
        // A time that a DST change skips resolves to the later instant.
        Ok(DateTime::from_parts(date, self.time).to_zoned_datetime(self.tz.clone())?)
    }

    /// The most recent due time at or before `now`: the week a digest is owed for.
    pub fn latest_due(&self, now: i64) -> Result<DigestWeek, ScheduleError> {
        let now_z = Timestamp::from_second(now)?.to_zoned_datetime(self.tz.clone());
        let today = now_z.date();
        let back = (today.weekday().to_monday_zero_offset() - self.weekday.to_monday_zero_offset())
            .rem_euclid(7);
        let mut date = today.checked_sub(i64::from(back).days())?;
        if self.at(date)?.timestamp().as_second() > now {
            date = date.checked_sub(7.days())?;
        }
        self.week_ending(date)
    }

    /// The week that ends at `now` for a digest sent by hand.
    pub fn ending_now(&self, now: i64) -> Result<DigestWeek, ScheduleError> {
        let now_z = Timestamp::from_second(now)?.to_zoned_datetime(self.tz.clone());
        let start = now_z.date().checked_sub(7.days())?;
        let iso = now_z.date().iso_week_date();
        Ok(DigestWeek {
            label: format!("{}-W{:02}", iso.year(), iso.week()),
            // Up to and including this second.
            due: now + 1,
            from: self
                .at(start)?
                .timestamp()
                .as_second()
                .min(now - 7 * 86_400),
            period: format!("{start} – {}", now_z.date()),
        })
    }

    fn week_ending(&self, date: Date) -> Result<DigestWeek, ScheduleError> {
        let start = date.checked_sub(7.days())?;
        let iso = date.iso_week_date();
        Ok(DigestWeek {
            label: format!("{}-W{:02}", iso.year(), iso.week()),
            due: self.at(date)?.timestamp().as_second(),
            from: self.at(start)?.timestamp().as_second(),
            period: format!("{start} – {date}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_second()
    }

    #[test]
    fn tokyo_monday_eight() {
        let s = Schedule::new("mon", "08:00", "Asia/Tokyo").unwrap();
        // Monday 2026-11-23 07:59 JST is before the due time: last week's.
        let w = s.latest_due(ts("2026-11-22T22:59:00Z")).unwrap();
        assert_eq!(w.label, "2026-W47");
        let w = s.latest_due(ts("2026-11-22T23:00:00Z")).unwrap();
        assert_eq!(w.label, "2026-W48");
        assert_eq!(w.due, ts("2026-11-22T23:00:00Z"));
        assert_eq!(w.due - w.from, 7 * 86_400);
    }

    #[test]
    fn new_york_across_the_dst_change() {
        let s = Schedule::new("mon", "08:00", "America/New_York").unwrap();
        // DST ended on Sunday 2026-11-01: 08:00 EST is 13:00 UTC, the week before 12:00 UTC.
        let w = s.latest_due(ts("2026-11-02T13:30:00Z")).unwrap();
        assert_eq!(w.due, ts("2026-11-02T13:00:00Z"));
        assert_eq!(w.from, ts("2026-10-26T12:00:00Z"));
        assert_eq!(w.due - w.from, 7 * 86_400 + 3600, "a 169-hour week");
    }
}
