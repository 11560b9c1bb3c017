//! The list commands' plain-text tables: fixed-width columns whose widths are
//! stated once, for the header and every row alike, and a last column that
//! takes the rest of the line.

use std::fmt::Display;
use std::io::Write;

pub struct Table {
    /// The widths of every column but the last.
    widths: &'static [usize],
}

impl Table {
    pub const fn new(widths: &'static [usize]) -> Self {
        Self { widths }
    }

    /// Writes the column names.
    pub fn header(&self, out: &mut impl Write, names: &[&str]) -> std::io::Result<()> {
        let cells: Vec<&dyn Display> = names.iter().map(|n| n as &dyn Display).collect();
        self.row(out, &cells)
    }

    /// Writes one line: each cell padded to its column's width (by
    /// characters, whatever its type's own formatting does) and a space.
    pub fn row(&self, out: &mut impl Write, cells: &[&dyn Display]) -> std::io::Result<()> {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let text = cell.to_string();
            match self.widths.get(i) {
                Some(&width) => line.push_str(&format!("{text:<width$} ")),
                None => line.push_str(&text),
            }
        }
        writeln!(out, "{line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_rows_share_the_widths() {
        let table = Table::new(&[3, 5]);
        let mut out = Vec::new();
        table.header(&mut out, &["ID", "NAME", "NOTE"]).unwrap();
        table
            .row(&mut out, &[&7, &"花子", &"last column is not padded"])
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ID  NAME  NOTE\n7   花子    last column is not padded\n"
        );
    }
}
