//! A `--where` expression compiled against a schema into a test on one field's bytes.
//!
//! [`crate::query::expr`] parses the text and [`crate::input::schema`] resolves the column; this
//! module fixes the semantics once, so the scanning kernel only calls [`Predicate::holds`] per
//! record (and may use [`Predicate::needle`] to skip whole stretches of data that cannot
//! match). Comparisons follow [`crate::query::compare`]: numerically and exactly when the value
//! is a number, with null fields never matching and other non-numbers reported as not
//! comparable; `is null` / `is not null` test for an empty field or a null marker
//! ([`crate::input::nulls`], set with [`Predicate::with_nulls`]); `~` searches the bytes.
//!
//! Input in another encoding ([`Predicate::in_encoding`]): values are given in UTF-8 and must
//! match the decoded text. `=` and `!=` compare the field's raw bytes with the value encoded
//! once into the input's encoding (exact, since the encodings map text to bytes one to one,
//! and it keeps the `memmem` pre-filter). Ordering and `~` need text: a non-ASCII field is
//! decoded and compared with the UTF-8 value (ASCII reads the same in every supported
//! encoding, so ASCII fields are compared as they are). A value with a character the
//! encoding cannot represent is compared as decoded text too (it can only match `!=`).

use regex::bytes::Regex;

use crate::input::nulls::NullMarkers;
use crate::input::schema::{Schema, SchemaError};
pub use crate::query::compare::Verdict;
use crate::query::compare::{Cmp, Comparison};
use crate::query::expr::{Op, WhereExpr};
use crate::text::one_line;

#[derive(Debug, thiserror::Error)]
pub enum PredicateError {
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("invalid regex '{}' in --where: {message}", one_line(.pattern))]
    Regex { pattern: String, message: String },
}

/// What [`Predicate::needle`] finds: bytes every matching field holds, unless (`numeric`) it
/// writes the number with an exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needle<'a> {
    pub bytes: &'a [u8],
    pub numeric: bool,
}

#[derive(Debug, Clone)]
pub struct Predicate {
    column: usize,
    /// The value as given (UTF-8): what `describe` shows and what decoded text is compared with.
    text: Vec<u8>,
    test: Test,
    /// What counts as missing, in the encoding of the bytes tested.
    nulls: NullMarkers,
}

/// What a predicate does with a field: its real cases, fixed at compile time.
#[derive(Debug, Clone)]
enum Test {
    /// `~`: an unanchored regex search in the field's bytes, or in its decoded text when the
    /// input has another encoding and the field is not ASCII.
    Regex {
        regex: Regex,
        decode: Option<&'static encoding_rs::Encoding>,
    },
    /// `=`, `!=`, `<`, `<=`, `>`, `>=` on the field's raw bytes, against the value in the
    /// input's encoding.
    Raw(Comparison),
    /// The same comparisons on the field's decoded text (ordering on encoded input, or a value
    /// the encoding cannot represent): non-ASCII fields are decoded first.
    Decoded {
        comparison: Comparison,
        encoding: &'static encoding_rs::Encoding,
    },
    /// `is null` (`true`) or `is not null`: the field is empty or a null marker.
    Null(bool),
}

/// `field` itself when it is ASCII (which reads the same in every supported encoding), else
/// its text decoded from `encoding` into `buf`.
fn decoded<'a>(
    encoding: &'static encoding_rs::Encoding,
    field: &'a [u8],
    buf: &'a mut Vec<u8>,
) -> &'a [u8] {
    if field.is_ascii() {
        return field;
    }
    buf.reserve(field.len() * 3 / 2);
    crate::input::charset::decode_into(encoding, field, buf);
    buf
}

impl Predicate {
    pub fn compile(expr: &WhereExpr, schema: &Schema) -> Result<Predicate, PredicateError> {
        let column = schema.resolve(&expr.column)?;
        let text = expr.value.as_bytes().to_vec();
        let test = match (expr.op, Cmp::of(expr.op)) {
            (_, Some(cmp)) => Test::Raw(Comparison::new(cmp, text.clone())),
            (Op::IsNull, None) => Test::Null(true),
            (Op::IsNotNull, None) => Test::Null(false),
            (_, None) => Test::Regex {
                regex: Regex::new(&expr.value).map_err(|e| PredicateError::Regex {
                    pattern: expr.value.clone(),
                    message: regex_message(&e),
                })?,
                decode: None,
            },
        };
        Ok(Predicate {
            column,
            text,
            test,
            nulls: NullMarkers::default(),
        })
    }

    /// The same test with `nulls` saying what is missing (given in the encoding of the bytes
    /// tested: [`crate::Dataset::scanned_nulls`]); the default rule otherwise.
    pub fn with_nulls(mut self, nulls: NullMarkers) -> Predicate {
        self.nulls = nulls;
        self
    }

    /// The same test on input in `encoding` (see the module docs).
    pub fn in_encoding(mut self, encoding: &'static encoding_rs::Encoding) -> Predicate {
        self.test = match self.test {
            Test::Regex { regex, .. } => Test::Regex {
                regex,
                decode: Some(encoding),
            },
            Test::Null(is_null) => Test::Null(is_null),
            Test::Raw(comparison) | Test::Decoded { comparison, .. } => {
                let text = String::from_utf8_lossy(&self.text).into_owned();
                match (
                    comparison.cmp,
                    crate::input::charset::encode(encoding, &text),
                ) {
                    (Cmp::Eq | Cmp::Ne, Some(bytes)) => {
                        Test::Raw(Comparison::new(comparison.cmp, bytes))
                    }
                    _ => Test::Decoded {
                        comparison: Comparison::new(comparison.cmp, self.text.clone()),
                        encoding,
                    },
                }
            }
        };
        self
    }

    /// 0-based index of the field this predicate tests.
    pub fn column(&self) -> usize {
        self.column
    }

    pub fn op(&self) -> Op {
        match &self.test {
            Test::Regex { .. } => Op::Regex,
            Test::Null(true) => Op::IsNull,
            Test::Null(false) => Op::IsNotNull,
            Test::Raw(c) | Test::Decoded { comparison: c, .. } => c.cmp.op(),
        }
    }

    /// Whether `field` (its unescaped content) passes: see [`Predicate::test`].
    #[inline]
    pub fn matches(&self, field: &[u8]) -> bool {
        self.holds(field, &mut false)
    }

    /// The test on one field (its unescaped content): `~` searches the bytes (unanchored);
    /// comparisons follow [`crate::query::compare`]; `is null` asks whether the field is
    /// empty or a marker.
    pub fn test(&self, field: &[u8]) -> Verdict {
        let mut incomparable = false;
        let holds = self.holds(field, &mut incomparable);
        Verdict::of(holds, incomparable)
    }

    /// [`Predicate::test`] as the kernels call it: whether the field passes, setting
    /// `incomparable` when it is a value the test cannot compare (a bool and a flag written
    /// only on that rare path keep the per-record loop as tight as a plain yes/no).
    #[inline]
    pub fn holds(&self, field: &[u8], incomparable: &mut bool) -> bool {
        // The common case stays small enough to inline into the kernels' record loops.
        match &self.test {
            Test::Raw(comparison) => comparison.holds(field, &self.nulls, incomparable),
            _ => self.holds_other(field, incomparable),
        }
    }

    /// [`Predicate::holds`] for a regex, a comparison on decoded text, or `is [not] null`.
    #[inline(never)]
    fn holds_other(&self, field: &[u8], incomparable: &mut bool) -> bool {
        match &self.test {
            Test::Raw(comparison) => comparison.holds(field, &self.nulls, incomparable),
            Test::Regex {
                regex,
                decode: None,
            } => regex.is_match(field),
            Test::Regex {
                regex,
                decode: Some(encoding),
            } => regex.is_match(decoded(encoding, field, &mut Vec::new())),
            Test::Decoded {
                comparison,
                encoding,
            } => {
                // Markers are in the input's encoding: look for them before decoding.
                if comparison.reads_values() && self.nulls.is_null_number(field) {
                    return false;
                }
                let mut buf = Vec::new();
                let text = decoded(encoding, field, &mut buf);
                comparison.holds(text, &self.nulls, incomparable)
            }
            Test::Null(is_null) => self.nulls.is_null_number(field) == *is_null,
        }
    }

    /// Whether a miss on `field` is unknown rather than false, in the three-valued logic of
    /// [`crate::query::condition`]: the value is a number or a time and the field is missing,
    /// or, for a number, not a number at all.
    pub fn misses_unknown(&self, field: &[u8]) -> bool {
        match &self.test {
            Test::Raw(c) | Test::Decoded { comparison: c, .. } => c.unknown(field, &self.nulls),
            Test::Regex { .. } | Test::Null(_) => false,
        }
    }

    /// Whether this predicate can find fields not comparable with its value (a comparison
    /// with a number, other than `=`): they are counted and reported.
    pub fn reports_incomparable(&self) -> bool {
        match &self.test {
            Test::Raw(c) | Test::Decoded { comparison: c, .. } => {
                c.number.is_some() && c.cmp != Cmp::Eq
            }
            Test::Regex { .. } | Test::Null(_) => false,
        }
    }

    /// Bytes that every field satisfying this predicate must contain, for a SIMD pre-filter
    /// over raw data: only for `=`. For a numeric value: its integer digits without leading
    /// zeros if non-zero (value 11865 → "11865", also in fields "011865", "11865.0",
    /// "+11865"), else its fraction digits (0.25 → "25"), else "0" for zero; a field that
    /// writes the number with an exponent (`1.1865e4`) need not hold them, so the needle is
    /// then [`Needle::numeric`] and the pre-filter must also pass lines holding an `e` or `E`.
    /// For a non-numeric value: the value's bytes, but None if empty. Must never produce a
    /// needle that a matching field lacks.
    ///
    /// Also None when the needle would contain `"`: inside a quoted CSV field that byte is
    /// written doubled, so the raw data of a matching record need not contain the needle.
    pub fn needle(&self) -> Option<Needle<'_>> {
        let Test::Raw(c) = &self.test else {
            return None;
        };
        if c.cmp != Cmp::Eq {
            return None;
        }
        let (bytes, numeric): (&[u8], bool) = match &c.number {
            Some(_) => (c.digits.as_deref()?, true),
            None => (&c.value, false),
        };
        if bytes.is_empty() || bytes.contains(&b'"') {
            None
        } else {
            Some(Needle { bytes, numeric })
        }
    }

    /// The predicate as the user would read it, e.g. `id = 11865` or `time >= "2015-02-01 08:00:00"`.
    pub fn describe(&self, schema: &Schema) -> String {
        if let Test::Null(_) = self.test {
            return format!("{} {}", schema.display_name(self.column), self.op());
        }
        let value = String::from_utf8_lossy(&self.text);
        let needs_quotes = value.is_empty()
            || value.chars().any(char::is_whitespace)
            || value.starts_with(['<', '>', '=', '!', '~', '"', '\'']);
        let value = if !needs_quotes {
            one_line(&value)
        } else if value.contains('"') {
            format!("'{}'", one_line(&value))
        } else {
            format!("\"{}\"", one_line(&value))
        };
        format!(
            "{} {} {}",
            schema.display_name(self.column),
            self.op(),
            value
        )
    }
}

/// regex's Display draws the pattern with a caret over several lines; keep the line that
/// says what is wrong.
fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::query::expr::parse_where;
    use crate::query::number::Decimal;
    use proptest::prelude::*;

    fn schema() -> Schema {
        Schema::new(
            Some(
                ["id", "time", "lon", "lat", "speed", "heading", "occupied"]
                    .map(String::from)
                    .to_vec(),
            ),
            0,
        )
    }

    fn p(text: &str) -> Predicate {
        Predicate::compile(&parse_where(text).unwrap(), &schema()).unwrap()
    }

    #[test]
    fn numeric_equality() {
        let pr = p("id=11865");
        assert_eq!(pr.column(), 0);
        assert_eq!(pr.op(), Op::Eq);
        for yes in ["11865", "11865.0", "011865", "+11865", "11865."] {
            assert!(pr.matches(yes.as_bytes()), "{yes}");
        }
        for no in ["11865.5", " 11865", "11865a", "11866", "", "-11865", "1186"] {
            assert!(!pr.matches(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn not_equal() {
        let pr = p("id!=11865");
        assert!(!pr.matches(b"11865.00"));
        assert_eq!(pr.test(b"11865 "), Verdict::Incomparable);
        assert!(pr.matches(b"1"));
        assert!(pr.matches(b"1.1865e3"));
        let text = Schema::new(Some(vec!["name".into()]), 0);
        let pr = Predicate::compile(&parse_where("name != abc").unwrap(), &text).unwrap();
        assert!(pr.matches(b"abd"));
        assert!(!pr.matches(b"abc"));
    }

    #[test]
    fn numeric_order_not_byte_order() {
        let pr = p("speed>100");
        assert!(!pr.matches(b"99"), "99 < 100 numerically");
        assert!(pr.matches(b"100.5"));
        assert!(!pr.matches(b"100.0"));
        assert!(pr.matches(b"0101"));
        assert!(!pr.matches(b"-200"));
        assert!(pr.matches(b"1.5e3"));
        assert!(!pr.matches(b"1E2"));
        // Not a number: not comparable (it used to compare as bytes, and "abc" > "100").
        assert_eq!(pr.test(b"abc"), Verdict::Incomparable);
        let pr = p("speed <= -1.5");
        assert!(pr.matches(b"-1.50"));
        assert!(pr.matches(b"-2"));
        assert!(!pr.matches(b"-1.4"));
        let pr = p("speed>=0");
        assert!(pr.matches(b"-0"));
        assert!(pr.matches(b".0"));
        let pr = p("speed<0");
        assert!(!pr.matches(b"-0.000"));
    }

    #[test]
    fn byte_comparison_for_text() {
        let pr = p(r#"time>="2015-02-01 08:00:00""#);
        assert!(pr.matches(b"2015-02-01 08:00:00"));
        assert!(pr.matches(b"2015-02-01 08:00:01"));
        assert!(pr.matches(b"2015-12-01 00:00:00"));
        assert!(!pr.matches(b"2015-01-31 23:59:59"));
        assert!(!pr.matches(b"2015-02-01"));
        let pr = p("time<b");
        assert!(pr.matches(b"a"));
        assert!(pr.matches(b"B"));
        assert!(!pr.matches(b"ba"));
    }

    #[test]
    fn nulls_never_match_a_number() {
        for op in ["=", "!=", "<", "<=", ">", ">="] {
            let pr = p(&format!("speed{op}100"));
            for null in ["", "NA", "NULL", "null", "NaN", "N/A", "\\N"] {
                assert_eq!(pr.test(null.as_bytes()), Verdict::Miss, "{op} {null:?}");
            }
            let text = if op == "=" {
                Verdict::Miss
            } else {
                Verdict::Incomparable
            };
            for other in ["na", "-", "100 km/h", "1,000", "inf"] {
                assert_eq!(pr.test(other.as_bytes()), text, "{op} {other:?}");
            }
            assert!(pr.reports_incomparable() == (op != "="));
        }
        // A given list: only it (and empty) is null; a sentinel number too.
        let pr = p("speed>=0").with_nulls(NullMarkers::only(&["-999", "?"]));
        assert_eq!(pr.test(b"-999"), Verdict::Miss);
        assert_eq!(pr.test(b"?"), Verdict::Miss);
        assert_eq!(pr.test(b""), Verdict::Miss);
        assert_eq!(pr.test(b"NA"), Verdict::Incomparable);
        assert_eq!(pr.test(b"-999.0"), Verdict::Miss, "-999.0 < 0");
        assert_eq!(pr.test(b"5"), Verdict::Match);
    }

    #[test]
    fn nulls_never_match_a_time_but_text_sees_bytes() {
        let pr = p("time>=2013-06-01");
        assert!(pr.matches(b"2013-06-01 10:00:00"));
        assert!(!pr.matches(b"NA"), "NA > 2013 as bytes, but it is missing");
        assert!(!pr.matches(b""));
        assert_eq!(
            pr.test(b"soon"),
            Verdict::Match,
            "text still compares as bytes"
        );
        assert!(!pr.reports_incomparable());
        let pr = p("time!='2013-06-01 10:00:00'");
        assert!(!pr.matches(b"NA"));
        // A text value compares bytes: the marker is found, empty fields too.
        let name = p("lon=NA");
        assert!(name.matches(b"NA"));
        let ne = p("lon!=abc");
        assert!(ne.matches(b"NA"));
        assert!(ne.matches(b""));
    }

    #[test]
    fn null_tests() {
        let null = p("lat is null");
        let not_null = p("lat IS NOT NULL");
        assert_eq!((null.op(), not_null.op()), (Op::IsNull, Op::IsNotNull));
        for v in ["", "NA", "\\N", "NaN"] {
            assert!(
                null.matches(v.as_bytes()) && !not_null.matches(v.as_bytes()),
                "{v:?}"
            );
        }
        for v in ["0", "na", "x", " "] {
            assert!(
                !null.matches(v.as_bytes()) && not_null.matches(v.as_bytes()),
                "{v:?}"
            );
        }
        assert_eq!(null.needle(), None);
        assert_eq!(null.describe(&schema()), "lat is null");
        assert_eq!(not_null.describe(&schema()), "lat is not null");
        let given = p("lat is null").with_nulls(NullMarkers::only(&["-"]));
        assert!(given.matches(b"-") && given.matches(b"") && !given.matches(b"NA"));
    }

    #[test]
    fn empty_value() {
        let pr = p("lon=");
        assert!(pr.matches(b""));
        assert!(!pr.matches(b"0"));
        assert_eq!(pr.needle(), None);
    }

    #[test]
    fn regex_search() {
        let pr = p("time~08:0[0-4]");
        assert!(pr.matches(b"2015-02-01 08:03:00"));
        assert!(!pr.matches(b"2015-02-01 08:05:00"));
        let pr = p("id~^1");
        assert!(pr.matches(b"11865"));
        assert!(!pr.matches(b"211865"));
        // Regex bytes mode still matches a field that is not UTF-8.
        let pr = p("lon~x");
        assert!(pr.matches(b"\xffx"));
        assert_eq!(pr.needle(), None);
    }

    #[test]
    fn regex_error_is_one_line() {
        let e = Predicate::compile(&parse_where("id~(ab").unwrap(), &schema()).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, PredicateError::Regex { .. }));
        assert!(!text.contains('\n'), "{text}");
        assert!(
            text.starts_with("invalid regex '(ab' in --where: "),
            "{text}"
        );
        assert!(text.contains("unclosed group"), "{text}");
    }

    #[test]
    fn schema_errors_pass_through() {
        let e = Predicate::compile(&parse_where("spped>5").unwrap(), &schema()).unwrap_err();
        assert!(matches!(
            e,
            PredicateError::Schema(SchemaError::UnknownColumn { .. })
        ));
        assert!(e.to_string().contains("did you mean 'speed'?"));
        let e = Predicate::compile(&parse_where("9>5").unwrap(), &schema()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column 9 is out of range: the data has 7 columns"
        );
    }

    #[test]
    fn needles() {
        let p = |text: &str| {
            let pr = p(text);
            pr.needle().map(|n| (n.bytes.to_vec(), n.numeric))
        };
        let numeric = |b: &[u8]| Some((b.to_vec(), true));
        let text = |b: &[u8]| Some((b.to_vec(), false));
        assert_eq!(p("id=11865"), numeric(b"11865"));
        assert_eq!(p("id=+0011865.000"), numeric(b"11865"));
        assert_eq!(p("id=0.25"), numeric(b"25"));
        assert_eq!(p("id=-.0500"), numeric(b"05"));
        assert_eq!(p("id=-0.0"), numeric(b"0"));
        assert_eq!(p("id=abc"), text(b"abc"));
        assert_eq!(p("id='a b'"), text(b"a b"));
        assert_eq!(p("id='say \"hi\"'"), None);
        assert_eq!(p("id!=5"), None);
        assert_eq!(p("id>=5"), None);
        assert_eq!(p("id~5"), None);
        // Exponent values: the digits of the number they write.
        assert_eq!(p("id=1.1865e4"), numeric(b"11865"));
        assert_eq!(p("id=1E-3"), numeric(b"001"));
        assert_eq!(p("id=1e300"), None, "too long to look for");
    }

    #[test]
    fn describes() {
        let s = schema();
        assert_eq!(p("id=11865").describe(&s), "id = 11865");
        assert_eq!(p("1==11865").describe(&s), "id = 11865");
        assert_eq!(
            p(r#"time>="2015-02-01 08:00:00""#).describe(&s),
            "time >= \"2015-02-01 08:00:00\""
        );
        assert_eq!(p("lon=").describe(&s), "lon = \"\"");
        assert_eq!(p("lon~'^x'").describe(&s), "lon ~ ^x");
        let bare = Schema::new(None, 4);
        let pr = Predicate::compile(&parse_where("3<0.5").unwrap(), &bare).unwrap();
        assert_eq!(pr.describe(&bare), "3 < 0.5");
    }

    /// Short strings over an alphabet that makes numeric and byte semantics collide often.
    fn decimalish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                3 => Just('0'),
                3 => Just('1'),
                2 => Just('5'),
                1 => Just('.'),
                1 => Just('-'),
                1 => Just('+'),
                1 => Just('a'),
                1 => Just('e'),
                1 => Just(' '),
            ],
            0..7,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn needle_is_in_every_matching_field(v in decimalish(), f in decimalish()) {
            let expr = WhereExpr {
                column: crate::query::expr::ColumnRef::Index(1),
                op: Op::Eq,
                value: v.clone(),
            };
            let pr = Predicate::compile(&expr, &schema()).unwrap();
            if pr.matches(f.as_bytes()) {
                if let Some(needle) = pr.needle() {
                    let exponent = needle.numeric && f.contains(['e', 'E']);
                    prop_assert!(
                        exponent || memchr::memmem::find(f.as_bytes(), needle.bytes).is_some(),
                        "field {:?} matches {:?} but lacks needle {:?}", f, v,
                        String::from_utf8_lossy(needle.bytes)
                    );
                }
            }
        }

        #[test]
        fn ops_are_consistent(v in decimalish(), f in decimalish()) {
            let get = |op| {
                let expr = WhereExpr { column: crate::query::expr::ColumnRef::Index(1), op, value: v.clone() };
                Predicate::compile(&expr, &schema()).unwrap().matches(f.as_bytes())
            };
            let (eq, ne, lt, le, gt, ge) =
                (get(Op::Eq), get(Op::Ne), get(Op::Lt), get(Op::Le), get(Op::Gt), get(Op::Ge));
            let numeric = Decimal::parse(v.as_bytes()).is_some();
            if numeric && Decimal::parse(f.as_bytes()).is_none() {
                // Null or not comparable: nothing matches a number.
                prop_assert!(!(eq || ne || lt || le || gt || ge));
            } else {
                prop_assert_eq!(eq, !ne);
                prop_assert_eq!(le, lt || eq);
                prop_assert_eq!(ge, gt || eq);
                prop_assert_eq!(u8::from(lt) + u8::from(eq) + u8::from(gt), 1);
            }
        }

        #[test]
        fn short_integer_path_agrees_with_the_decimal_compare(
            v in prop_oneof![decimalish(), (0u64..100_000_000).prop_map(|n| n.to_string())],
            f in prop_oneof![decimalish(), (0u64..1_000_000_000).prop_map(|n| n.to_string())],
        ) {
            for op in [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge] {
                let expr = WhereExpr { column: crate::query::expr::ColumnRef::Index(1), op, value: v.clone() };
                let fast = Predicate::compile(&expr, &schema()).unwrap();
                let mut general = fast.clone();
                if let Test::Raw(c) = &mut general.test {
                    c.small = None;
                }
                prop_assert_eq!(fast.matches(f.as_bytes()), general.matches(f.as_bytes()), "{:?} {} {:?}", f, op, v);
            }
        }

        #[test]
        fn integer_fields_compare_like_integers(a in -1000i64..1000, b in -1000i64..1000) {
            let expr = WhereExpr {
                column: crate::query::expr::ColumnRef::Index(1),
                op: Op::Lt,
                value: b.to_string(),
            };
            let pr = Predicate::compile(&expr, &schema()).unwrap();
            prop_assert_eq!(pr.matches(a.to_string().as_bytes()), a < b);
        }
    }
}
