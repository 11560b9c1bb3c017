//! The directory's validation problems in the page's language (the command
//! line keeps their English `Display`); words in templates/web/text/problems.toml.

use crate::directory::{CsvError, HEADER, Problem};
use crate::domain::{EmailError, MailLanguage};
use crate::web::page::PAGES;

/// What is wrong, as a sentence for the admin.
pub fn problem(p: &Problem, lang: MailLanguage) -> String {
    let (key, value) = match p {
        Problem::Email(e) => email(e),
        Problem::EmailTaken { email, .. } => ("problem_email_taken", email.as_str()),
        Problem::Language { tag, .. } => ("problem_language", tag.as_str()),
        Problem::Status { word, .. } => ("problem_status", word.as_str()),
        Problem::Date { value, .. } => ("problem_date", value.as_str()),
        Problem::PauseNeedsPaused => ("problem_pause_needs_paused", ""),
        Problem::Timezone { name, .. } => ("problem_timezone", name.as_str()),
        Problem::Columns {
            expected,
            names,
            found,
        } => {
            return PAGES
                .word(lang, "problem_columns")
                .replace("{found}", &found.to_string())
                .replace("{expected}", &expected.to_string())
                .replace("{names}", names);
        }
        Problem::Duplicate { email, first } => {
            return PAGES
                .word(lang, "problem_duplicate")
                .replace("{value}", email)
                .replace("{first}", &first.to_string());
        }
        Problem::Unreadable(_) => ("problem_unreadable", ""),
    };
    PAGES.word(lang, key).replace("{value}", value)
}

fn email(e: &EmailError) -> (&'static str, &str) {
    match e {
        EmailError::Empty => ("problem_email_empty", ""),
        EmailError::NoAt(v) => ("problem_email_no_at", v),
        EmailError::BadCharacter(v) => ("problem_email_bad_character", v),
        EmailError::BadDomain(v) => ("problem_email_bad_domain", v),
        EmailError::TooLong(v) => ("problem_email_too_long", v),
    }
}

/// Why a whole file cannot be read (its rows are worded by [`problem`]).
pub fn file_problem(e: &CsvError, lang: MailLanguage) -> String {
    let header = HEADER.join(",");
    let key = match e {
        CsvError::Encoding => "problem_csv_encoding",
        CsvError::Empty => "problem_csv_empty",
        CsvError::Header { .. } => "problem_csv_header",
        // Bad rows are listed one by one; this is only their count.
        CsvError::Rows(_) => return e.to_string(),
    };
    let found = match e {
        CsvError::Header { found } => found.as_str(),
        _ => "",
    };
    PAGES
        .word(lang, key)
        .replace("{header}", &header)
        .replace("{found}", found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{ProfileInput, parse_members_csv};

    #[test]
    fn form_problems_read_in_japanese_and_name_what_was_typed() {
        let bad = ProfileInput {
            email: "hanako at example".into(),
            languages: "ja;日本語".into(),
            paused_until: "30/04/2026".into(),
            status: "paused".into(),
            timezone: "Tokyo".into(),
            ..ProfileInput::default()
        };
        let words: Vec<String> = bad
            .to_member()
            .unwrap_err()
            .iter()
            .map(|e| problem(&e.problem, MailLanguage::Ja))
            .collect();
        assert_eq!(words.len(), 4, "{words:?}");
        assert!(words[0].contains("「hanako at example」"), "{}", words[0]);
        assert!(words[1].starts_with("「日本語」は言語コードではありません"));
        assert!(words[2].contains("「30/04/2026」"));
        assert!(words[3].starts_with("「Tokyo」はタイムゾーン名ではありません"));
        assert!(words.iter().all(|w| !w.contains('{')), "{words:?}");
    }

    #[test]
    fn csv_row_problems_read_in_japanese() {
        let csv = "email,name,skills,bio,languages,region,status\n\
            not-an-address,Bad,nurse,,en,,\n\
            a@example.org,A,nurse,,en,,\n\
            a@example.org,A,nurse,,en,,\n\
            c@example.org,C,nurse,,en,,retired\n\
            b@example.org,B\n";
        let Err(CsvError::Rows(rows)) = parse_members_csv(csv.as_bytes()) else {
            panic!("bad rows expected");
        };
        let words: Vec<(u64, String)> = rows
            .iter()
            .map(|r| (r.line, problem(&r.problem, MailLanguage::Ja)))
            .collect();
        assert_eq!(words[0].0, 2);
        assert!(
            words[0]
                .1
                .starts_with("送信できるメールアドレスではありません")
        );
        assert!(words[1].1.contains("3行目と同じアドレス"), "{}", words[1].1);
        assert!(words[2].1.starts_with("「retired」は状態として使えません"));
        assert!(
            words[3]
                .1
                .starts_with("この行の列は2個ですが、見出しの列は7個")
        );
        // The command line's English is unchanged.
        assert_eq!(
            rows[2].to_string(),
            "line 5: status: unknown status \"retired\" (expected active, paused or left)"
        );
        let header = parse_members_csv(b"mail,name\n").unwrap_err();
        assert!(file_problem(&header, MailLanguage::Ja).ends_with("今の1行目：mail,name"));
    }
}
