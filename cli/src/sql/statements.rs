//! `fleet sql` without a query: statements read from standard input, each ended by a `;`
//! outside quotes and comments. At a terminal a `fleet>` prompt is shown (with line editing
//! and history: `prompt.rs`), an error is reported and the prompt goes on; from a pipe or file (a script) the first error stops the
//! run with exit 2, naming the statement's line. A last statement without `;` runs at the
//! end of the input.

use super::prompt::{Line, LineSource};
use super::{Ran, Tables};
use crate::Outcome;
use anyhow::Context;
use fleet_engine::job::interrupt;
use fleet_sql::format::ResultFormat;

pub(super) fn run(
    tables: &mut Tables<'_>,
    format: ResultFormat,
    prompt: bool,
    quiet: bool,
) -> anyhow::Result<Outcome> {
    let mut source = LineSource::new(prompt);
    let mut splitter = Splitter::default();
    let mut line_no = 0u64;
    loop {
        let shown = if splitter.is_empty() {
            "fleet> "
        } else {
            "   ..> "
        };
        let line = match source.next(shown)? {
            Line::Text(line) => line,
            Line::End => break,
            Line::Interrupted => return Ok(Outcome::Interrupted),
        };
        line_no += 1;
        let text = std::str::from_utf8(&line)
            .with_context(|| format!("standard input, line {line_no}: not UTF-8 text"))?;
        if splitter.is_empty() && matches!(text.trim(), "\\q" | "exit" | "quit") {
            return Ok(Outcome::Ok);
        }
        for (statement, first_line) in splitter.push(text, line_no) {
            match execute(tables, &statement, format, quiet) {
                Ok(Some(outcome)) => return Ok(outcome),
                Ok(None) => {}
                Err(e) if prompt => eprintln!("fleet: error: {e:#}"),
                Err(e) => {
                    return Err(e.context(format!("the statement at line {first_line}")));
                }
            }
        }
    }
    if let Some((statement, first_line)) = splitter.finish() {
        match execute(tables, &statement, format, quiet) {
            Ok(Some(outcome)) => return Ok(outcome),
            Ok(None) => {}
            Err(e) if prompt => eprintln!("fleet: error: {e:#}"),
            Err(e) => return Err(e.context(format!("the statement at line {first_line}"))),
        }
    }
    if prompt {
        eprintln!();
    }
    Ok(Outcome::Ok)
}

/// Runs one statement; `Some` ends the run (Ctrl-C, or stdout closed by its reader).
fn execute(
    tables: &mut Tables<'_>,
    statement: &str,
    format: ResultFormat,
    quiet: bool,
) -> anyhow::Result<Option<Outcome>> {
    let rows = tables.statement(statement, format, None);
    if interrupt::interrupted() {
        return Ok(Some(Outcome::Interrupted));
    }
    match rows? {
        Ran::Closed => Ok(Some(Outcome::Ok)),
        Ran::NoResult => Ok(None),
        Ran::Rows(rows) => {
            if !quiet {
                eprintln!("fleet: {rows} row(s)");
            }
            Ok(None)
        }
    }
}

/// Cuts text into statements at `;` outside quotes (`'...'` with `''`, `"..."`) and
/// comments (`-- ...` to the line's end, `/* ... */`), across lines.
#[derive(Default)]
struct Splitter {
    text: String,
    /// The line the statement being collected starts on.
    first_line: u64,
    state: Lex,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Lex {
    #[default]
    Code,
    Single,
    Double,
    LineComment,
    BlockComment,
}

impl Splitter {
    /// Nothing but blanks and comments collected so far.
    fn is_empty(&self) -> bool {
        statement_text(&self.text).is_none()
    }

    /// Takes one line (line number `line_no`); returns the statements it completes, each
    /// with the line it starts on.
    fn push(&mut self, line: &str, line_no: u64) -> Vec<(String, u64)> {
        let mut done = Vec::new();
        if self.is_empty() {
            self.first_line = line_no;
        }
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let next = bytes.get(i + 1).copied();
            match self.state {
                Lex::Code => match c {
                    b'\'' => self.state = Lex::Single,
                    b'"' => self.state = Lex::Double,
                    b'-' if next == Some(b'-') => self.state = Lex::LineComment,
                    b'/' if next == Some(b'*') => {
                        self.state = Lex::BlockComment;
                        self.text.push_str("/*");
                        i += 2;
                        continue;
                    }
                    b';' => {
                        if let Some(statement) = statement_text(&self.text) {
                            done.push((statement, self.first_line));
                        }
                        self.text.clear();
                        self.first_line = line_no;
                        i += 1;
                        continue;
                    }
                    _ => {}
                },
                Lex::Single if c == b'\'' => self.state = Lex::Code,
                Lex::Double if c == b'"' => self.state = Lex::Code,
                Lex::LineComment if c == b'\n' => self.state = Lex::Code,
                Lex::BlockComment if c == b'*' && next == Some(b'/') => {
                    self.state = Lex::Code;
                    self.text.push_str("*/");
                    i += 2;
                    continue;
                }
                _ => {}
            }
            // Whole UTF-8 sequences: every byte tested above is ASCII, so `i` is a boundary.
            let len = utf8_len(c);
            self.text.push_str(&line[i..(i + len).min(line.len())]);
            i += len;
        }
        if self.state == Lex::LineComment {
            self.state = Lex::Code; // a line without its `\n` (the input's last)
        }
        done
    }

    /// What is left at the end of the input, if it is a statement.
    fn finish(self) -> Option<(String, u64)> {
        statement_text(&self.text).map(|s| (s, self.first_line))
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// The statement in `text`, trimmed; `None` when it holds only blanks and comments.
fn statement_text(text: &str) -> Option<String> {
    let mut code = false;
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, r)| r);
        } else {
            code |= !rest.is_empty();
            break;
        }
    }
    code.then(|| text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(lines: &[&str]) -> Vec<(String, u64)> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            out.extend(s.push(line, i as u64 + 1));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn statements_end_at_semicolons_outside_quotes_and_comments() {
        let got = split(&[
            "SELECT 1; SELECT ';' AS a,\n",
            "  \"x;y\" -- a comment; not an end\n",
            "FROM t;\n",
            "/* ; */ SELECT 'it''s; fine'\n",
        ]);
        let want = vec![
            ("SELECT 1".to_string(), 1),
            (
                "SELECT ';' AS a,\n  \"x;y\" -- a comment; not an end\nFROM t".to_string(),
                1,
            ),
            ("/* ; */ SELECT 'it''s; fine'".to_string(), 4),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn blanks_and_comments_alone_are_no_statement() {
        assert_eq!(
            split(&["\n", "-- only a comment\n", " ; ;\n", "/* x */\n"]),
            vec![]
        );
        let mut s = Splitter::default();
        assert!(s.is_empty());
        s.push("-- note\n", 1);
        assert!(s.is_empty());
        s.push("SELECT\n", 2);
        assert!(!s.is_empty());
    }

    #[test]
    fn a_statement_starts_on_the_line_of_its_first_text() {
        let got = split(&["SELECT 1;\n", "\n", "SELECT\n", "2;\n"]);
        assert_eq!(got[1].1, 3, "{got:?}");
    }

    #[test]
    fn non_ascii_text_is_kept_whole() {
        let got = split(&["SELECT '北京;上海' AS 城市;\n"]);
        assert_eq!(got, vec![("SELECT '北京;上海' AS 城市".to_string(), 1)]);
    }
}
