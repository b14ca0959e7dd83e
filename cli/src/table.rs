//! `fleet scan --format table`: matching records as aligned columns for reading. The scan
//! writes normalised CSV (every field quoted as the `csv` crate reads it back) into this sink;
//! at the end it is parsed and drawn: column widths from the first rows, long fields cut with
//! an ellipsis, numbers aligned right. The rows are held until the end, so this format is for
//! reading results of a selective `--where` or a `--head`, not for millions of records.

use std::io::{self, Write};

/// Widths come from this many rows (later rows are cut or padded to them).
const SAMPLE_ROWS: usize = 1000;
/// The widest a column is drawn, in characters.
const MAX_WIDTH: usize = 40;

pub struct TableSink {
    names: Vec<String>,
    csv: Vec<u8>,
}

impl TableSink {
    pub fn new(names: Vec<String>) -> TableSink {
        TableSink {
            names,
            csv: Vec::new(),
        }
    }

    /// Draws the table into `out`.
    pub fn render(&self, out: &mut impl Write) -> io::Result<()> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(self.csv.as_slice());
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
            .collect::<Result<_, _>>()
            .map_err(io::Error::other)?;
        let mut widths: Vec<usize> = self.names.iter().map(|n| width(n)).collect();
        let mut numeric = vec![true; self.names.len()];
        for row in rows.iter().take(SAMPLE_ROWS) {
            for (i, cell) in row.iter().enumerate().take(widths.len()) {
                widths[i] = widths[i].max(width(cell)).min(MAX_WIDTH);
                numeric[i] &= cell.is_empty() || cell.parse::<f64>().is_ok();
            }
        }
        let line = |cells: &[String], out: &mut dyn Write, header: bool| -> io::Result<()> {
            let mut text = String::new();
            for (i, w) in widths.iter().enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                let cell = cut(cells.get(i).map_or("", String::as_str), *w);
                let pad = " ".repeat(w - width(&cell));
                if numeric[i] && !header {
                    text.push_str(&pad);
                    text.push_str(&cell);
                } else {
                    text.push_str(&cell);
                    text.push_str(&pad);
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        line(&self.names, out, true)?;
        for row in &rows {
            line(row, out, false)?;
        }
        Ok(())
    }
}

impl Write for TableSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.csv.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// `text` on one line, at most `w` characters (an ellipsis marks a cut).
fn cut(text: &str, w: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if width(&flat) <= w {
        return flat;
    }
    let mut kept: String = flat.chars().take(w.saturating_sub(1)).collect();
    kept.push('…');
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_numbers_right_and_long_fields_are_cut() {
        let mut t = TableSink::new(vec!["id".into(), "name".into()]);
        t.write_all(b"7,short\n11865,\"a, quoted\nname\"\n")
            .unwrap_or_default();
        let long = "x".repeat(60);
        t.write_all(format!("3,{long}\n").as_bytes())
            .unwrap_or_default();
        let mut out = Vec::new();
        t.render(&mut out).unwrap_or_default();
        let text = String::from_utf8(out).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], "id     name");
        assert_eq!(lines[1], "    7  short");
        assert_eq!(lines[2], "11865  a, quoted name");
        assert_eq!(lines[3].chars().count(), 7 + 40, "{text}");
        assert!(lines[3].ends_with('…'), "{text}");
    }
}
