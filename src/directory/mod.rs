//! The member directory CSV (SPEC "Member directory CSV"): reading it in any
//! of the encodings Japanese spreadsheets save, all or nothing, and writing it back.

mod csv_file;

pub use csv_file::{CsvError, RowError, parse_members_csv, write_members_csv};
