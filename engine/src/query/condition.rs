//! A whole `--where` compiled against the schema: comparisons ([`Predicate`]), set tests
//! ([`ValueSet`]) and case-insensitive text tests joined by `and`, `or` and `not`, and what
//! the kernel asks of it: a verdict per record and the needles of its pre-filter.
//!
//! **Missing values and `not`.** Each test says true, false or *unknown*, SQL's three-valued
//! logic: a test with a number or a time as its value is unknown on a missing field (empty
//! or a marker, [`crate::input::nulls`]) and on a field that is not a number (for `=` and
//! `in` too, though alone those just say "no"). `not` keeps unknown unknown, `and` is false
//! when one side is false, `or` true when one side is true, and a record is kept only when
//! the whole is true. So `not (speed>100)` keeps exactly what `speed<=100` keeps: never a
//! record whose speed is missing, as `speed!=100` never does. Text tests (`name=Bo`, `~`,
//! `is null`) are never unknown.
//!
//! **Not comparable.** A record is counted (and located) as not comparable when its result
//! is unknown because some non-`=` numeric test met a field that is neither a number nor
//! missing, as a single such test counts today. `and` and `or` read their sides left to
//! right and stop as soon as the result is known.
//!
//! **`-v`** keeps every well-formed record the filter does not keep (grep's `-v`): unknown
//! ones included, so a scan with and without `-v` split the records between them.
//!
//! **The pre-filter.** A condition that can only be true on records holding one of a few
//! byte strings (an `=`, an `or` of such conditions, an `in` of at most
//! [`crate::query::set::MAX_NEEDLES`] values) gives them to the kernel, which then splits
//! only the lines that hold one. Such conditions are never unknown-and-counted, so a line
//! skipped this way is one every path rejects without counting it.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use regex::bytes::{Regex, RegexBuilder};

use crate::input::nulls::NullMarkers;
use crate::input::schema::{Schema, SchemaError};
use crate::query::boolean::{parse_filter, Expr, SetSource};
use crate::query::expr::{ExprError, Op, WhereExpr};
use crate::query::number::OwnedDecimal;
use crate::query::predicate::{Needle, Predicate, PredicateError, Verdict};
use crate::query::set::{read_values, SetError, ValueSet};
use crate::query::timestamp::is_date_or_timestamp;
use crate::text::one_line;

/// Needles for an `or` are at most this many.
const MAX_OR_NEEDLES: usize = 16;

/// A test's answer in three-valued logic (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    /// Unknown: a missing value, or a text where a number was expected by `=` or `in`.
    Unknown,
    /// Unknown because of a value a numeric test could not compare: counted and reported.
    Incomparable,
}

impl From<bool> for Truth {
    #[inline]
    fn from(holds: bool) -> Truth {
        if holds {
            Truth::True
        } else {
            Truth::False
        }
    }
}

impl Truth {
    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            unknown => unknown,
        }
    }

    /// The unknown of two unknowns: counted when either is.
    fn unknown(self, other: Truth) -> Truth {
        if self == Truth::Incomparable || other == Truth::Incomparable {
            Truth::Incomparable
        } else {
            Truth::Unknown
        }
    }
}

/// How `--where` texts are compiled.
#[derive(Debug, Clone, Default)]
pub struct FilterOptions {
    /// What is missing, in the encoding of the bytes tested ([`crate::Dataset::scanned_nulls`]).
    pub nulls: NullMarkers,
    /// The input's encoding when it is not UTF-8 ([`crate::Dataset::scanned_encoding`]).
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// `-i`: `=`, `!=`, `in` and `~` on text ignore case.
    pub ignore_case: bool,
    /// `-v`: keep the records the filter does not keep.
    pub invert: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error(transparent)]
    Syntax(#[from] ExprError),
    #[error("--where '{}' at position {position}: {source}", one_line(.text))]
    Column {
        text: String,
        position: usize,
        source: SchemaError,
    },
    #[error("--where '{}': {source}", one_line(.text))]
    Predicate {
        text: String,
        source: PredicateError,
    },
    #[error("--where '{}' at position {position}: {source}", one_line(.text))]
    Set {
        text: String,
        position: usize,
        source: SetError,
    },
}

/// One compiled `--where` (or the top-level pieces of one: see [`compile_filter`]).
// The single comparison stays inline: it is the hot case, tested per record without a
// pointer to follow; the few conditions a job holds make the size irrelevant.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Condition {
    /// One comparison, null test or regex: the common case, tested as before.
    Test(Predicate),
    /// `=`, `!=` or `~` on text, ignoring case.
    Folded(FoldedTest),
    In {
        column: usize,
        set: Arc<ValueSet>,
        prefilter: Option<Arc<Prefilter>>,
    },
    Not(Box<Condition>),
    And(Vec<Condition>),
    Or {
        items: Vec<Condition>,
        prefilter: Option<Arc<Prefilter>>,
    },
    /// `-v`: the records the list (all must hold) does not keep.
    Complement(Vec<Condition>),
}

/// Several needles, any of which a matching line holds (see the module docs).
#[derive(Debug)]
pub struct Prefilter {
    /// The needles; for numeric ones also `e` and `E` (a number written with an exponent).
    pub finder: AhoCorasick,
}

impl Prefilter {
    fn new(needles: &[Needle<'_>]) -> Option<Prefilter> {
        let mut patterns: Vec<&[u8]> = needles.iter().map(|n| n.bytes).collect();
        if needles.iter().any(|n| n.numeric) {
            patterns.extend([&b"e"[..], b"E"]);
        }
        if patterns.iter().any(|p| p.is_empty() || p.contains(&b'\n')) {
            return None;
        }
        AhoCorasick::new(patterns)
            .ok()
            .map(|finder| Prefilter { finder })
    }
}

/// What the kernel's pre-filter may look for.
#[derive(Debug, Clone, Copy)]
pub enum Candidates<'a> {
    /// One needle: the fused SIMD pass ([`crate::simd::candidate`]).
    One(Needle<'a>),
    /// Several.
    Many(&'a Prefilter),
}

/// Parses and compiles every `--where` text: the records kept are those for which all hold.
/// A top-level `and` is split into its parts, so `-w 'a and b'` is `-w a -w b`. With
/// `invert`, one [`Condition::Complement`] of them all.
pub fn compile_filter(
    texts: &[String],
    schema: &Schema,
    opts: &FilterOptions,
) -> Result<Vec<Condition>, FilterError> {
    let mut out = Vec::new();
    for text in texts {
        match parse_filter(text)? {
            Expr::And(items) => {
                for item in &items {
                    out.push(compile(item, text, schema, opts)?);
                }
            }
            expr => out.push(compile(&expr, text, schema, opts)?),
        }
    }
    Ok(if opts.invert {
        vec![Condition::Complement(out)]
    } else {
        out
    })
}

fn compile(
    expr: &Expr,
    text: &str,
    schema: &Schema,
    opts: &FilterOptions,
) -> Result<Condition, FilterError> {
    let column = |c, position| {
        schema.resolve(c).map_err(|source| FilterError::Column {
            text: text.to_string(),
            position,
            source,
        })
    };
    Ok(match expr {
        Expr::Compare { expr, position } => {
            let index = column(&expr.column, *position)?;
            if let Some(folded) = FoldedTest::new(expr, index, opts) {
                return folded
                    .map(Condition::Folded)
                    .map_err(|source| FilterError::Predicate {
                        text: text.to_string(),
                        source,
                    });
            }
            let p = Predicate::compile(expr, schema)
                .map_err(|source| FilterError::Predicate {
                    text: text.to_string(),
                    source,
                })?
                .with_nulls(opts.nulls.clone());
            Condition::Test(match opts.encoding {
                Some(encoding) => p.in_encoding(encoding),
                None => p,
            })
        }
        Expr::In {
            column: c,
            set,
            position,
        } => {
            let index = column(c, *position)?;
            let values = match set {
                SetSource::List(values) => values.clone(),
                SetSource::File(path) => {
                    read_values(Path::new(path)).map_err(|source| FilterError::Set {
                        text: text.to_string(),
                        position: *position,
                        source,
                    })?
                }
            };
            let set = ValueSet::new(&values, opts.nulls.clone(), opts.ignore_case, opts.encoding);
            let prefilter = set.needles().and_then(|n| Prefilter::new(&n)).map(Arc::new);
            Condition::In {
                column: index,
                set: Arc::new(set),
                prefilter,
            }
        }
        Expr::Not(inner) => Condition::Not(Box::new(compile(inner, text, schema, opts)?)),
        Expr::And(items) => Condition::And(
            items
                .iter()
                .map(|i| compile(i, text, schema, opts))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or(items) => {
            let items: Vec<Condition> = items
                .iter()
                .map(|i| compile(i, text, schema, opts))
                .collect::<Result<_, _>>()?;
            let mut needles = Vec::new();
            let all = items.iter().all(|i| i.needles_into(&mut needles));
            let prefilter = (all && needles.len() <= MAX_OR_NEEDLES)
                .then(|| Prefilter::new(&needles))
                .flatten()
                .map(Arc::new);
            Condition::Or { items, prefilter }
        }
    })
}

impl Condition {
    /// The test of one record, `field(i)` giving its field `i` (unescaped): whether it is
    /// kept. A single comparison answers exactly as [`Predicate::holds`]; anything else holds
    /// when true, and sets `incomparable` when unknown because of a value not comparable.
    #[inline]
    pub fn holds<'f>(&self, field: &impl Fn(usize) -> &'f [u8], incomparable: &mut bool) -> bool {
        match self {
            Condition::Test(p) => p.holds(field(p.column()), incomparable),
            // A set alone (an id list) is as hot as a comparison: no detour through `truth`.
            Condition::In { column, set, .. } => set.truth(field(*column)) == Truth::True,
            _ => self.holds_other(field, incomparable),
        }
    }

    #[inline(never)]
    fn holds_other<'f>(&self, field: &dyn Fn(usize) -> &'f [u8], incomparable: &mut bool) -> bool {
        match self.verdict_other(field) {
            Verdict::Match => true,
            Verdict::Miss => false,
            Verdict::Incomparable => {
                *incomparable = true;
                false
            }
        }
    }

    /// [`Condition::holds`] as a [`Verdict`].
    pub fn verdict<'f>(&self, field: &impl Fn(usize) -> &'f [u8]) -> Verdict {
        let mut incomparable = false;
        let holds = self.holds(field, &mut incomparable);
        Verdict::of(holds, incomparable)
    }

    #[inline(never)]
    fn verdict_other<'f>(&self, field: &dyn Fn(usize) -> &'f [u8]) -> Verdict {
        if let Condition::Complement(all) = self {
            let kept = all.iter().all(|c| c.verdict(&field) == Verdict::Match);
            return Verdict::of(!kept, false);
        }
        match self.truth(field) {
            Truth::True => Verdict::Match,
            Truth::Incomparable => Verdict::Incomparable,
            Truth::False | Truth::Unknown => Verdict::Miss,
        }
    }

    /// The three-valued answer (see the module docs).
    pub fn truth<'f>(&self, field: &dyn Fn(usize) -> &'f [u8]) -> Truth {
        match self {
            Condition::Test(p) => {
                let value = field(p.column());
                match p.test(value) {
                    Verdict::Match => Truth::True,
                    Verdict::Incomparable => Truth::Incomparable,
                    Verdict::Miss if p.misses_unknown(value) => Truth::Unknown,
                    Verdict::Miss => Truth::False,
                }
            }
            Condition::Folded(t) => t.holds(field(t.column)).into(),
            Condition::In { column, set, .. } => set.truth(field(*column)),
            Condition::Not(inner) => inner.truth(field).not(),
            Condition::And(items) => {
                let mut out = Truth::True;
                for item in items {
                    match item.truth(field) {
                        Truth::True => {}
                        Truth::False => return Truth::False,
                        unknown => out = unknown.unknown(out),
                    }
                }
                out
            }
            Condition::Or { items, .. } => {
                let mut out = Truth::False;
                for item in items {
                    match item.truth(field) {
                        Truth::False => {}
                        Truth::True => return Truth::True,
                        unknown => {
                            out = if out == Truth::False {
                                unknown
                            } else {
                                unknown.unknown(out)
                            }
                        }
                    }
                }
                out
            }
            Condition::Complement(_) => (self.verdict_other(field) == Verdict::Match).into(),
        }
    }

    /// One more than the highest field index read.
    pub fn fields_needed(&self) -> usize {
        match self {
            Condition::Test(p) => p.column() + 1,
            Condition::Folded(t) => t.column + 1,
            Condition::In { column, .. } => column + 1,
            Condition::Not(inner) => inner.fields_needed(),
            Condition::And(items) | Condition::Or { items, .. } | Condition::Complement(items) => {
                items
                    .iter()
                    .map(Condition::fields_needed)
                    .max()
                    .unwrap_or(0)
            }
        }
    }

    /// What the pre-filter may look for: every record this condition keeps holds one of
    /// these (see the module docs).
    pub fn candidates(&self) -> Option<Candidates<'_>> {
        match self {
            Condition::Test(p) => p.needle().map(Candidates::One),
            Condition::In { prefilter, .. } | Condition::Or { prefilter, .. } => {
                prefilter.as_deref().map(Candidates::Many)
            }
            _ => None,
        }
    }

    /// Adds the needles one of which every record this condition keeps holds; false when
    /// there are none.
    fn needles_into<'a>(&'a self, out: &mut Vec<Needle<'a>>) -> bool {
        match self {
            Condition::Test(p) => p.needle().map(|n| out.push(n)).is_some(),
            Condition::In { set, .. } => set.needles().map(|n| out.extend(n)).is_some(),
            Condition::Or { items, .. } => items.iter().all(|i| i.needles_into(out)),
            _ => false,
        }
    }
}

/// `=`, `!=` and `~` on text with `-i`: the field is compared with its case folded (see
/// [`fold_case`]); on input in another encoding, non-ASCII fields are decoded first. Like
/// any text test it compares markers and empty fields as the bytes they are.
#[derive(Debug, Clone)]
pub struct FoldedTest {
    column: usize,
    kind: FoldedKind,
    decode: Option<&'static encoding_rs::Encoding>,
}

#[derive(Debug, Clone)]
enum FoldedKind {
    Eq(Vec<u8>),
    Ne(Vec<u8>),
    Regex(Regex),
}

impl FoldedTest {
    /// `None` when `-i` does not change the test: no `-i`, another operator, or a value
    /// that is a number or a time (which have no case).
    fn new(
        expr: &WhereExpr,
        column: usize,
        opts: &FilterOptions,
    ) -> Option<Result<FoldedTest, PredicateError>> {
        if !opts.ignore_case {
            return None;
        }
        let value = expr.value.as_bytes();
        let text = OwnedDecimal::parse(value).is_none() && !is_date_or_timestamp(value);
        let kind = match expr.op {
            Op::Eq if text => FoldedKind::Eq(fold_case(value).into_owned()),
            Op::Ne if text => FoldedKind::Ne(fold_case(value).into_owned()),
            Op::Regex => match RegexBuilder::new(&expr.value)
                .case_insensitive(true)
                .build()
            {
                Ok(regex) => FoldedKind::Regex(regex),
                // The plain compile reports the error in its usual words.
                Err(_) => return None,
            },
            _ => return None,
        };
        Some(Ok(FoldedTest {
            column,
            kind,
            decode: opts.encoding,
        }))
    }

    fn holds(&self, field: &[u8]) -> bool {
        let mut buf = Vec::new();
        let field = match self.decode {
            Some(encoding) if !field.is_ascii() => {
                crate::input::charset::decode_into(encoding, field, &mut buf);
                &buf[..]
            }
            _ => field,
        };
        match &self.kind {
            FoldedKind::Eq(value) => *fold_case(field) == **value,
            FoldedKind::Ne(value) => *fold_case(field) != **value,
            FoldedKind::Regex(regex) => regex.is_match(field),
        }
    }
}

/// `bytes` with case folded: Unicode lowercase when it is UTF-8 text with non-ASCII
/// characters, else its ASCII letters lowercased.
pub fn fold_case(bytes: &[u8]) -> Cow<'_, [u8]> {
    if bytes.is_ascii() || std::str::from_utf8(bytes).is_err() {
        if bytes.iter().any(u8::is_ascii_uppercase) {
            Cow::Owned(bytes.to_ascii_lowercase())
        } else {
            Cow::Borrowed(bytes)
        }
    } else {
        let text = std::str::from_utf8(bytes).unwrap_or_default();
        Cow::Owned(text.to_lowercase().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn schema() -> Schema {
        Schema::new(
            Some(
                ["id", "name", "speed", "occupied"]
                    .map(String::from)
                    .to_vec(),
            ),
            0,
        )
    }

    fn compile_one(text: &str, opts: &FilterOptions) -> Vec<Condition> {
        compile_filter(&[text.to_string()], &schema(), opts).unwrap()
    }

    /// Whether the record `fields` is kept, and whether it is counted as not comparable.
    fn keep(conditions: &[Condition], fields: &[&str]) -> (bool, bool) {
        let field = |i: usize| fields[i].as_bytes();
        for c in conditions {
            match c.verdict(&field) {
                Verdict::Match => {}
                Verdict::Miss => return (false, false),
                Verdict::Incomparable => return (false, true),
            }
        }
        (true, false)
    }

    #[test]
    fn not_follows_three_valued_logic() {
        let opts = FilterOptions::default();
        let not_fast = compile_one("not (speed>100)", &opts);
        let slow = compile_one("speed<=100", &opts);
        for speed in ["50", "100", "150", "", "NA", "fast"] {
            let rec = ["1", "a", speed, "1"];
            assert_eq!(keep(&not_fast, &rec), keep(&slow, &rec), "{speed:?}");
        }
        let c = compile_one("not (occupied=1 and speed=0)", &opts);
        assert_eq!(keep(&c, &["1", "a", "0", "1"]), (false, false));
        assert_eq!(keep(&c, &["1", "a", "5", "1"]), (true, false));
        assert_eq!(keep(&c, &["1", "a", "0", "0"]), (true, false));
        // occupied=1 unknown (missing) and speed=0 true: unknown, not kept.
        assert_eq!(keep(&c, &["1", "a", "0", "NA"]), (false, false));
        // occupied=1 false decides, whatever speed is.
        assert_eq!(keep(&c, &["1", "a", "NA", "0"]), (true, false));
        // A text field is unknown for `=`, so `not` of it is not kept, as `!=` never keeps it.
        assert_eq!(
            keep(&compile_one("not id=5", &opts), &["x", "a", "0", "0"]),
            (false, false)
        );
        assert_eq!(
            keep(&compile_one("id!=5", &opts), &["x", "a", "0", "0"]),
            (false, true)
        );
        // Text tests are never unknown.
        assert_eq!(
            keep(&compile_one("not name=NA", &opts), &["1", "", "0", "0"]),
            (true, false)
        );
        assert_eq!(
            keep(
                &compile_one("not name is null", &opts),
                &["1", "", "0", "0"]
            ),
            (false, false)
        );
    }

    #[test]
    fn or_and_counting() {
        let opts = FilterOptions::default();
        let c = compile_one("id=5 or speed>100", &opts);
        assert_eq!(keep(&c, &["5", "a", "x", "0"]), (true, false));
        assert_eq!(keep(&c, &["6", "a", "200", "0"]), (true, false));
        assert_eq!(
            keep(&c, &["6", "a", "x", "0"]),
            (false, true),
            "unknown by a text speed"
        );
        assert_eq!(
            keep(&c, &["6", "a", "", "0"]),
            (false, false),
            "missing is not counted"
        );
        // A top-level `and` is two --where: tested in order, the first failure decides.
        let c = compile_one("speed>100 and id=5", &opts);
        assert_eq!(c.len(), 2);
        assert_eq!(keep(&c, &["6", "a", "x", "0"]), (false, true));
        let c = compile_one("(id=5 and speed>100) or id=7", &opts);
        assert_eq!(
            keep(&c, &["6", "a", "x", "0"]),
            (false, false),
            "id=5 false decides"
        );
        assert_eq!(keep(&c, &["5", "a", "x", "0"]), (false, true));
    }

    #[test]
    fn invert_is_the_complement() {
        let opts = FilterOptions {
            invert: true,
            ..FilterOptions::default()
        };
        let c =
            compile_filter(&["speed>100".into(), "occupied=1".into()], &schema(), &opts).unwrap();
        assert_eq!(keep(&c, &["1", "a", "200", "1"]), (false, false));
        assert_eq!(keep(&c, &["1", "a", "200", "0"]), (true, false));
        assert_eq!(keep(&c, &["1", "a", "NA", "1"]), (true, false));
        assert_eq!(keep(&c, &["1", "a", "x", "1"]), (true, false));
    }

    #[test]
    fn ignore_case() {
        let opts = FilterOptions {
            ignore_case: true,
            ..FilterOptions::default()
        };
        assert_eq!(
            keep(&compile_one("name=bob", &opts), &["1", "BoB", "0", "0"]),
            (true, false)
        );
        assert_eq!(
            keep(&compile_one("name!=bob", &opts), &["1", "BOB", "0", "0"]),
            (false, false)
        );
        assert_eq!(
            keep(&compile_one("name~^b.b$", &opts), &["1", "BOB", "0", "0"]),
            (true, false)
        );
        assert_eq!(
            keep(&compile_one("name !~ ^b", &opts), &["1", "Bo", "0", "0"]),
            (false, false)
        );
        assert_eq!(
            keep(
                &compile_one("name in (x, BOB)", &opts),
                &["1", "bob", "0", "0"]
            ),
            (true, false)
        );
        assert_eq!(
            keep(&compile_one("name=été", &opts), &["1", "ÉTÉ", "0", "0"]),
            (true, false)
        );
        // Numbers have no case: still the numeric test, with its needle.
        let c = compile_one("id=5", &opts);
        assert!(matches!(c[0], Condition::Test(_)));
        assert!(compile_one("name=bob", &opts)[0].candidates().is_none());
        let plain = compile_one("name=bob", &FilterOptions::default());
        assert!(plain[0].candidates().is_some());
        assert_eq!(keep(&plain, &["1", "BOB", "0", "0"]), (false, false));
    }

    #[test]
    fn candidates_only_where_sound() {
        let opts = FilterOptions::default();
        let many = |text: &str| {
            matches!(
                compile_one(text, &opts)[0].candidates(),
                Some(Candidates::Many(_))
            )
        };
        assert!(many("id=11865 or id=20001"));
        assert!(many("id in (1, 2, 3)"));
        assert!(many("id=1 or (id in (2, 3) or name=x)"));
        assert!(!many("id=1 or speed>5"));
        assert!(!many("not id=1"));
        assert!(!many("id in (1,2,3,4,5,6,7,8,9)"));
        assert!(matches!(
            compile_one("id=1", &opts)[0].candidates(),
            Some(Candidates::One(_))
        ));
    }

    #[test]
    fn errors_name_the_place() {
        let opts = FilterOptions::default();
        let e = compile_filter(&["id=1 or spead>3".into()], &schema(), &opts).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.starts_with("--where 'id=1 or spead>3' at position 9: unknown column 'spead'"),
            "{shown}"
        );
        assert!(shown.contains("did you mean 'speed'"), "{shown}");
        let e = compile_filter(&["id=1 or nmae in (a)".into()], &schema(), &opts).unwrap_err();
        assert!(
            e.to_string()
                .contains("at position 9: unknown column 'nmae'"),
            "{e}"
        );
        let e =
            compile_filter(&["id in @/nonexistent/ids.txt".into()], &schema(), &opts).unwrap_err();
        assert!(
            e.to_string()
                .contains("at position 1: cannot read /nonexistent/ids.txt"),
            "{e}"
        );
        let e = compile_filter(&["(id=1".into()], &schema(), &opts).unwrap_err();
        assert!(e.to_string().contains("never closed at position 1"), "{e}");
        let e = compile_filter(&["id=1 or name~(".into()], &schema(), &opts).unwrap_err();
        assert!(e.to_string().contains("invalid regex"), "{e}");
    }
}
