use std::collections::HashMap;
use std::fmt;

use super::Problem;
use crate::domain::{EmailAddress, Language, Member, split_list};

pub const HEADER: [&str; 7] = [
    "email",
    "name",
    "skills",
    "bio",
    "languages",
    "region",
    "status",
];

/// Optional columns after [`HEADER`], in this order (SPEC allows them).
pub const OPTIONAL: [&str; 1] = ["timezone"];

/// One bad row, with the line it starts on (1 = the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub problem: Problem,
}

impl RowError {
    /// What is wrong, as the command line says it ("email: …").
    pub fn message(&self) -> String {
        match self.problem.field() {
            Some(field) => format!("{}: {}", field.as_str(), self.problem),
            None => self.problem.to_string(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("the file is neither UTF-8 nor Shift_JIS/CP932 text")]
    Encoding,
    #[error("the file is empty: expected a header row {}", HEADER.join(","))]
    Empty,
    #[error("line 1: the header must be {} (optionally followed by ,{}) (found {found})", HEADER.join(","), OPTIONAL.join(","))]
    Header { found: String },
    #[error("{} bad row(s), nothing was imported:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
}

/// Decodes UTF-8 (with or without BOM) or, failing that, Shift_JIS/CP932
/// (what Japanese Excel saves); anything else is refused rather than guessed.
pub fn decode_csv(bytes: &[u8]) -> Result<String, CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    // encoding_rs's Shift_JIS is the WHATWG one, i.e. Windows-31J (CP932).
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(CsvError::Encoding);
    }
    Ok(text.into_owned())
}

/// Parses a whole directory file. Every bad row is reported; none is skipped.
pub fn parse_members_csv(bytes: &[u8]) -> Result<Vec<Member>, CsvError> {
    let text = decode_csv(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let columns = header_columns(records.next())?;
    let lines = LineIndex::new(&text);
    let mut rows = Rows::default();
    for record in records {
        match record {
            Ok(record) => {
                let line = lines.line_at(record.position());
                rows.add(&record, line, columns);
            }
            Err(e) => rows.errors.push(RowError {
                line: lines.line_at(e.position()),
                problem: Problem::Unreadable(e.to_string()),
            }),
        }
    }
    rows.finish()
}

/// Checks the header row; returns how many columns each row must have.
fn header_columns(
    header: Option<Result<csv::StringRecord, csv::Error>>,
) -> Result<usize, CsvError> {
    let header = match header {
        None => return Err(CsvError::Empty),
        Some(Err(e)) => {
            return Err(CsvError::Header {
                found: e.to_string(),
            });
        }
        Some(Ok(h)) => h,
    };
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let known = HEADER.iter().chain(OPTIONAL.iter());
    if !(HEADER.len()..=HEADER.len() + OPTIONAL.len()).contains(&names.len())
        || names.iter().zip(known).any(|(n, k)| n != k)
    {
        return Err(CsvError::Header {
            found: header.iter().collect::<Vec<_>>().join(","),
        });
    }
    Ok(names.len())
}

/// The members read so far and every bad row, with the line each address
/// was first seen on (an address twice is an error, not a silent update).
#[derive(Default)]
struct Rows {
    members: Vec<Member>,
    errors: Vec<RowError>,
    seen: HashMap<String, u64>,
}

impl Rows {
    fn add(&mut self, record: &csv::StringRecord, line: u64, columns: usize) {
        if record.iter().all(|f| f.trim().is_empty()) {
            return; // blank lines at the end of spreadsheet exports
        }
        match parse_row(record, columns) {
            Ok(member) => {
                if let Some(first) = self.seen.insert(member.email.key().to_string(), line) {
                    self.errors.push(RowError {
                        line,
                        problem: Problem::Duplicate {
                            email: member.email.to_string(),
                            first,
                        },
                    });
                } else {
                    self.members.push(member);
                }
            }
            Err(problem) => self.errors.push(RowError { line, problem }),
        }
    }

    /// All the members, or every error: the import is all or nothing.
    fn finish(self) -> Result<Vec<Member>, CsvError> {
        if self.errors.is_empty() {
            Ok(self.members)
        } else {
            Err(CsvError::Rows(self.errors))
        }
    }
}

/// Line numbers as an editor shows them, whatever ends the lines: the csv
/// crate counts only `\n`, so a file Excel saved (CRLF) or an old Mac one (CR)
/// would report every row a line early, or all on line 1.
struct LineIndex {
    /// Byte offsets where a line begins (after `\n` or `\r`; for `\r\n`, at the `\n`).
    starts: Vec<u64>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, b) in bytes.iter().enumerate() {
            // A CRLF's line begins at its `\n`: the reader may start the next
            // record there or one byte later, and both belong to that line.
            let after_cr = i > 0 && bytes[i - 1] == b'\r';
            if *b == b'\r' || (*b == b'\n' && !after_cr) {
                starts.push(i as u64 + 1);
            }
        }
        Self { starts }
    }

    /// The line of a record (or error) at `position`; 0 where the reader knows none.
    fn line_at(&self, position: Option<&csv::Position>) -> u64 {
        position.map_or(0, |p| self.line_of(p.byte()))
    }

    /// The 1-based line of a record starting at `byte`.
    fn line_of(&self, byte: u64) -> u64 {
        let at = match self.starts.binary_search(&byte) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        at as u64
    }
}

fn parse_row(record: &csv::StringRecord, columns: usize) -> Result<Member, Problem> {
    if record.len() != columns {
        let names: Vec<&str> = HEADER.iter().chain(OPTIONAL.iter()).copied().collect();
        return Err(Problem::Columns {
            expected: columns,
            names: names[..columns].join(","),
            found: record.len(),
        });
    }
    let field = |i: usize| record.get(i).unwrap_or("").trim();
    let email = EmailAddress::parse(field(0)).map_err(Problem::Email)?;
    let status = super::status(field(6))?;
    let languages = super::languages(field(4))?;
    let timezone = match field(7) {
        "" => None,
        tz => Some(super::timezone(tz)?),
    };
    Ok(Member {
        id: 0,
        email,
        name: field(1).to_string(),
        skills: split_list(field(2)),
        bio: field(3).to_string(),
        languages,
        region: field(5).to_string(),
        status,
        paused_until: None,
        timezone,
    })
}

/// Writes members as UTF-8 CSV with the header and the optional columns
/// (empty where the member has none), lists joined by `;`.
pub fn write_members_csv<W: std::io::Write>(out: W, members: &[Member]) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER.iter().chain(OPTIONAL.iter()))?;
    for m in members {
        let languages: Vec<&str> = m.languages.iter().map(Language::as_str).collect();
        w.write_record([
            m.email.as_str(),
            &m.name,
            &m.skills.join(";"),
            &m.bio,
            &languages.join(";"),
            &m.region,
            m.status.as_str(),
            m.timezone_name().unwrap_or(""),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MemberStatus;

    const GOOD: &str = "email,name,skills,bio,languages,region,status\n\
        a@example.org,山田 花子,看護師；助産師、保健指導,\"助産師です, よろしく\",ja;en,東京,\n\
        taro..yamada@docomo.ne.jp,Taro,nurse,,ja,,paused\n";

    #[test]
    fn reads_utf8_bom_and_shift_jis_identically() {
        let plain = parse_members_csv(GOOD.as_bytes()).unwrap();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(GOOD.as_bytes());
        let (sjis, _, bad) = encoding_rs::SHIFT_JIS.encode(GOOD);
        assert!(!bad);
        assert_eq!(parse_members_csv(&bom).unwrap(), plain);
        assert_eq!(parse_members_csv(&sjis).unwrap(), plain);
        assert_eq!(plain[0].skills, vec!["看護師", "助産師", "保健指導"]);
        assert_eq!(plain[0].status, MemberStatus::Active);
        assert_eq!(plain[1].status, MemberStatus::Paused);
    }

    #[test]
    fn reports_every_bad_row_with_its_line() {
        let csv = "email,name,skills,bio,languages,region,status\n\
            ok@example.org,A,x,,ja,,\n\
            not-an-address,B,x,,ja,,\n\
            c@example.org,C,x,,ja,,retired\n\
            OK@example.org,D,x,,ja,,\n\
            e@example.org,E,x\n";
        let Err(CsvError::Rows(errors)) = parse_members_csv(csv.as_bytes()) else {
            panic!("expected row errors");
        };
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6], "{errors:?}");
        assert!(errors[2].message().contains("first on line 2"));
    }

    #[test]
    fn an_optional_timezone_column_is_read_checked_and_written() {
        let csv = "email,name,skills,bio,languages,region,status,timezone\n\
            a@example.org,Ann,nurse,,en,,,europe/london\n\
            b@example.org,Bo,nurse,,ja,,,\n\
            c@example.org,Cy,nurse,,en,,,London\n";
        let Err(CsvError::Rows(errors)) = parse_members_csv(csv.as_bytes()) else {
            panic!("expected a row error");
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 4);
        assert!(
            errors[0]
                .message()
                .starts_with("timezone: unknown time zone \"London\"")
                && errors[0].message().contains("Europe/London"),
            "{}",
            errors[0]
        );
        let good = csv.lines().take(3).collect::<Vec<_>>().join("\n");
        let members = parse_members_csv(good.as_bytes()).unwrap();
        assert_eq!(members[0].timezone_name(), Some("Europe/London"));
        assert_eq!(members[1].timezone, None);
        let mut out = Vec::new();
        write_members_csv(&mut out, &members).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("email,name,skills,bio,languages,region,status,timezone\n"));
        assert!(text.contains(",active,Europe/London\n"), "{text}");
        assert_eq!(parse_members_csv(&out).unwrap(), members);
        // A row of a file with the column must have it too.
        let short =
            "email,name,skills,bio,languages,region,status,timezone\nd@example.org,D,x,,en,,\n";
        let Err(CsvError::Rows(errors)) = parse_members_csv(short.as_bytes()) else {
            panic!("expected a row error");
        };
        assert!(
            errors[0].message().contains("expected 8 columns"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn refuses_wrong_header_and_undecodable_bytes() {
        assert!(matches!(
            parse_members_csv(b"mail,name\nx,y\n"),
            Err(CsvError::Header { .. })
        ));
        assert!(matches!(parse_members_csv(b""), Err(CsvError::Empty)));
        assert!(matches!(
            parse_members_csv(b"\xff\xfe\x00\x81\x00"),
            Err(CsvError::Encoding)
        ));
    }

    #[test]
    fn export_round_trips() {
        let members = parse_members_csv(GOOD.as_bytes()).unwrap();
        let mut out = Vec::new();
        write_members_csv(&mut out, &members).unwrap();
        assert_eq!(parse_members_csv(&out).unwrap(), members);
    }
}

#[cfg(test)]
mod line_end_tests {
    use super::*;

    #[test]
    fn bad_rows_have_the_same_line_numbers_for_lf_crlf_and_cr() {
        let lf = "email,name,skills,bio,languages,region,status\n\
            ok@example.org,A,x,,ja,,\n\
            not-an-address,B,x,,ja,,\n\
            c@example.org,C,x,\"two\nlines\",ja,,\n\
            d@example.org,D,x,,ja,,retired\n";
        for (name, text) in [
            ("LF", lf.to_string()),
            ("CRLF", lf.replace('\n', "\r\n")),
            ("CR", lf.replace('\n', "\r")),
        ] {
            let Err(CsvError::Rows(errors)) = parse_members_csv(text.as_bytes()) else {
                panic!("{name}: expected row errors");
            };
            let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
            assert_eq!(lines, vec![3, 6], "{name}: {errors:?}");
        }
    }
}
