//! The dataset descriptor `fleet.toml`: what a directory of headerless CSV files cannot say
//! about itself (column names, whether there is a header line, the delimiter, the encoding,
//! the values that mean "missing", how time columns are written for `agg`'s time keys).
//!
//! [`find`] locates the descriptor that applies to the command line's inputs and [`Descriptor::load`]
//! reads and validates it, so that everything downstream (schema, scanning) can trust its
//! fields. Command-line flags override it; that merge is the caller's job.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "fleet.toml";

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    pub columns: Option<Vec<String>>,
    pub header: Option<bool>,
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
    /// The null markers (see [`crate::input::nulls`]): exactly these values and the empty
    /// field are missing, in every column, instead of the default rule.
    pub null: Option<Vec<String>>,
    /// Per column name: how its timestamps are written for `agg`'s time keys, `text` (the
    /// default), `epoch_s` or `epoch_ms` (see [`crate::agg::TimeFormat`]), e.g.
    /// `[time_format]` then `time = "epoch_s"`.
    pub time_format: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid {}{}: {message}", .path.display(), location_text(*.location))]
    Toml {
        path: PathBuf,
        /// 1-based line and column, when the TOML parser could tell.
        location: Option<(usize, usize)>,
        message: String,
    },
    #[error("invalid delimiter in {}: {message}", .path.display())]
    Delimiter { path: PathBuf, message: String },
    #[error("invalid encoding in {}: {source}", .path.display())]
    Encoding {
        path: PathBuf,
        source: crate::input::charset::UnknownEncoding,
    },
    #[error("invalid time_format in {}: {message}", .path.display())]
    TimeFormat { path: PathBuf, message: String },
    #[error("invalid columns in {}: {message}", .path.display())]
    Columns { path: PathBuf, message: String },
    #[error("conflicting dataset descriptors {} and {}: the inputs must share one {FILE_NAME} (or pass the settings as flags)", .first.display(), .second.display())]
    Conflict { first: PathBuf, second: PathBuf },
}

fn location_text(location: Option<(usize, usize)>) -> String {
    location.map_or_else(String::new, |(line, col)| {
        format!(" line {line} column {col}")
    })
}

impl Descriptor {
    /// Reads and validates `path`; after this, [`Descriptor::delimiter_byte`] cannot fail
    /// on a delimiter that is set.
    pub fn load(path: &Path) -> Result<Descriptor, DescriptorError> {
        let text = std::fs::read_to_string(path).map_err(|source| DescriptorError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let descriptor: Descriptor =
            toml::from_str(&text).map_err(|e: toml::de::Error| DescriptorError::Toml {
                path: path.to_path_buf(),
                location: e.span().map(|span| line_col(&text, span.start)),
                // toml's Display draws a multi-line snippet; the bare message fits one line.
                message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
            })?;
        descriptor.validate(path)?;
        Ok(descriptor)
    }

    fn validate(&self, path: &Path) -> Result<(), DescriptorError> {
        if let Some(delimiter) = &self.delimiter {
            parse_delimiter(delimiter).map_err(|message| DescriptorError::Delimiter {
                path: path.to_path_buf(),
                message,
            })?;
        }
        if let Some(encoding) = &self.encoding {
            crate::input::charset::parse_encoding(encoding).map_err(|source| {
                DescriptorError::Encoding {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        }
        for (column, format) in self.time_format.iter().flatten() {
            if crate::agg::TimeFormat::parse(format).is_none() {
                return Err(DescriptorError::TimeFormat {
                    path: path.to_path_buf(),
                    message: format!(
                        "column '{}': '{}' is not text, epoch_s or epoch_ms",
                        crate::text::one_line(column),
                        crate::text::one_line(format)
                    ),
                });
            }
        }
        if let Some(columns) = &self.columns {
            let columns_err = |message: String| DescriptorError::Columns {
                path: path.to_path_buf(),
                message,
            };
            if columns.is_empty() {
                return Err(columns_err("the list is empty".into()));
            }
            let mut seen = HashSet::new();
            for (i, name) in columns.iter().enumerate() {
                if name.trim().is_empty() {
                    return Err(columns_err(format!("column {} has an empty name", i + 1)));
                }
                if !seen.insert(name.as_str()) {
                    return Err(columns_err(format!(
                        "'{}' appears more than once",
                        crate::text::one_line(name)
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn delimiter_byte(&self) -> Option<u8> {
        self.delimiter
            .as_deref()
            .and_then(|d| parse_delimiter(d).ok())
    }
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// For each input PATH: a directory looks for DIR/fleet.toml, a file for fleet.toml in its parent directory.
/// Returns the descriptor found (with its path); several different ones => DescriptorError::Conflict naming both files.
///
/// Inputs that do not exist are passed over: reporting them is discovery's job. The same
/// descriptor content found in two places is not a conflict, since nothing is ambiguous.
pub fn find(paths: &[PathBuf]) -> Result<Option<(PathBuf, Descriptor)>, DescriptorError> {
    let mut found: Option<(PathBuf, Descriptor)> = None;
    let mut looked = HashSet::new();
    for path in paths {
        let dir = if path.is_dir() {
            path.clone()
        } else {
            match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        let candidate = dir.join(FILE_NAME);
        // Several inputs in one directory share its descriptor; read it once.
        let key = std::fs::canonicalize(&candidate).unwrap_or_else(|_| candidate.clone());
        if !looked.insert(key) || !candidate.is_file() {
            continue;
        }
        let descriptor = Descriptor::load(&candidate)?;
        match &found {
            None => found = Some((candidate, descriptor)),
            Some((first, existing)) => {
                if *existing != descriptor {
                    return Err(DescriptorError::Conflict {
                        first: first.clone(),
                        second: candidate,
                    });
                }
            }
        }
    }
    Ok(found)
}

/// Parses a delimiter given by a user: a single ASCII character (",", ";", "|"), or "\t" / "tab" for TAB. Not '"', not CR/LF.
pub fn parse_delimiter(text: &str) -> Result<u8, String> {
    if text == "\\t" || text == "\t" || text.eq_ignore_ascii_case("tab") {
        return Ok(b'\t');
    }
    let shown = crate::text::one_line(text);
    let byte = match text.as_bytes() {
        [b] if b.is_ascii() => *b,
        _ => {
            return Err(format!(
                "delimiter '{shown}' must be a single ASCII character, '\\t' or 'tab'"
            ))
        }
    };
    match byte {
        b'"' => Err("delimiter '\"' is the quote character and cannot also separate fields".into()),
        b'\r' | b'\n' => Err(format!(
            "delimiter '{shown}' is a line ending and cannot separate fields"
        )),
        // Other control bytes (NUL, ESC, ...) are almost certainly a mistake on the
        // command line, and a NUL would make the file look binary anyway.
        b if b.is_ascii_control() => Err(format!(
            "delimiter '{shown}' is a control character; use a printable character or tab"
        )),
        b => Ok(b),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::fs;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join(FILE_NAME);
        fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn loads_all_fields() {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(
            tmp.path(),
            "columns = [\"id\", \"time\", \"lon\", \"lat\"]\nheader = false\ndelimiter = \";\"\nencoding = \"UTF-8\"\nnull = [\"\", \"NA\", \"\\\\N\"]\n",
        );
        let d = Descriptor::load(&p).unwrap();
        assert_eq!(
            d,
            Descriptor {
                columns: Some(vec!["id".into(), "time".into(), "lon".into(), "lat".into()]),
                header: Some(false),
                delimiter: Some(";".into()),
                encoding: Some("UTF-8".into()),
                null: Some(vec!["".into(), "NA".into(), "\\N".into()]),
                time_format: None,
            }
        );
        assert_eq!(d.delimiter_byte(), Some(b';'));
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let d = Descriptor::load(&write(tmp.path(), "")).unwrap();
        assert_eq!(d, Descriptor::default());
        assert_eq!(d.delimiter_byte(), None);
    }

    #[test]
    fn tab_delimiter_spellings() {
        let tmp = tempfile::tempdir().unwrap();
        for spelled in [
            "delimiter = '\\t'",
            "delimiter = \"\\t\"",
            "delimiter = \"TAB\"",
        ] {
            let d = Descriptor::load(&write(tmp.path(), spelled)).unwrap();
            assert_eq!(d.delimiter_byte(), Some(b'\t'), "{spelled}");
        }
    }

    #[test]
    fn unknown_field_names_file_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(tmp.path(), "header = true\ncolums = [\"a\"]\n");
        let e = Descriptor::load(&p).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(
                e,
                DescriptorError::Toml {
                    location: Some((2, 1)),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(text.contains(&p.display().to_string()), "{text}");
        assert!(text.contains("colums"), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn bad_toml_is_one_line() {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(tmp.path(), "columns = [\"a\",\nheader = yes\n");
        let e = Descriptor::load(&p).unwrap_err();
        assert!(matches!(e, DescriptorError::Toml { .. }), "{e:?}");
        assert!(!e.to_string().contains('\n'), "{e}");
        let p = write(tmp.path(), "header = \"yes\"\n");
        let e = Descriptor::load(&p).unwrap_err();
        assert!(
            matches!(
                e,
                DescriptorError::Toml {
                    location: Some((1, _)),
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn unsupported_encoding() {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(tmp.path(), "encoding = \"ebcdic\"\n");
        let e = Descriptor::load(&p).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "invalid encoding in {}: unknown encoding 'ebcdic' (supported: utf-8, gbk, gb2312, gb18030, big5, latin1)",
                p.display()
            )
        );
        for ok in [
            "utf8", "ASCII", "Utf-8", "gbk", "GB2312", "gb18030", "big5", "latin1",
        ] {
            let p = write(tmp.path(), &format!("encoding = \"{ok}\""));
            assert!(Descriptor::load(&p).is_ok(), "{ok}");
        }
    }

    #[test]
    fn invalid_delimiters() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in [
            "\"\\\"\"",
            "\"\\n\"",
            "\"ab\"",
            "\"\"",
            "\"é\"",
            "\"\\u0000\"",
        ] {
            let p = write(tmp.path(), &format!("delimiter = {bad}"));
            let e = Descriptor::load(&p).unwrap_err();
            assert!(
                matches!(e, DescriptorError::Delimiter { .. }),
                "{bad}: {e:?}"
            );
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    #[test]
    fn invalid_columns() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in [
            "columns = []",
            "columns = [\"a\", \"\"]",
            "columns = [\"a\", \"b\", \"a\"]",
        ] {
            let p = write(tmp.path(), bad);
            let e = Descriptor::load(&p).unwrap_err();
            assert!(matches!(e, DescriptorError::Columns { .. }), "{bad}: {e:?}");
        }
        let p = write(tmp.path(), "columns = [\"a\", \"b\", \"a\"]");
        assert!(Descriptor::load(&p)
            .unwrap_err()
            .to_string()
            .contains("'a' appears more than once"));
    }

    #[test]
    fn missing_file_is_io_error() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join(FILE_NAME);
        let e = Descriptor::load(&p).unwrap_err();
        assert!(matches!(e, DescriptorError::Io { .. }));
        assert!(e.to_string().contains(&p.display().to_string()));
    }

    #[test]
    fn find_in_dir_and_in_file_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        fs::create_dir(&data).unwrap();
        let csv = data.join("a.csv");
        fs::write(&csv, "1,2\n").unwrap();
        assert!(find(std::slice::from_ref(&data)).unwrap().is_none());
        let p = write(&data, "header = true");
        let (found, d) = find(std::slice::from_ref(&data)).unwrap().unwrap();
        assert_eq!(found, p);
        assert_eq!(d.header, Some(true));
        let (found, _) = find(&[csv]).unwrap().unwrap();
        assert_eq!(found, p);
        // A missing input is not this module's concern.
        assert!(find(&[tmp.path().join("nope")]).unwrap().is_none());
    }

    #[test]
    fn find_conflict_and_agreement() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        let c = tmp.path().join("c");
        for d in [&a, &b, &c] {
            fs::create_dir(d).unwrap();
        }
        let pa = write(&a, "header = true");
        write(&b, "header = true");
        let pc = write(&c, "header = false");
        // Same content twice: no ambiguity.
        let (found, _) = find(&[a.clone(), b.clone()]).unwrap().unwrap();
        assert_eq!(found, pa);
        let e = find(&[a.clone(), b, c]).unwrap_err();
        match &e {
            DescriptorError::Conflict { first, second } => {
                assert_eq!(first, &pa);
                assert_eq!(second, &pc);
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert!(e.to_string().contains(&pa.display().to_string()));
        assert!(e.to_string().contains(&pc.display().to_string()));
    }

    #[test]
    fn find_propagates_invalid_descriptor() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "nonsense = 1");
        assert!(matches!(
            find(&[tmp.path().to_path_buf()]),
            Err(DescriptorError::Toml { .. })
        ));
    }

    #[test]
    fn user_delimiters() {
        assert_eq!(parse_delimiter(","), Ok(b','));
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("|"), Ok(b'|'));
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter("\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter("Tab"), Ok(b'\t'));
        for bad in ["\"", "\n", "\r", "", ",,", "é", "\u{1}"] {
            let e = parse_delimiter(bad).unwrap_err();
            assert!(!e.contains('\n'), "{bad:?}: {e}");
        }
    }
}
