//! Time-driven flows in a real daemon process on the real mail stack, with
//! the daemon's clock moved by the test (`CIRCLE_RELAY_CLOCK_OFFSET_FILE`):
//! a wave nobody answers times out and the next member is asked; when the
//! last wave times out too, the requester and the admins are told.

#[path = "inbox_support/mod.rs"]
mod support;

use std::time::Duration;

use support::{
    DaemonProcess, import_members, inbox_mails, member_status, submit_raw, until_delivered,
    until_inbox, until_processed, write_config,
};

/// The circle's address: the envelope sender of all it sends.
const RELAY: &str = "relay2@circle.test";

const HOUR: i64 = 3600;

/// A member who is not a fit, paused until tomorrow.
const PAUSED_USER: &str = "clockpause";
const PAUSED: &str = "clockpause@circle.test";

/// The circle's zone for this test: one where it is about 10:00 now. A
/// deadline that falls in the night is moved to the evening before or the
/// next morning (domain::human_time), so in Tokyo a run at some hours of the
/// day would see the first wave end hours before 48 h; here every deadline
/// the test reaches (48 h after 0 h and after 49 h) falls in the day.
fn circle_zone() -> String {
    let utc_hour = i32::from(
        jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .hour(),
    );
    // Local = UTC + offset, offset in -12..=11; Etc/GMT signs are inverted.
    let offset = (10 - utc_hour + 12).rem_euclid(24) - 12;
    match offset {
        0 => "Etc/GMT".into(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

/// Today on the circle's calendar.
fn circle_today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get(&circle_zone()).unwrap())
        .date()
}

/// A digest weekday five days ahead: the clock moves four days at most, so no
/// weekly digest falls inside this test.
fn digest_day_out_of_reach() -> &'static str {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let ahead = circle_today()
        .checked_add(jiff::Span::new().days(5))
        .unwrap();
    DAYS[ahead.weekday().to_monday_zero_offset() as usize]
}

#[tokio::test]
async fn unanswered_waves_time_out_to_the_next_member_then_to_nobody_available() {
    support::require_stack();
    for u in [
        "relay2",
        "nurse3",
        "nurse4",
        "asker2",
        "relayadmin",
        "clockpause",
    ] {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("clock-offset");
    std::fs::write(&clock, "0").unwrap();
    let config = write_config(
        dir.path(),
        "relay2",
        &format!("sqlite://{}", dir.path().join("relay.db").display()),
        &format!(
            "[security]\ntoken_secret = \"clock-test-secret-1234\"\n\
             [matching]\nshortlist = 1\n\
             [relay]\nwaves = 2\nanswer_within_hours = 48\n\
             [digest]\nweekday = \"{}\"\ntime = \"23:00\"\n",
            digest_day_out_of_reach()
        ),
    );
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "[circle]\n",
        &format!("[circle]\ntimezone = \"{}\"\n", circle_zone()),
        1,
    );
    std::fs::write(&config, text).unwrap();
    import_members(
        &config,
        "email,name,skills,bio,languages,region,status\n\
         nurse3@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse teaching first aid and CPR in Tokyo.,en,Tokyo,\n\
         nurse4@circle.test,木村 千恵,看護師,看護師です。,ja,東京,\n\
         clockpause@circle.test,Ken Ito,piano teacher,Piano lessons.,en,Tokyo,\n",
    );
    // A pause that ends tomorrow: once it has ended, the scheduler has run a
    // whole step (waves first, pauses last) on a clock a day or more ahead.
    let tomorrow = circle_today()
        .checked_add(jiff::Span::new().days(1))
        .unwrap();
    support::cli(
        &config,
        &["members", "pause", PAUSED, "--until", &tomorrow.to_string()],
    );
    let clock_env = clock.to_string_lossy().to_string();
    let _daemon =
        DaemonProcess::run_with_env(&config, &[("CIRCLE_RELAY_CLOCK_OFFSET_FILE", &clock_env)]);
    submit_raw(
        "asker2@circle.test",
        "relay2@circle.test",
        "From: Greg <asker2@circle.test>\nTo: relay2@circle.test\nSubject: First aid trainer\n\
         Message-ID: <clock-req@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
         We need a registered nurse to teach first aid and CPR to our staff in Tokyo.\n",
    )
    .await;
    let first = until_inbox("nurse3", 1, Duration::from_secs(30)).await;
    assert!(
        first[0].subject.contains("Can you help?"),
        "{}",
        first[0].subject
    );
    until_inbox("asker2", 1, Duration::from_secs(30)).await;
    // The request handled and all it caused delivered.
    until_processed(&config, "relay2", 1).await;
    assert!(
        inbox_mails("nurse4").is_empty(),
        "the first wave is one member"
    );

    // 47 hours on: still the first wave's time. The scheduler looks at once
    // (the moved clock wakes it); all it sent then is delivered.
    assert_eq!(member_status(&config, PAUSED).as_deref(), Some("paused"));
    std::fs::write(&clock, (47 * HOUR).to_string()).unwrap();
    support::wait_until(
        Duration::from_secs(20),
        "the scheduler ended the dated pause",
        || async { member_status(&config, PAUSED).as_deref() == Some("active") },
    )
    .await;
    until_delivered(&config, RELAY).await;
    assert!(
        inbox_mails("nurse4").is_empty(),
        "asked again before the wave timed out"
    );

    // 49 hours on: the wave timed out; the next member is asked.
    std::fs::write(&clock, (49 * HOUR).to_string()).unwrap();
    let second = until_inbox("nurse4", 1, Duration::from_secs(20)).await;
    assert!(
        second[0].subject.contains("First aid trainer"),
        "{}",
        second[0].subject
    );
    // All the timed-out wave caused is delivered.
    until_delivered(&config, RELAY).await;
    assert_eq!(
        inbox_mails("asker2").len(),
        1,
        "the requester hears nothing yet"
    );

    // 98 hours on: the last wave timed out too.
    std::fs::write(&clock, (98 * HOUR).to_string()).unwrap();
    let asker = until_inbox("asker2", 2, Duration::from_secs(20)).await;
    let told = asker
        .iter()
        .find(|m| m.subject.contains("About your request"))
        .expect("the requester is told nobody was available");
    assert!(!told.text.contains("nurse3@circle.test") && !told.text.contains("nurse4@circle.test"));
    until_inbox("relayadmin", 1, Duration::from_secs(20)).await;
    until_delivered(&config, RELAY).await;
    assert_eq!(
        inbox_mails("asker2").len(),
        2,
        "acknowledgement and nobody-available"
    );
    assert_eq!(inbox_mails("nurse3").len(), 1, "one forward, nothing else");
    assert_eq!(inbox_mails("nurse4").len(), 1, "one forward, nothing else");
    assert!(
        inbox_mails(PAUSED_USER).is_empty(),
        "not a fit: never asked"
    );
    assert_eq!(
        inbox_mails("relayadmin").len(),
        1,
        "the admins are told once"
    );
}
