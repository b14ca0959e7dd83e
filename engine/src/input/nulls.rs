//! What counts as a missing value (null): the one rule every command applies, set by
//! `--null VALUE` (repeatable) or `null = [...]` in `fleet.toml`.
//!
//! - An empty field is always null.
//! - With no list given, `NA`, `NULL`, `null`, `NaN`, `N/A` and `\N` are *contextual*
//!   markers: null where a value is read as a number or a point in time, text elsewhere.
//!   That is: in a `--where` whose value is a number or timestamp, and in `is null`; in
//!   `sum`, `mean` and `stddev`; and, for `count(COL)`, `min`/`max`, `distinct` and the types
//!   of column files, in a column with no other *text* value (every other value is a number,
//!   a date or timestamp, or missing). So a `name` column whose real value is "NA" among
//!   other names keeps it, while `NA` in a column of delays is missing.
//! - A list given replaces the default: exactly those values (and the empty field) are null,
//!   in every column (`--null -999` for a sentinel number, `--null ''` for only empty fields).
//!
//! The kernels ask [`NullMarkers::is_marker`] only after a field failed to be a number, or
//! when [`NullMarkers::has_numeric_marker`] says a marker could pass for one, so data without
//! markers pays nothing; most other fields are rejected on their first byte.

use crate::query::number::Decimal;
use crate::query::timestamp::is_date_or_timestamp;

/// The default contextual markers: R (`NA`), SQL dumps (`NULL`, MySQL's `\N`), JSON-ish
/// exports (`null`), pandas (`NaN`), spreadsheets (`N/A`).
pub const DEFAULT_MARKERS: [&str; 6] = ["NA", "NULL", "null", "NaN", "N/A", "\\N"];

/// The markers of one dataset (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NullMarkers {
    /// Null in every column (the given list, without the empty value).
    always: Vec<Vec<u8>>,
    /// Null only where read as a number or time (the default list).
    contextual: Vec<Vec<u8>>,
    /// Bit `b` is set when some marker starts with byte `b`.
    starts: [u64; 4],
    /// Some marker is itself a number or a time (`-999`): it must be recognised before the
    /// value is read as a number.
    numeric: bool,
}

impl Default for NullMarkers {
    fn default() -> NullMarkers {
        NullMarkers::build(
            Vec::new(),
            DEFAULT_MARKERS.map(|m| m.as_bytes().to_vec()).to_vec(),
        )
    }
}

impl NullMarkers {
    /// Exactly `list` (and the empty value) null, in every column: what `--null` and the
    /// descriptor's `null` give.
    pub fn only<S: AsRef<[u8]>>(list: &[S]) -> NullMarkers {
        let mut always: Vec<Vec<u8>> = Vec::new();
        for m in list.iter().map(AsRef::as_ref) {
            if !m.is_empty() && !always.iter().any(|a| a == m) {
                always.push(m.to_vec());
            }
        }
        NullMarkers::build(always, Vec::new())
    }

    fn build(always: Vec<Vec<u8>>, contextual: Vec<Vec<u8>>) -> NullMarkers {
        let mut starts = [0u64; 4];
        for m in always.iter().chain(&contextual) {
            if let Some(&b) = m.first() {
                starts[usize::from(b >> 6)] |= 1 << (b & 63);
            }
        }
        let numeric = always
            .iter()
            .chain(&contextual)
            .any(|m| Decimal::parse(m).is_some() || is_date_or_timestamp(m));
        NullMarkers {
            always,
            contextual,
            starts,
            numeric,
        }
    }

    /// The same markers in `encoding`, for input scanned as it is (GBK, ...): a marker the
    /// encoding cannot write is dropped, since no field can hold it.
    pub fn in_encoding(&self, encoding: &'static encoding_rs::Encoding) -> NullMarkers {
        let encode = |list: &[Vec<u8>]| -> Vec<Vec<u8>> {
            list.iter()
                .filter_map(|m| match std::str::from_utf8(m) {
                    Ok(text) => crate::input::charset::encode(encoding, text),
                    Err(_) => Some(m.clone()),
                })
                .collect()
        };
        NullMarkers::build(encode(&self.always), encode(&self.contextual))
    }

    /// Whether `value` is one of the markers (either kind; never the empty value).
    #[inline]
    pub fn is_marker(&self, value: &[u8]) -> bool {
        let Some(&b) = value.first() else {
            return false;
        };
        if self.starts[usize::from(b >> 6)] & (1 << (b & 63)) == 0 {
            return false;
        }
        self.always
            .iter()
            .chain(&self.contextual)
            .any(|m| m == value)
    }

    /// Whether `value` is a marker of a given list: null in every column.
    #[inline]
    pub fn is_null_everywhere(&self, value: &[u8]) -> bool {
        !self.always.is_empty() && self.always.iter().any(|m| m == value)
    }

    /// Whether `value` is null where it is read as a number or time: empty or a marker.
    #[inline]
    pub fn is_null_number(&self, value: &[u8]) -> bool {
        value.is_empty() || self.is_marker(value)
    }

    /// Whether some marker is a number or time itself, so [`NullMarkers::is_null_number`]
    /// must be asked before a value is read as one.
    #[inline]
    pub fn has_numeric_marker(&self) -> bool {
        self.numeric
    }

    /// How many of the default markers `contains` holds (to take them back out of a count).
    pub fn contextual_in(&self, contains: impl Fn(&[u8]) -> bool) -> usize {
        self.contextual.iter().filter(|m| contains(m)).count()
    }
}

/// Whether a value that is neither empty nor a marker is text for the null rule: not a
/// number, date or timestamp. One such value in a column makes its default markers text.
pub fn is_text(value: &[u8]) -> bool {
    Decimal::parse(value).is_none() && !is_date_or_timestamp(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_markers_are_contextual() {
        let n = NullMarkers::default();
        for m in DEFAULT_MARKERS {
            assert!(n.is_marker(m.as_bytes()), "{m}");
            assert!(n.is_null_number(m.as_bytes()), "{m}");
            assert!(!n.is_null_everywhere(m.as_bytes()), "{m}");
        }
        assert!(!n.has_numeric_marker());
        assert!(n.is_null_number(b""));
        assert!(!n.is_marker(b""));
        for text in [
            "na", "Na", "N", "NAN", "nan", "none", "-", " NA", "NA ", "UA", "1.5",
        ] {
            assert!(!n.is_marker(text.as_bytes()), "{text}");
        }
        assert_eq!(n.contextual_in(|m| m == b"NA" || m == b"x"), 1);
    }

    #[test]
    fn a_given_list_is_null_everywhere_and_replaces_the_default() {
        let n = NullMarkers::only(&["", "-999", "?", "-999"]);
        assert!(n.has_numeric_marker());
        assert!(n.is_null_everywhere(b"-999") && n.is_null_everywhere(b"?"));
        assert!(!n.is_marker(b"NA") && !n.is_marker(b"-999.0"));
        assert!(!n.is_marker(b""));
        assert!(n.is_null_number(b""));
        assert_eq!(n.contextual_in(|_| true), 0);
        let empty_only = NullMarkers::only::<&str>(&[""]);
        assert!(!empty_only.is_marker(b"NA") && !empty_only.is_marker(b"\\N"));
        let time = NullMarkers::only(&["1970-01-01"]);
        assert!(time.has_numeric_marker(), "a time passes for a value too");
    }

    #[test]
    fn markers_in_another_encoding() {
        let gbk = encoding_rs::GBK;
        let n = NullMarkers::only(&["缺失", "NA"]).in_encoding(gbk);
        let (bytes, _, _) = gbk.encode("缺失");
        assert!(n.is_null_everywhere(&bytes) && n.is_null_everywhere(b"NA"));
        assert!(!n.is_marker("缺失".as_bytes()));
    }

    #[test]
    fn text_is_what_is_neither_number_nor_time() {
        for number in [
            "0",
            "-1.5",
            ".5",
            "5.",
            "+3",
            "1e5",
            "007",
            "2013-01-01",
            "2013-01-01T10:00:00Z",
        ] {
            assert!(!is_text(number.as_bytes()), "{number}");
        }
        for text in [
            "-",
            ".",
            "1.2.3",
            "--1",
            "1-2",
            "UA",
            "12 km",
            "nan",
            "1e",
            "2013-02-30",
        ] {
            assert!(is_text(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn markers_of_any_bytes() {
        let n = NullMarkers::only(&[b"\xff".as_slice(), b"\x00\x01"]);
        assert!(n.is_marker(b"\xff"));
        assert!(n.is_marker(b"\x00\x01"));
        assert!(!n.is_marker(b"\x00"));
        assert!(!n.is_marker(b"\xfe"));
    }
}
