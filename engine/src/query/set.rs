//! The values of `COLUMN in (...)` and `COLUMN in @FILE`, as a set probed once per record.
//!
//! A set test means what the `or` of `=` tests with its values means ([`crate::query::compare`]):
//! a value that is a number matches fields that are the same number however written
//! (`11865.0` is in `(11865)`), any other value matches the field's bytes. So the set keeps
//! numbers under a canonical key (the plain decimal text `Decimal`'s `Display` gives) and
//! text as bytes, and a record costs one probe: a bit test when the field is a short
//! natural number and the set's naturals are small (taxi ids), else one hash lookup. A
//! missing field is unknown, never in the set, as for `=` (see [`crate::query::condition`]).
//!
//! `@FILE` holds one value per line (UTF-8, a BOM, CRLF line ends, blank lines and repeated
//! values allowed; spaces around a value are trimmed), read once when the `--where` is
//! compiled: 100,000 ids are an ordinary set.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use foldhash::fast::RandomState;

use crate::input::nulls::NullMarkers;
use crate::query::compare::{Cmp, Comparison};
use crate::query::condition::{fold_case, Truth};
use crate::query::number::{Decimal, OwnedDecimal};
use crate::query::predicate::Needle;
use crate::query::timestamp::is_date_or_timestamp;
use crate::simd::digits::{leading_digits, short_digits};

/// Naturals below this go into the bitset (2 MiB at most).
const DENSE_LIMIT: u64 = 1 << 24;
/// Sets with at most this many values give the pre-filter one needle each.
pub const MAX_NEEDLES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("cannot read {}: {message}", .path.display())]
    Read { path: PathBuf, message: String },
    #[error("{} holds no values (one value per line is expected)", .path.display())]
    Empty { path: PathBuf },
    #[error("{}:{line} is not UTF-8 text", .path.display())]
    NotUtf8 { path: PathBuf, line: usize },
}

/// The values of an `@FILE`: one per line, see the module docs.
pub fn read_values(path: &Path) -> Result<Vec<String>, SetError> {
    let bytes = std::fs::read(path).map_err(|e| SetError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut values = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(line).map_err(|_| SetError::NotUtf8 {
            path: path.to_path_buf(),
            line: i + 1,
        })?;
        let value = line.trim();
        if !value.is_empty() {
            values.push(value.to_string());
        }
    }
    if values.is_empty() {
        return Err(SetError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(values)
}

/// A compiled set of values (see the module docs).
#[derive(Debug, Clone)]
pub struct ValueSet {
    /// The values that are not numbers, as bytes (case-folded with `fold`).
    text: HashSet<Box<[u8]>, RandomState>,
    /// The numbers, by canonical key.
    numbers: HashSet<Box<[u8]>, RandomState>,
    /// Bit `n` set when the natural number `n` is in the set, for every natural of the set
    /// below the bitset's length.
    dense: Vec<u64>,
    /// A value is a date or timestamp: a missing field is unknown, as for `=` with a time.
    has_time: bool,
    fold: bool,
    /// Input in another encoding: non-ASCII fields are decoded before the text lookup.
    decode: Option<&'static encoding_rs::Encoding>,
    nulls: NullMarkers,
    /// One needle per value, when the pre-filter can use them (see [`ValueSet::needles`]).
    needles: Option<Vec<(Vec<u8>, bool)>>,
    len: usize,
    /// A field of up to 8 digits is answered by `dense` alone: the set has numbers and no
    /// null marker is a number (see [`ValueSet::contains_within`]).
    digits_direct: bool,
}

impl ValueSet {
    /// The set of `values` (as the user wrote them, UTF-8). `fold`: text compares ignoring
    /// case; `encoding`: the input's, when not UTF-8.
    pub fn new(
        values: &[String],
        nulls: NullMarkers,
        fold: bool,
        encoding: Option<&'static encoding_rs::Encoding>,
    ) -> ValueSet {
        let mut text: HashSet<Box<[u8]>, RandomState> = HashSet::default();
        let mut numbers: HashSet<Box<[u8]>, RandomState> = HashSet::default();
        let mut naturals = Vec::new();
        let mut has_time = false;
        let mut needles = Some(Vec::new());
        for value in values {
            let bytes = value.as_bytes();
            match OwnedDecimal::parse(bytes) {
                Some(n) => {
                    let d = n.as_decimal();
                    let fresh = with_key(&d, |k| numbers.insert(k.into()));
                    if let Some(v) = natural(&d) {
                        naturals.push(v);
                    }
                    if fresh {
                        let c = Comparison::new(Cmp::Eq, bytes.to_vec());
                        match (&mut needles, c.digits) {
                            (Some(list), Some(digits)) => list.push((digits, true)),
                            (slot, _) => *slot = None,
                        }
                    }
                }
                None => {
                    has_time |= is_date_or_timestamp(bytes);
                    let key = if fold {
                        fold_case(bytes).into_owned()
                    } else {
                        bytes.to_vec()
                    };
                    if text.insert(key.into()) {
                        // A text needle must be the field's raw bytes: not when case is
                        // folded, nor when a quote inside would be doubled in the data.
                        let raw = match encoding {
                            None => Some(bytes.to_vec()),
                            Some(e) => crate::input::charset::encode(e, value),
                        };
                        match (&mut needles, raw) {
                            (Some(list), Some(raw))
                                if !fold && !raw.is_empty() && !raw.contains(&b'"') =>
                            {
                                list.push((raw, false))
                            }
                            (slot, _) => *slot = None,
                        }
                    }
                }
            }
        }
        let len = text.len() + numbers.len();
        if len > MAX_NEEDLES {
            needles = None;
        }
        let top = naturals.iter().copied().filter(|&v| v < DENSE_LIMIT).max();
        let mut dense = vec![0u64; top.map_or(0, |t| t as usize / 64 + 1)];
        for v in naturals.into_iter().filter(|&v| v < DENSE_LIMIT) {
            dense[v as usize / 64] |= 1 << (v % 64);
        }
        let digits_direct = !numbers.is_empty() && !nulls.has_numeric_marker();
        ValueSet {
            text,
            numbers,
            dense,
            has_time,
            fold,
            decode: encoding,
            nulls,
            needles,
            len,
            digits_direct,
        }
    }

    /// Distinct values.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `field` is in the set: true, false, or unknown for a field a numeric (or
    /// time) value cannot be compared with, missing ones included (see the module docs).
    #[inline]
    pub fn truth(&self, field: &[u8]) -> Truth {
        if !self.text.is_empty() && self.text_holds(field) {
            return Truth::True;
        }
        if self.numbers.is_empty() {
            return if self.has_time && self.nulls.is_null_number(field) {
                Truth::Unknown
            } else {
                Truth::False
            };
        }
        if self.nulls.has_numeric_marker() && self.nulls.is_null_number(field) {
            return Truth::Unknown;
        }
        if let Some(v) = short_digits(field, field) {
            if let Some(&word) = self.dense.get((v / 64) as usize) {
                return Truth::from(word >> (v % 64) & 1 == 1);
            }
        }
        match Decimal::parse(field) {
            Some(d) => Truth::from(with_key(&d, |k| self.numbers.contains(k))),
            None => Truth::Unknown,
        }
    }

    /// Whether `field` is in the set ([`ValueSet::truth`] is true), for a `field` that lies
    /// inside `data` (the chunk it was split from): a short natural is then read as one word
    /// from the bytes around it ([`short_digits`]), and answered by a bit test. This is the
    /// per-record cost of `--where 'id in @ids.txt'`, where [`ValueSet::truth`], given the
    /// field alone, reads a short field byte by byte.
    ///
    /// Digits are never text (a value of digits is kept as a number), so for a field of
    /// digits the text values and case play no part; only a null marker that is a number
    /// could make it unknown, and then this defers to `truth`.
    #[inline(always)]
    pub fn contains_within(&self, data: &[u8], field: &[u8]) -> bool {
        if self.digits_direct {
            if let Some(v) = short_digits(data, field) {
                return match self.dense.get((v / 64) as usize) {
                    Some(&word) => word >> (v % 64) & 1 == 1,
                    // Every natural of the set below `DENSE_LIMIT` is in `dense`.
                    None => v >= DENSE_LIMIT && self.truth(field) == Truth::True,
                };
            }
        }
        self.truth(field) == Truth::True
    }

    /// [`ValueSet::contains_within`] for the first field of the line starting at
    /// `data[start]`, read without splitting the line ([`leading_digits`]); `None` when that
    /// field is not a plain natural of 1 to 7 digits ended by `delimiter` (or a null marker
    /// could be a number), for the caller to split it and ask `contains_within`.
    #[inline(always)]
    pub fn leading_contains(&self, data: &[u8], start: usize, delimiter: u8) -> Option<bool> {
        if !self.digits_direct {
            return None;
        }
        let v = leading_digits(data, start, delimiter)?;
        // Seven digits are below `DENSE_LIMIT`: past `dense`, not in the set.
        Some(
            self.dense
                .get((v / 64) as usize)
                .is_some_and(|&word| word >> (v % 64) & 1 == 1),
        )
    }

    #[cold]
    fn text_holds(&self, field: &[u8]) -> bool {
        let mut buf = Vec::new();
        let field = match self.decode {
            Some(encoding) if !field.is_ascii() => {
                crate::input::charset::decode_into(encoding, field, &mut buf);
                &buf[..]
            }
            _ => field,
        };
        if self.fold {
            self.text.contains(&*fold_case(field))
        } else {
            self.text.contains(field)
        }
    }

    /// Bytes one of which every field in the set holds (a number's digits, flagged numeric:
    /// see [`crate::query::predicate::Predicate::needle`]), when there are at most
    /// [`MAX_NEEDLES`] values and each has one.
    pub fn needles(&self) -> Option<Vec<Needle<'_>>> {
        let list = self.needles.as_ref()?;
        Some(
            list.iter()
                .map(|(bytes, numeric)| Needle {
                    bytes,
                    numeric: *numeric,
                })
                .collect(),
        )
    }
}

/// The number as a natural below [`DENSE_LIMIT`] when it is one.
fn natural(d: &Decimal<'_>) -> Option<u64> {
    if d.is_negative() {
        return None;
    }
    let (int, frac) = d.plain_digits(8)?;
    frac.is_empty()
        .then(|| int.iter().fold(0u64, |v, &b| v * 10 + u64::from(b - b'0')))
        .filter(|&v| v < DENSE_LIMIT)
}

/// Longest canonical key built on the stack.
const KEY_BUF: usize = 64;
/// Numbers written with an exponent are keyed in plain form up to this many digits.
const PLAIN_LIMIT: usize = 1024;

/// Calls `f` with the canonical key of `d`: `-`, the integer digits (`0` when none), `.` and
/// the fraction digits when there are any; equal numbers have equal keys.
#[inline]
fn with_key<R>(d: &Decimal<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
    let (int, frac) = (d.int_digits(), d.frac_digits());
    if d.exponent() == 0 && int.len() + frac.len() + 3 <= KEY_BUF {
        let mut buf = [0u8; KEY_BUF];
        let mut n = 0;
        let mut put = |bytes: &[u8]| {
            buf[n..n + bytes.len()].copy_from_slice(bytes);
            n += bytes.len();
        };
        if d.is_negative() {
            put(b"-");
        }
        put(if int.is_empty() { b"0" } else { int });
        if !frac.is_empty() {
            put(b".");
            put(frac);
        }
        return f(&buf[..n]);
    }
    f(&owned_key(d))
}

#[cold]
fn owned_key(d: &Decimal<'_>) -> Vec<u8> {
    let plain = if d.exponent() == 0 {
        Some((d.int_digits().to_vec(), d.frac_digits().to_vec()))
    } else {
        d.plain_digits(PLAIN_LIMIT)
    };
    match plain {
        Some((int, frac)) => {
            let mut key = Vec::with_capacity(int.len() + frac.len() + 3);
            if d.is_negative() {
                key.push(b'-');
            }
            key.extend_from_slice(if int.is_empty() { b"0" } else { &int });
            if !frac.is_empty() {
                key.push(b'.');
                key.extend_from_slice(&frac);
            }
            key
        }
        // Beyond any plain field's length: the exponent form, which no plain key equals.
        None => format!("e{d}").into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn set(values: &[&str]) -> ValueSet {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        ValueSet::new(&values, NullMarkers::default(), false, None)
    }

    #[test]
    fn numbers_compare_as_numbers() {
        let s = set(&["11865", "20001", "31337", "0.5", "-3", "1e3"]);
        for yes in [
            "11865", "011865", "11865.0", "+11865", "1.1865e4", ".5", "0.50", "-3.0", "1000", "1E3",
        ] {
            assert_eq!(s.truth(yes.as_bytes()), Truth::True, "{yes}");
        }
        for no in ["11866", "0", "3", "-0.5", "100", "20001.1"] {
            assert_eq!(s.truth(no.as_bytes()), Truth::False, "{no}");
        }
        // Missing and text fields are unknown against numbers, as for `=`.
        for unknown in ["", "NA", "abc", " 11865"] {
            assert_eq!(s.truth(unknown.as_bytes()), Truth::Unknown, "{unknown:?}");
        }
        assert!(!s.dense.is_empty());
        assert_eq!(s.len(), 6);
    }

    #[test]
    fn text_compares_bytes_markers_included() {
        let s = set(&["NA", "Bo", "", "11"]);
        assert_eq!(s.truth(b"NA"), Truth::True);
        assert_eq!(
            s.truth(b""),
            Truth::True,
            "the empty value finds empty fields"
        );
        assert_eq!(
            s.truth(b"bo"),
            Truth::Unknown,
            "not a number: unknown next to 11"
        );
        let s = set(&["NA", "Bo"]);
        assert_eq!(s.truth(b"bo"), Truth::False);
        assert_eq!(s.truth(b""), Truth::False);
        let folded = ValueSet::new(
            &["Bo".into(), "ÉTÉ".into()],
            NullMarkers::default(),
            true,
            None,
        );
        assert_eq!(folded.truth(b"bO"), Truth::True);
        assert_eq!(folded.truth("été".as_bytes()), Truth::True);
        assert_eq!(folded.truth(b"b"), Truth::False);
    }

    #[test]
    fn times_make_missing_unknown() {
        let s = set(&["2015-02-01 08:00:00"]);
        assert_eq!(s.truth(b"2015-02-01 08:00:00"), Truth::True);
        assert_eq!(s.truth(b"NA"), Truth::Unknown);
        assert_eq!(s.truth(b"soon"), Truth::False);
    }

    #[test]
    fn numeric_null_markers() {
        let values = vec!["-999".to_string(), "5".to_string()];
        let s = ValueSet::new(&values, NullMarkers::only(&["-999"]), false, None);
        assert_eq!(s.truth(b"-999"), Truth::Unknown);
        assert_eq!(s.truth(b"5"), Truth::True);
    }

    #[test]
    fn needles_for_small_sets() {
        let n = |s: &ValueSet| {
            s.needles().map(|v| {
                v.iter()
                    .map(|n| (n.bytes.to_vec(), n.numeric))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            n(&set(&["11865", "abc", "011865"])),
            Some(vec![(b"11865".to_vec(), true), (b"abc".to_vec(), false)])
        );
        assert_eq!(
            n(&set(&["1", "2", "3", "4", "5", "6", "7", "8", "9"])),
            None
        );
        assert_eq!(n(&set(&["a\"b"])), None);
        assert_eq!(n(&set(&["x", ""])), None);
        let folded = ValueSet::new(&["5".into()], NullMarkers::default(), true, None);
        assert!(n(&folded).is_some(), "digits have no case");
        let folded = ValueSet::new(&["a".into()], NullMarkers::default(), true, None);
        assert_eq!(n(&folded), None);
    }

    #[test]
    fn file_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.txt");
        std::fs::write(&path, b"\xEF\xBB\xBF11865\r\n\r\n 20001 \n11865\n\n31337").unwrap();
        assert_eq!(
            read_values(&path).unwrap(),
            ["11865", "20001", "11865", "31337"]
        );
        std::fs::write(&path, b"\r\n \n").unwrap();
        let e = read_values(&path).unwrap_err();
        assert!(matches!(e, SetError::Empty { .. }), "{e}");
        std::fs::write(&path, b"1\n\xff\n").unwrap();
        assert!(read_values(&path)
            .unwrap_err()
            .to_string()
            .ends_with("ids.txt:2 is not UTF-8 text"));
        let e = read_values(&dir.path().join("none.txt")).unwrap_err();
        assert!(e.to_string().starts_with("cannot read "), "{e}");
    }

    proptest! {
        /// The set answers what the `or` of `=` tests answers.
        #[test]
        fn set_is_the_or_of_equalities(
            values in proptest::collection::vec("[-+]?[0-9]{0,3}(\\.[0-9]{0,2})?|[a-c]{1,2}|NA", 1..6),
            field in "[-+]?[0-9]{0,3}(\\.[0-9]{0,2})?(e[0-9])?|[a-c]{1,2}|NA|",
        ) {
            let s = ValueSet::new(&values, NullMarkers::default(), false, None);
            let nulls = NullMarkers::default();
            let mut any_unknown = false;
            let mut any_true = false;
            for v in &values {
                let c = Comparison::new(Cmp::Eq, v.as_bytes().to_vec());
                let hit = c.holds(field.as_bytes(), &nulls, &mut false);
                any_true |= hit;
                any_unknown |= !hit && c.reads_values() && Decimal::parse(field.as_bytes()).is_none();
            }
            let expect = if any_true { Truth::True } else if any_unknown { Truth::Unknown } else { Truth::False };
            prop_assert_eq!(s.truth(field.as_bytes()), expect, "{:?} in {:?}", field, values);
        }
    }
}
