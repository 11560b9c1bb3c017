//! The member directory CSV (SPEC "Member directory CSV"): reading it in any
//! of the encodings Japanese spreadsheets save, all or nothing, and writing it back.

mod csv_file;
mod problem;
mod profile;

pub use csv_file::{CsvError, HEADER, RowError, decode_csv, parse_members_csv, write_members_csv};
pub use problem::Problem;
pub use profile::{
    Field, FieldError, ProfileInput, changed_fields, languages, parse_date, parse_languages,
    status, timezone,
};
