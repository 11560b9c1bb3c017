//! Shared by the matching tests: a member of a small made-up directory.

use circle_relay::domain::{EmailAddress, Language, Member, MemberStatus};

/// An active member named after their address's local part, with no region.
pub fn member(id: i64, email: &str, skills: &[&str], bio: &str, langs: &[&str]) -> Member {
    Member {
        id,
        email: EmailAddress::parse(email).expect("valid test address"),
        name: email.split('@').next().unwrap_or_default().to_string(),
        skills: skills.iter().map(|s| s.to_string()).collect(),
        bio: bio.to_string(),
        languages: langs
            .iter()
            .map(|l| Language::parse(l).expect("tag"))
            .collect(),
        region: String::new(),
        status: MemberStatus::Active,
        paused_until: None,
        timezone: None,
    }
}
