//! DataFusion filters that fleet evaluates exactly, compiled for the kernel.
//!
//! A filter is pushed down (`Exact`) only when its SQL meaning on the typed column is what
//! fleet computes on the field text:
//! - `Int64` columns: `=`, `!=`, `<`, `<=`, `>`, `>=` with an integer literal: fleet's exact
//!   decimal comparison on the text is the integer comparison.
//! - `Utf8` columns: the same operators with a string literal that is not a plain decimal
//!   (fleet would compare `'10'` and `'9'` as numbers; SQL compares bytes), `~` (a regex
//!   search, as `--where COL~RE`), `LIKE 'prefix%'`.
//! - `Float64` and `Timestamp` columns: comparisons with a literal of the column's type, done
//!   on the parsed value (fleet's own parsers), so `1e2 = 100` as in SQL.
//! - `IS [NOT] NULL`, `IN (...)`, `AND`, `OR`, `NOT` of the above.
//!
//! A field that is null in the Arrow column ([`NullRule`]: empty, or a null marker where the
//! column's markers are missing values, as `fleet convert` decides) is SQL `NULL`: a
//! comparison with it is unknown, and `AND`/`OR`/`NOT` follow SQL's three-valued logic
//! ([`Cond::eval`]). Top-level conjuncts the kernel decides exactly as SQL does (any
//! comparison on an `Int64` column, where fleet's numeric compare never matches a missing
//! field; `=` on a `Utf8` column with a value that is not null there) become fleet
//! [`Predicate`]s the kernel applies (with its candidate pre-filter for `=`); the rest is a
//! [`Cond`] tested on each kernel match before it becomes an Arrow row.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::{InList, Like};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use fleet_engine::columnar::{
    in_unit, parse_float_loose, parse_timestamp, ColumnType, OutputColumn,
};
use fleet_engine::input::charset::{encode, Encoding};
use fleet_engine::input::nulls::NullMarkers;
use fleet_engine::query::expr::{ColumnRef, Op, WhereExpr};
use fleet_engine::query::number::OwnedDecimal;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::query::timestamp::is_date_or_timestamp;
use std::cmp::Ordering;

/// What the compiler needs to know about the table.
#[derive(Debug, Clone, Copy)]
pub struct FilterContext<'a> {
    pub columns: &'a [OutputColumn],
    pub schema: &'a fleet_engine::input::schema::Schema,
    /// The encoding of the bytes the kernel sees, when it is not UTF-8.
    pub encoding: Option<&'static Encoding>,
    /// The dataset's null markers, in the encoding the kernel sees.
    pub nulls: &'a NullMarkers,
}

/// Which fields are SQL `NULL`: exactly those the Arrow column holds as null (the batch
/// builder's rule), so a pushed filter never disagrees with DataFusion's own evaluation.
#[derive(Debug, Clone)]
pub struct NullRule {
    markers: NullMarkers,
    /// Per table column: the default markers are text there (not null).
    text: Vec<bool>,
}

impl NullRule {
    /// `markers` in the encoding of the bytes tested.
    pub fn new(markers: NullMarkers, columns: &[OutputColumn]) -> NullRule {
        NullRule {
            markers,
            text: columns.iter().map(|c| !c.markers_null).collect(),
        }
    }

    #[inline]
    pub fn is_null(&self, column: usize, value: &[u8]) -> bool {
        is_null(&self.markers, value, self.text[column])
    }
}

/// The batch builder's rule (`columnar`'s `is_null_value`): empty, a marker of a given list,
/// or a default marker in a column that holds no text.
#[inline]
fn is_null(markers: &NullMarkers, value: &[u8], text_column: bool) -> bool {
    value.is_empty()
        || (markers.is_marker(value) && (!text_column || markers.is_null_everywhere(value)))
}

/// A comparison operator of SQL, on an [`Ordering`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn of(op: Operator) -> Option<Cmp> {
        Some(match op {
            Operator::Eq => Cmp::Eq,
            Operator::NotEq => Cmp::Ne,
            Operator::Lt => Cmp::Lt,
            Operator::LtEq => Cmp::Le,
            Operator::Gt => Cmp::Gt,
            Operator::GtEq => Cmp::Ge,
            _ => return None,
        })
    }

    /// The operator with its operands swapped (`5 < x` is `x > 5`).
    fn flipped(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            other => other,
        }
    }

    fn op(self) -> Op {
        match self {
            Cmp::Eq => Op::Eq,
            Cmp::Ne => Op::Ne,
            Cmp::Lt => Op::Lt,
            Cmp::Le => Op::Le,
            Cmp::Gt => Op::Gt,
            Cmp::Ge => Op::Ge,
        }
    }

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

/// A condition on one record's fields, with SQL's three-valued logic.
// Built once per query and walked by reference per record: the size of the largest variant
// (a compiled fleet predicate) costs nothing per row, and boxing it would add a pointer chase.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Cond {
    /// A fleet predicate on a non-empty field (an empty field is unknown).
    Pred(Predicate),
    Float {
        column: usize,
        cmp: Cmp,
        value: f64,
    },
    Time {
        column: usize,
        cmp: Cmp,
        value: i64,
        unit: arrow_schema::TimeUnit,
    },
    /// `LIKE 'prefix%'`: the field's bytes start with these (in the scanned encoding).
    Prefix {
        column: usize,
        prefix: Vec<u8>,
    },
    IsNull(usize),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    /// `Some(true)` true, `Some(false)` false, `None` unknown (SQL NULL).
    pub fn eval<'f>(&self, field: &impl Fn(usize) -> &'f [u8], rule: &NullRule) -> Option<bool> {
        // A field null in its column makes every comparison on it unknown.
        let present = |column: usize| -> Option<&'f [u8]> {
            let value = field(column);
            (!rule.is_null(column, value)).then_some(value)
        };
        match self {
            Cond::Pred(p) => present(p.column()).map(|v| p.matches(v)),
            Cond::Float { column, cmp, value } => {
                let v = parse_float_loose(present(*column)?)?;
                Some(cmp.holds(v.partial_cmp(value)?))
            }
            Cond::Time {
                column,
                cmp,
                value,
                unit,
            } => {
                let v = in_unit(&parse_timestamp(present(*column)?)?, *unit)?;
                Some(cmp.holds(v.cmp(value)))
            }
            Cond::Prefix { column, prefix } => present(*column).map(|v| v.starts_with(prefix)),
            Cond::IsNull(column) => Some(rule.is_null(*column, field(*column))),
            Cond::And(all) => {
                let mut unknown = false;
                for c in all {
                    match c.eval(field, rule) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                (!unknown).then_some(true)
            }
            Cond::Or(any) => {
                let mut unknown = false;
                for c in any {
                    match c.eval(field, rule) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                (!unknown).then_some(false)
            }
            Cond::Not(c) => c.eval(field, rule).map(|b| !b),
        }
    }
}

/// The pushed filters, split for the kernel.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// Applied by the kernel; all must hold.
    pub predicates: Vec<Predicate>,
    /// Tested on each record that passed `predicates`; must be true.
    pub residual: Vec<Cond>,
    /// The filters as SQL text, for EXPLAIN.
    pub shown: Vec<String>,
}

/// Compiles filters that [`supported`] accepted (others are left to DataFusion and ignored).
pub fn compile(filters: &[Expr], cx: FilterContext<'_>) -> Compiled {
    let mut out = Compiled::default();
    for filter in filters {
        let Some(cond) = cond(filter, cx) else {
            continue;
        };
        out.shown.push(filter.to_string());
        push_conjuncts(cond, cx, &mut out);
    }
    out
}

/// Whether fleet evaluates `filter` exactly.
pub fn supported(filter: &Expr, cx: FilterContext<'_>) -> bool {
    cond(filter, cx).is_some()
}

/// Top-level comparisons the kernel decides as SQL does go to the kernel: every comparison
/// on an `Int64` column (fleet's numeric compare never matches a missing field, `!=`
/// included) and `=` on text ([`comparison`] keeps out values that are null in the column,
/// so a null field never equals one). Text orderings and regexes would let null fields in
/// (`"" < "b"`, `NA ~ N`): they stay residual, where [`Cond::eval`] tests nulls first.
fn push_conjuncts(cond: Cond, cx: FilterContext<'_>, out: &mut Compiled) {
    match cond {
        Cond::And(all) => all.into_iter().for_each(|c| push_conjuncts(c, cx, out)),
        Cond::Pred(p)
            if cx.columns[p.column()].ty == ColumnType::Int64
                || (p.op() == Op::Eq && cx.columns[p.column()].ty == ColumnType::Utf8) =>
        {
            out.predicates.push(p);
        }
        other => out.residual.push(other),
    }
}

fn cond(expr: &Expr, cx: FilterContext<'_>) -> Option<Cond> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => Some(Cond::And(vec![cond(left, cx)?, cond(right, cx)?])),
            Operator::Or => Some(Cond::Or(vec![cond(left, cx)?, cond(right, cx)?])),
            Operator::RegexMatch => {
                let column = column_of(left, cx)?;
                let pattern = utf8_literal(right)?;
                (cx.columns[column].ty == ColumnType::Utf8)
                    .then(|| compiled(column, Op::Regex, pattern, cx))
                    .flatten()
                    .map(Cond::Pred)
            }
            _ => {
                let cmp = Cmp::of(*op)?;
                match (column_of(left, cx), column_of(right, cx)) {
                    (Some(column), None) => comparison(column, cmp, literal(right)?, cx),
                    (None, Some(column)) => comparison(column, cmp.flipped(), literal(left)?, cx),
                    _ => None,
                }
            }
        },
        Expr::Not(inner) => Some(Cond::Not(Box::new(cond(inner, cx)?))),
        Expr::IsNull(inner) => Some(Cond::IsNull(column_of(inner, cx)?)),
        Expr::IsNotNull(inner) => Some(Cond::Not(Box::new(Cond::IsNull(column_of(inner, cx)?)))),
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) => {
            let column = column_of(expr, cx)?;
            let any = list
                .iter()
                .map(|item| comparison(column, Cmp::Eq, literal(item)?, cx))
                .collect::<Option<Vec<_>>>()?;
            let any = Cond::Or(any);
            Some(if *negated {
                Cond::Not(Box::new(any))
            } else {
                any
            })
        }
        Expr::Like(Like {
            negated,
            expr,
            pattern,
            escape_char: None,
            case_insensitive: false,
        }) => {
            let column = column_of(expr, cx)?;
            if cx.columns[column].ty != ColumnType::Utf8 {
                return None;
            }
            let text = utf8_literal(pattern)?;
            let prefix = text.strip_suffix('%')?;
            if prefix.contains(['%', '_', '\\']) {
                return None;
            }
            let prefix = match cx.encoding {
                Some(encoding) => encode(encoding, prefix)?,
                None => prefix.as_bytes().to_vec(),
            };
            let like = Cond::Prefix { column, prefix };
            Some(if *negated {
                Cond::Not(Box::new(like))
            } else {
                like
            })
        }
        _ => None,
    }
}

/// A column of this table (by its name in the table's schema).
fn column_of(expr: &Expr, cx: FilterContext<'_>) -> Option<usize> {
    match expr {
        Expr::Column(c) => cx.columns.iter().position(|col| col.name == c.name),
        _ => None,
    }
}

fn literal(expr: &Expr) -> Option<&ScalarValue> {
    match expr {
        Expr::Literal(value, _) if !value.is_null() => Some(value),
        _ => None,
    }
}

fn utf8_literal(expr: &Expr) -> Option<&str> {
    utf8_value(literal(expr)?)
}

fn utf8_value(value: &ScalarValue) -> Option<&str> {
    match value {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s),
        _ => None,
    }
}

fn integer(value: &ScalarValue) -> Option<i128> {
    Some(match value {
        ScalarValue::Int8(Some(v)) => i128::from(*v),
        ScalarValue::Int16(Some(v)) => i128::from(*v),
        ScalarValue::Int32(Some(v)) => i128::from(*v),
        ScalarValue::Int64(Some(v)) => i128::from(*v),
        ScalarValue::UInt8(Some(v)) => i128::from(*v),
        ScalarValue::UInt16(Some(v)) => i128::from(*v),
        ScalarValue::UInt32(Some(v)) => i128::from(*v),
        ScalarValue::UInt64(Some(v)) => i128::from(*v),
        _ => return None,
    })
}

/// A Decimal128 value as decimal text (`-12.500` for -12500 at scale 3); `None` for a
/// negative scale.
fn decimal_text(value: i128, scale: i8) -> Option<String> {
    let scale = usize::try_from(scale).ok()?;
    let digits = value.unsigned_abs().to_string();
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    let sign = if value < 0 { "-" } else { "" };
    Some(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

/// `column cmp value`, when fleet evaluates it exactly for the column's type.
fn comparison(column: usize, cmp: Cmp, value: &ScalarValue, cx: FilterContext<'_>) -> Option<Cond> {
    let col = &cx.columns[column];
    match col.ty {
        ColumnType::Int64 => {
            let text = integer(value)?.to_string();
            compiled(column, cmp.op(), &text, cx).map(Cond::Pred)
        }
        ColumnType::Decimal => {
            // Exact on both sides: fleet compares the field's decimal digits with the
            // literal's, as DataFusion compares Decimal128 values.
            let text = match value {
                ScalarValue::Decimal128(Some(v), _, scale) => decimal_text(*v, *scale)?,
                other => integer(other)?.to_string(),
            };
            compiled(column, cmp.op(), &text, cx).map(Cond::Pred)
        }
        ColumnType::Utf8 => {
            // fleet reads a number or a time value as one (and skips missing fields);
            // SQL compares the text: only other values mean the same to both. A value that
            // is null in this column would equal the null fields, which SQL never does.
            let text = utf8_value(value)?;
            if text.is_empty()
                || OwnedDecimal::parse(text.as_bytes()).is_some()
                || is_date_or_timestamp(text.as_bytes())
                || is_null(cx.nulls, text.as_bytes(), !col.markers_null)
            {
                return None;
            }
            compiled(column, cmp.op(), text, cx).map(Cond::Pred)
        }
        ColumnType::Float64 => {
            let value = match value {
                ScalarValue::Float64(Some(v)) => *v,
                ScalarValue::Float32(Some(v)) => f64::from(*v),
                other => {
                    let i = integer(other)?;
                    let f = i as f64;
                    (f as i128 == i).then_some(f)?
                }
            };
            value
                .is_finite()
                .then_some(Cond::Float { column, cmp, value })
        }
        ColumnType::Timestamp => {
            use arrow_schema::TimeUnit;
            let (value, unit, zone) = match value {
                ScalarValue::TimestampSecond(Some(v), z) => (*v, TimeUnit::Second, z),
                ScalarValue::TimestampMillisecond(Some(v), z) => (*v, TimeUnit::Millisecond, z),
                ScalarValue::TimestampMicrosecond(Some(v), z) => (*v, TimeUnit::Microsecond, z),
                ScalarValue::TimestampNanosecond(Some(v), z) => (*v, TimeUnit::Nanosecond, z),
                _ => return None,
            };
            // The literal must be the same kind of time as the column: wall clock (no zone)
            // or UTC instants.
            let same_kind = match zone.as_deref() {
                None => !col.utc,
                Some(z) => col.utc && matches!(z, "UTC" | "+00:00" | "Z"),
            };
            (unit == col.unit && same_kind).then_some(Cond::Time {
                column,
                cmp,
                value,
                unit,
            })
        }
    }
}

/// A fleet predicate on the column at 0-based `column`, for the bytes the kernel sees.
fn compiled(column: usize, op: Op, value: &str, cx: FilterContext<'_>) -> Option<Predicate> {
    let expr = WhereExpr {
        column: ColumnRef::Index(column + 1),
        op,
        value: value.to_string(),
    };
    let schema = fleet_engine::input::schema::Schema::new(None, column + 1);
    let p = Predicate::compile(&expr, &schema)
        .ok()?
        .with_nulls(cx.nulls.clone());
    Some(match cx.encoding {
        Some(encoding) => p.in_encoding(encoding),
        None => p,
    })
}
