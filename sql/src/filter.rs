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
//! - `IS [NOT] NULL` (an empty field is null), `IN (...)`, `AND`, `OR`, `NOT` of the above.
//!
//! An empty field is SQL `NULL`: a comparison with it is unknown, and `AND`/`OR`/`NOT` follow
//! SQL's three-valued logic ([`Cond::eval`]). Top-level conjuncts that are plain comparisons
//! become fleet [`Predicate`]s the kernel applies (with its candidate pre-filter for `=`);
//! the rest is a [`Cond`] tested on each kernel match before it becomes an Arrow row.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::{InList, Like};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use fleet_engine::columnar::{parse_float_loose, parse_timestamp, ColumnType, OutputColumn};
use fleet_engine::input::charset::{encode, Encoding};
use fleet_engine::query::expr::{ColumnRef, Op, WhereExpr};
use fleet_engine::query::number::OwnedDecimal;
use fleet_engine::query::predicate::Predicate;
use std::cmp::Ordering;

/// What the compiler needs to know about the table.
#[derive(Debug, Clone, Copy)]
pub struct FilterContext<'a> {
    pub columns: &'a [OutputColumn],
    pub schema: &'a fleet_engine::input::schema::Schema,
    /// The encoding of the bytes the kernel sees, when it is not UTF-8.
    pub encoding: Option<&'static Encoding>,
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
    pub fn eval<'f>(&self, field: &impl Fn(usize) -> &'f [u8]) -> Option<bool> {
        match self {
            Cond::Pred(p) => {
                let value = field(p.column());
                (!value.is_empty()).then(|| p.matches(value))
            }
            Cond::Float { column, cmp, value } => {
                let v = parse_float_loose(field(*column))?;
                Some(cmp.holds(v.partial_cmp(value)?))
            }
            Cond::Time {
                column,
                cmp,
                value,
                unit,
            } => {
                let v = parse_timestamp(field(*column))?.in_unit(*unit)?;
                Some(cmp.holds(v.cmp(value)))
            }
            Cond::Prefix { column, prefix } => {
                let value = field(*column);
                (!value.is_empty()).then(|| value.starts_with(prefix))
            }
            Cond::IsNull(column) => Some(field(*column).is_empty()),
            Cond::And(all) => {
                let mut unknown = false;
                for c in all {
                    match c.eval(field) {
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
                    match c.eval(field) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                (!unknown).then_some(false)
            }
            Cond::Not(c) => c.eval(field).map(|b| !b),
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
        push_conjuncts(cond, &mut out);
    }
    out
}

/// Whether fleet evaluates `filter` exactly.
pub fn supported(filter: &Expr, cx: FilterContext<'_>) -> bool {
    cond(filter, cx).is_some()
}

/// Top-level comparisons go to the kernel, with a guard that keeps empty fields (NULL) out
/// where fleet's byte comparison would let them in (`"" != "5"`, `"" < "5"`).
fn push_conjuncts(cond: Cond, out: &mut Compiled) {
    match cond {
        Cond::And(all) => all.into_iter().for_each(|c| push_conjuncts(c, out)),
        Cond::Pred(p) => {
            if matches!(p.op(), Op::Ne | Op::Lt | Op::Le) {
                if let Some(guard) = compiled(p.column(), Op::Ne, "") {
                    out.predicates.push(guard);
                }
            }
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
                    .then(|| compiled(column, Op::Regex, pattern))
                    .flatten()
                    .map(|p| Cond::Pred(with_encoding(p, cx)))
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

/// `column cmp value`, when fleet evaluates it exactly for the column's type.
fn comparison(column: usize, cmp: Cmp, value: &ScalarValue, cx: FilterContext<'_>) -> Option<Cond> {
    let col = &cx.columns[column];
    match col.ty {
        ColumnType::Int64 => {
            let text = integer(value)?.to_string();
            compiled(column, cmp.op(), &text).map(Cond::Pred)
        }
        ColumnType::Utf8 => {
            let text = utf8_value(value)?;
            if text.is_empty() || OwnedDecimal::parse(text.as_bytes()).is_some() {
                return None;
            }
            compiled(column, cmp.op(), text).map(|p| Cond::Pred(with_encoding(p, cx)))
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
            let (value, unit) = match value {
                ScalarValue::TimestampSecond(Some(v), None) => (*v, arrow_schema::TimeUnit::Second),
                ScalarValue::TimestampMillisecond(Some(v), None) => {
                    (*v, arrow_schema::TimeUnit::Millisecond)
                }
                ScalarValue::TimestampMicrosecond(Some(v), None) => {
                    (*v, arrow_schema::TimeUnit::Microsecond)
                }
                ScalarValue::TimestampNanosecond(Some(v), None) => {
                    (*v, arrow_schema::TimeUnit::Nanosecond)
                }
                _ => return None,
            };
            (unit == col.unit).then_some(Cond::Time {
                column,
                cmp,
                value,
                unit,
            })
        }
    }
}

/// A fleet predicate on the column at 0-based `column`.
fn compiled(column: usize, op: Op, value: &str) -> Option<Predicate> {
    let expr = WhereExpr {
        column: ColumnRef::Index(column + 1),
        op,
        value: value.to_string(),
    };
    let schema = fleet_engine::input::schema::Schema::new(None, column + 1);
    Predicate::compile(&expr, &schema).ok()
}

fn with_encoding(p: Predicate, cx: FilterContext<'_>) -> Predicate {
    match cx.encoding {
        Some(encoding) => p.in_encoding(encoding),
        None => p,
    }
}
