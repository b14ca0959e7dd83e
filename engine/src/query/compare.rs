//! One comparison of a field with a `--where` value (`=`, `!=`, `<`, `<=`, `>`, `>=`), and
//! what missing and unreadable values do to it. The value decides how fields are read:
//!
//! - a **number** (`100`, `-1.5`, `1.5e3`): fields that are numbers compare exactly
//!   ([`crate::query::number`]); a null field (empty or a marker, [`crate::input::nulls`])
//!   never matches, whatever the operator, `!=` included, as in SQL; any other field is *not
//!   comparable* ([`Verdict::Incomparable`]): it never matches and the job counts and reports
//!   it. `=` is the exception: a text field simply does not equal a number (the job finds
//!   `=` matches with a pre-filter that never reads most fields, so it could not count them).
//! - a **date or timestamp** (`2013-06-01`, `2013-06-01 08:00:00`): a null field never
//!   matches; the others compare as bytes, which orders ISO times correctly.
//! - **text**: every field compares as bytes, markers and empty fields included (`name=NA`
//!   finds the text `NA`, `name=` the empty fields).

use std::cmp::Ordering;

use crate::input::nulls::NullMarkers;
use crate::query::expr::Op;
use crate::query::number::{Decimal, OwnedDecimal};
use crate::query::timestamp::is_date_or_timestamp;

/// What a test says about one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Match,
    Miss,
    /// Neither a number nor null where the value is a number: no match, and reported.
    Incomparable,
}

impl Verdict {
    /// The verdict of a test that held or not, having found the field not comparable or not.
    pub fn of(holds: bool, incomparable: bool) -> Verdict {
        match (holds, incomparable) {
            (true, _) => Verdict::Match,
            (false, false) => Verdict::Miss,
            (false, true) => Verdict::Incomparable,
        }
    }
}

/// The comparison operators (every `Op` but `~` and the null tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub(crate) fn of(op: Op) -> Option<Cmp> {
        Some(match op {
            Op::Eq => Cmp::Eq,
            Op::Ne => Cmp::Ne,
            Op::Lt => Cmp::Lt,
            Op::Le => Cmp::Le,
            Op::Gt => Cmp::Gt,
            Op::Ge => Cmp::Ge,
            Op::Regex | Op::IsNull | Op::IsNotNull => return None,
        })
    }

    pub(crate) fn op(self) -> Op {
        match self {
            Cmp::Eq => Op::Eq,
            Cmp::Ne => Op::Ne,
            Cmp::Lt => Op::Lt,
            Cmp::Le => Op::Le,
            Cmp::Gt => Op::Gt,
            Cmp::Ge => Op::Ge,
        }
    }

    #[inline]
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Cmp::Eq => ordering == Ordering::Equal,
            Cmp::Ne => ordering != Ordering::Equal,
            Cmp::Lt => ordering == Ordering::Less,
            Cmp::Le => ordering != Ordering::Greater,
            Cmp::Gt => ordering == Ordering::Greater,
            Cmp::Ge => ordering != Ordering::Less,
        }
    }
}

/// One comparison of a field with the value (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Comparison {
    pub(crate) cmp: Cmp,
    pub(crate) value: Vec<u8>,
    pub(crate) number: Option<OwnedDecimal>,
    /// `number` when it is a whole number of at most 8 digits: fields of up to 8 plain digits
    /// (speeds, counts, ids) are then compared as integers, without the general decimal
    /// comparison (the same order, much less work per record).
    pub(crate) small: Option<u64>,
    /// `number`'s digits as every plain decimal equal to it writes them (its integer digits,
    /// or for a number below 1 its fraction digits), for the pre-filter's needle; `None` when
    /// that would be very long (`1e300`).
    pub(crate) digits: Option<Vec<u8>>,
    /// The value is a date or timestamp.
    time: bool,
}

impl Comparison {
    pub(crate) fn new(cmp: Cmp, value: Vec<u8>) -> Comparison {
        let number = OwnedDecimal::parse(&value);
        let plain = number.as_ref().and_then(|n| {
            Some((
                n.as_decimal().is_negative(),
                n.as_decimal().plain_digits(64)?,
            ))
        });
        let small = plain.as_ref().and_then(|(negative, (int, frac))| {
            let whole = !negative && frac.is_empty() && int.len() <= 8;
            whole.then(|| int.iter().fold(0, |v, &b| v * 10 + u64::from(b - b'0')))
        });
        let digits = plain.map(|(_, (int, frac))| {
            if !int.is_empty() {
                int
            } else if !frac.is_empty() {
                frac
            } else {
                b"0".to_vec()
            }
        });
        let time = number.is_none() && is_date_or_timestamp(&value);
        Comparison {
            cmp,
            value,
            number,
            small,
            digits,
            time,
        }
    }

    /// Whether the value is a number or a time, so null fields never match.
    pub(crate) fn reads_values(&self) -> bool {
        self.number.is_some() || self.time
    }

    /// Whether `field` leaves this comparison unknown: the value is a number or a time and
    /// the field is missing, or the value is a number and the field is not.
    pub(crate) fn unknown(&self, field: &[u8], nulls: &NullMarkers) -> bool {
        self.reads_values()
            && (nulls.is_null_number(field)
                || (self.number.is_some() && Decimal::parse(field).is_none()))
    }

    /// Whether the comparison holds for one field, `nulls` saying which fields are missing.
    /// A field that is neither a number nor missing where the value is a number sets
    /// `incomparable` (and does not hold). Plain numeric fields never reach the null check
    /// unless a marker could itself pass for a number.
    #[inline]
    pub(crate) fn holds(&self, field: &[u8], nulls: &NullMarkers, incomparable: &mut bool) -> bool {
        let Some(number) = &self.number else {
            if self.time && nulls.is_null_number(field) {
                return false;
            }
            return self.cmp.holds(field.cmp(&self.value));
        };
        if let Some(small) = self.small {
            if !nulls.has_numeric_marker() {
                if let Some(v) = crate::simd::digits::short_digits(field, field) {
                    return self.cmp.holds(v.cmp(&small));
                }
            }
        }
        if nulls.has_numeric_marker() && nulls.is_null_number(field) {
            return false;
        }
        match Decimal::parse(field) {
            Some(f) => self.cmp.holds(f.cmp(&number.as_decimal())),
            None => {
                *incomparable = self.not_comparable(field, nulls);
                false
            }
        }
    }

    /// Whether a field that is not a number, compared with a number, is reported.
    #[cold]
    fn not_comparable(&self, field: &[u8], nulls: &NullMarkers) -> bool {
        self.cmp != Cmp::Eq && !nulls.is_null_number(field)
    }
}
