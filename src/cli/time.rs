//! Times as the people of the circle read them: in the circle's time zone,
//! with the zone's abbreviation (`2026-12-02 06:17 JST`).

use jiff::tz::TimeZone;

use crate::config::Config;

#[derive(Debug, Clone)]
pub struct CircleTime {
    zone: TimeZone,
}

impl CircleTime {
    /// The zone of `[circle] timezone`.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let circle = config.circle()?;
        Ok(Self {
            zone: TimeZone::get(&circle.timezone)?,
        })
    }

    /// UNIX seconds → `YYYY-MM-DD HH:MM ZONE`.
    pub fn show(&self, unix: i64) -> String {
        jiff::Timestamp::from_second(unix)
            .map(|t| {
                t.to_zoned_datetime(self.zone.clone())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_circle_zone() {
        let tokyo = CircleTime {
            zone: TimeZone::get("Asia/Tokyo").unwrap(),
        };
        // 2026-12-01 21:17 UTC
        assert_eq!(tokyo.show(1_796_159_820), "2026-12-02 06:17 JST");
        let utc = CircleTime {
            zone: TimeZone::UTC,
        };
        assert_eq!(utc.show(1_796_159_820), "2026-12-01 21:17 UTC");
    }
}
