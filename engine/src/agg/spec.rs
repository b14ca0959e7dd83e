//! What to compute: `--agg` specs ([`AggSpec`]), `--group-by` keys ([`GroupKey`]), the
//! [`AggPlan`] that holds both, and `--sort` ([`Sort`]). Parsing resolves every column against
//! the [`Schema`] once, so the per-record kernel ([`crate::agg::AggTable`]) only sees field
//! indexes.
//!
//! Texts are kept in a canonical form (function names lower-cased, spaces around the column
//! trimmed: ` MEAN( speed )` is `mean(speed)`) because they are the output column names and
//! what `--sort` refers to.

use crate::input::nulls::NullMarkers;
use crate::input::schema::Schema;
use crate::query::expr::ColumnRef;

use super::error::{suggest, AggError, AGG_NAMES, KEY_NAMES};

/// One aggregate function; the `usize` is the 0-based column it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFn {
    /// Records in the group.
    Count,
    /// Values that are not missing ([`crate::input::nulls`]).
    CountNonEmpty(usize),
    Sum(usize),
    Mean(usize),
    Min(usize),
    Max(usize),
    /// Sample standard deviation (n - 1).
    Stddev(usize),
    /// Exact number of distinct byte strings that are not missing.
    Distinct(usize),
}

impl AggFn {
    pub fn column(&self) -> Option<usize> {
        match *self {
            AggFn::Count => None,
            AggFn::CountNonEmpty(c)
            | AggFn::Sum(c)
            | AggFn::Mean(c)
            | AggFn::Min(c)
            | AggFn::Max(c)
            | AggFn::Stddev(c)
            | AggFn::Distinct(c) => Some(c),
        }
    }

    /// Whether the output is a number (JSON number) rather than text from the data.
    pub fn is_numeric_output(&self) -> bool {
        !matches!(self, AggFn::Min(_) | AggFn::Max(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggSpec {
    /// Canonical text, e.g. `mean(speed)`: the output column name.
    pub text: String,
    pub func: AggFn,
}

/// One group key; the `usize` is the 0-based column it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFn {
    /// The field's bytes as they are.
    Column(usize),
    /// `00`..`23` of a timestamp.
    Hour(usize),
    /// `YYYY-MM-DD` of a timestamp or date.
    Day(usize),
    /// `Mon`..`Sun` of a timestamp or date.
    Weekday(usize),
    /// `YYYY-MM` of a timestamp or date.
    Month(usize),
}

impl KeyFn {
    pub fn column(&self) -> usize {
        match *self {
            KeyFn::Column(c)
            | KeyFn::Hour(c)
            | KeyFn::Day(c)
            | KeyFn::Weekday(c)
            | KeyFn::Month(c) => c,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupKey {
    /// Canonical text, e.g. `id` or `hour(time)`: the output column name.
    pub text: String,
    pub func: KeyFn,
}

/// Everything a worker needs to aggregate a chunk; no keys means one group of totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggPlan {
    pub keys: Vec<GroupKey>,
    pub specs: Vec<AggSpec>,
    /// What counts as missing, in the encoding of the bytes aggregated.
    pub nulls: NullMarkers,
}

impl AggPlan {
    /// Parses `--group-by` (absent: totals) and every `--agg`.
    pub fn parse(
        group_by: Option<&str>,
        aggs: &[&str],
        schema: &Schema,
    ) -> Result<AggPlan, AggError> {
        let keys = match group_by {
            Some(text) => parse_group_by(text, schema)?,
            None => Vec::new(),
        };
        let specs = aggs
            .iter()
            .map(|a| parse_agg(a, schema))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AggPlan {
            keys,
            specs,
            nulls: NullMarkers::default(),
        })
    }

    /// The same plan with `nulls` saying what is missing (the default rule otherwise).
    pub fn with_nulls(mut self, nulls: NullMarkers) -> AggPlan {
        self.nulls = nulls;
        self
    }

    /// The number of leading fields a record must have for every key and spec to read: the
    /// largest column index plus one (0 when nothing reads a column).
    pub fn columns_needed(&self) -> usize {
        let keys = self.keys.iter().map(|k| k.func.column());
        let specs = self.specs.iter().filter_map(|s| s.func.column());
        keys.chain(specs).map(|c| c + 1).max().unwrap_or(0)
    }
}

/// Orders the final rows by one group key or one aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Index into [`AggPlan::keys`].
    Key(usize),
    /// Index into [`AggPlan::specs`].
    Spec(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub by: SortKey,
    pub descending: bool,
}

/// `NAME` or `NAME(ARG)`, both trimmed.
enum Call<'a> {
    Bare(&'a str),
    Func { name: &'a str, arg: &'a str },
}

/// Splits a call; the error is the problem to report about the text.
fn split_call(text: &str) -> Result<Call<'_>, &'static str> {
    let t = text.trim();
    let Some(open) = t.find('(') else {
        if t.contains(')') {
            return Err("found ')' without '('");
        }
        return Ok(Call::Bare(t));
    };
    let name = t[..open].trim();
    if name.is_empty() {
        return Err("expected a function name before '('");
    }
    let Some(inner) = t[open + 1..].strip_suffix(')') else {
        return Err("expected ')' at the end");
    };
    if inner.contains(['(', ')']) {
        return Err("expected one column inside the parentheses (no nested parentheses)");
    }
    Ok(Call::Func {
        name,
        arg: inner.trim(),
    })
}

/// A column as written inside parentheses: all digits is a 1-based position, anything else
/// a name (as in [`crate::query::expr`], whose list parser would split names at commas).
fn column_ref(arg: &str) -> Result<ColumnRef, &'static str> {
    if arg.is_empty() {
        return Err("expected a column inside the parentheses");
    }
    if !arg.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(ColumnRef::Name(arg.to_string()));
    }
    match arg.parse::<usize>() {
        Ok(0) => Err("column positions are 1-based: expected 1 or greater"),
        Ok(n) => Ok(ColumnRef::Index(n)),
        Err(_) => Err("the column position is too large"),
    }
}

fn syntax(what: &'static str, text: &str, problem: impl Into<String>) -> AggError {
    AggError::Syntax {
        what,
        text: text.to_string(),
        problem: problem.into(),
    }
}

fn resolve(what: &'static str, text: &str, arg: &str, schema: &Schema) -> Result<usize, AggError> {
    let col = column_ref(arg).map_err(|p| syntax(what, text, p))?;
    schema.resolve(&col).map_err(|error| AggError::Column {
        what,
        text: text.to_string(),
        error,
    })
}

/// Parses one `--agg` spec: `count`, `count(COL)`, `sum(COL)`, `mean(COL)`, `min(COL)`,
/// `max(COL)`, `stddev(COL)` or `distinct(COL)`; function names ignore ASCII case.
pub fn parse_agg(text: &str, schema: &Schema) -> Result<AggSpec, AggError> {
    const WHAT: &str = "--agg";
    let call = split_call(text).map_err(|p| syntax(WHAT, text, p))?;
    let (name, arg) = match call {
        Call::Bare(name) => (name, None),
        Call::Func { name, arg } => (name, Some(arg)),
    };
    let lname = name.to_ascii_lowercase();
    let make: fn(usize) -> AggFn = match lname.as_str() {
        "count" => AggFn::CountNonEmpty,
        "sum" => AggFn::Sum,
        "mean" => AggFn::Mean,
        "min" => AggFn::Min,
        "max" => AggFn::Max,
        "stddev" => AggFn::Stddev,
        "distinct" => AggFn::Distinct,
        _ if name.is_empty() => {
            return Err(syntax(
                WHAT,
                text,
                "expected an aggregate such as count or mean(COL)",
            ))
        }
        _ => {
            return Err(AggError::UnknownFunction {
                text: text.to_string(),
                name: name.to_string(),
                suggestion: suggest(name, &AGG_NAMES),
            })
        }
    };
    match arg {
        None if lname == "count" => Ok(AggSpec {
            text: lname,
            func: AggFn::Count,
        }),
        None => Err(syntax(
            WHAT,
            text,
            format!("{lname} needs a column: write {lname}(COL)"),
        )),
        Some(arg) => {
            let col = resolve(WHAT, text, arg, schema)?;
            Ok(AggSpec {
                text: format!("{lname}({arg})"),
                func: make(col),
            })
        }
    }
}

/// Splits at commas outside parentheses, so `day(time),id` is two keys.
fn split_top_level(text: &str) -> Result<Vec<&str>, &'static str> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1).ok_or("found ')' without '('")?,
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err("expected ')' to close '('");
    }
    items.push(&text[start..]);
    Ok(items)
}

/// Parses `--group-by KEY[,KEY...]`: a column (name or 1-based position) or `hour(COL)`,
/// `day(COL)`, `weekday(COL)`, `month(COL)` of a timestamp column.
pub fn parse_group_by(text: &str, schema: &Schema) -> Result<Vec<GroupKey>, AggError> {
    const WHAT: &str = "--group-by";
    let items = split_top_level(text).map_err(|p| syntax(WHAT, text, p))?;
    let mut keys = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let item = item.trim();
        if item.is_empty() {
            return Err(syntax(
                WHAT,
                text,
                format!(
                    "key {} is empty: expected a column or hour/day/weekday/month(COL)",
                    n + 1
                ),
            ));
        }
        keys.push(parse_key(item, text, schema)?);
    }
    Ok(keys)
}

fn parse_key(item: &str, whole: &str, schema: &Schema) -> Result<GroupKey, AggError> {
    const WHAT: &str = "--group-by";
    if let Ok(Call::Func { name, arg }) = split_call(item) {
        let lname = name.to_ascii_lowercase();
        let make: Option<fn(usize) -> KeyFn> = match lname.as_str() {
            "hour" => Some(KeyFn::Hour),
            "day" => Some(KeyFn::Day),
            "weekday" => Some(KeyFn::Weekday),
            "month" => Some(KeyFn::Month),
            _ => None,
        };
        if let Some(make) = make {
            let col = resolve(WHAT, whole, arg, schema)?;
            return Ok(GroupKey {
                text: format!("{lname}({arg})"),
                func: make(col),
            });
        }
        // Header names may hold parentheses (`fare(usd)`): a call that is really a
        // column name is a column.
        let as_column = ColumnRef::Name(item.to_string());
        if let Ok(col) = schema.resolve(&as_column) {
            return Ok(GroupKey {
                text: item.to_string(),
                func: KeyFn::Column(col),
            });
        }
        return Err(AggError::UnknownKeyFunction {
            text: whole.to_string(),
            name: name.to_string(),
            suggestion: suggest(name, &KEY_NAMES),
        });
    }
    let col = resolve(WHAT, whole, item, schema)?;
    Ok(GroupKey {
        text: item.to_string(),
        func: KeyFn::Column(col),
    })
}

/// The canonical form [`parse_agg`] and [`parse_group_by`] give a call, for matching
/// `--sort` text against them without re-resolving columns.
fn canonical(text: &str) -> String {
    match split_call(text) {
        Ok(Call::Func { name, arg }) => format!("{}({arg})", name.to_ascii_lowercase()),
        _ => text.trim().to_string(),
    }
}

/// Parses `--sort KEY` (ascending) or `--sort -KEY` (descending), where KEY is a group key
/// or aggregate as written in `--group-by` / `--agg`. Group keys are matched first, so a
/// column called `count` grouped by and counted sorts by the column.
pub fn parse_sort(text: &str, plan: &AggPlan) -> Result<Sort, AggError> {
    let t = text.trim();
    let (descending, name) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim()),
        None => (false, t.strip_prefix('+').unwrap_or(t).trim()),
    };
    if name.is_empty() {
        return Err(syntax(
            "--sort",
            text,
            "expected a group key or aggregate, e.g. -count",
        ));
    }
    let want = canonical(name);
    let by = if let Some(i) = plan.keys.iter().position(|k| k.text == want) {
        SortKey::Key(i)
    } else if let Some(i) = plan.specs.iter().position(|s| s.text == want) {
        SortKey::Spec(i)
    } else if let Some(i) = plan
        .specs
        .iter()
        .position(|s| s.text.eq_ignore_ascii_case(&want))
    {
        SortKey::Spec(i)
    } else {
        return Err(AggError::UnknownSort {
            text: text.to_string(),
            name: name.to_string(),
            known: plan
                .keys
                .iter()
                .map(|k| k.text.clone())
                .chain(plan.specs.iter().map(|s| s.text.clone()))
                .collect(),
        });
    };
    Ok(Sort { by, descending })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn taxi() -> Schema {
        Schema::new(
            Some(
                [
                    "id",
                    "time",
                    "lon",
                    "lat",
                    "speed",
                    "heading",
                    "occupied",
                    "fare(usd)",
                ]
                .map(String::from)
                .to_vec(),
            ),
            0,
        )
    }

    #[test]
    fn every_function() {
        let s = taxi();
        let cases = [
            ("count", AggFn::Count, "count"),
            ("count(speed)", AggFn::CountNonEmpty(4), "count(speed)"),
            (" SUM( speed ) ", AggFn::Sum(4), "sum(speed)"),
            ("mean(5)", AggFn::Mean(4), "mean(5)"),
            ("min(time)", AggFn::Min(1), "min(time)"),
            ("Max(lat)", AggFn::Max(3), "max(lat)"),
            ("stddev(speed)", AggFn::Stddev(4), "stddev(speed)"),
            ("distinct(id)", AggFn::Distinct(0), "distinct(id)"),
            ("COUNT", AggFn::Count, "count"),
        ];
        for (text, func, canon) in cases {
            let spec = parse_agg(text, &s).unwrap();
            assert_eq!(spec.func, func, "{text}");
            assert_eq!(spec.text, canon, "{text}");
        }
    }

    #[test]
    fn agg_errors() {
        let s = taxi();
        let e = parse_agg("avg(speed)", &s).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid --agg 'avg(speed)': unknown function 'avg': did you mean 'mean'? \
             (known: count, count(COL), sum, mean, min, max, stddev, distinct)"
        );
        let e = parse_agg("count(", &s).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid --agg 'count(': expected ')' at the end"
        );
        let e = parse_agg("sum()", &s).unwrap_err();
        assert!(e.to_string().contains("expected a column inside"), "{e}");
        let e = parse_agg("sum", &s).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid --agg 'sum': sum needs a column: write sum(COL)"
        );
        let e = parse_agg("sum(spede)", &s).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid --agg 'sum(spede)': unknown column 'spede'"),
            "{e}"
        );
        assert!(e.to_string().contains("did you mean 'speed'"), "{e}");
        let e = parse_agg("mean(0)", &s).unwrap_err();
        assert!(e.to_string().contains("1-based"), "{e}");
        let e = parse_agg("mean(9)", &s).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        assert!(parse_agg("mean((speed))", &s).is_err());
        assert!(parse_agg("speed)", &s).is_err());
        assert!(parse_agg("(speed)", &s).is_err());
        assert!(parse_agg("", &s).is_err());
        let e = parse_agg("mean(speed)", &Schema::new(None, 7)).unwrap_err();
        assert!(e.to_string().contains("no header"), "{e}");
        for bad in ["avg(speed)", "count(", "sum()", "x(\n)"] {
            assert!(!parse_agg(bad, &s).unwrap_err().to_string().contains('\n'));
        }
    }

    #[test]
    fn group_keys() {
        let s = taxi();
        let keys = parse_group_by(
            " id , hour(time),DAY( time ),weekday(2),month(time),fare(usd)",
            &s,
        )
        .unwrap();
        let got: Vec<(&str, KeyFn)> = keys.iter().map(|k| (k.text.as_str(), k.func)).collect();
        assert_eq!(
            got,
            vec![
                ("id", KeyFn::Column(0)),
                ("hour(time)", KeyFn::Hour(1)),
                ("day(time)", KeyFn::Day(1)),
                ("weekday(2)", KeyFn::Weekday(1)),
                ("month(time)", KeyFn::Month(1)),
                ("fare(usd)", KeyFn::Column(7)),
            ]
        );
        let e = parse_group_by("id,dow(time)", &s).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown function 'dow': did you mean 'weekday'?"),
            "{e}"
        );
        let e = parse_group_by("id,,time", &s).unwrap_err();
        assert!(e.to_string().contains("key 2 is empty"), "{e}");
        assert!(parse_group_by("hour(time", &s).is_err());
        assert!(parse_group_by("hour(time))", &s).is_err());
        assert!(parse_group_by("", &s).is_err());
        let e = parse_group_by("hour(tmie)", &s).unwrap_err();
        assert!(e.to_string().contains("did you mean 'time'"), "{e}");
    }

    #[test]
    fn columns_needed() {
        let s = taxi();
        let plan = AggPlan::parse(Some("hour(time)"), &["count", "mean(speed)"], &s).unwrap();
        assert_eq!(plan.columns_needed(), 5);
        let plan = AggPlan::parse(None, &["count"], &s).unwrap();
        assert_eq!(plan.columns_needed(), 0);
        let plan = AggPlan::parse(Some("occupied"), &["max(lon)"], &s).unwrap();
        assert_eq!(plan.columns_needed(), 7);
    }

    #[test]
    fn sorts() {
        let s = taxi();
        let plan = AggPlan::parse(Some("id,hour(time)"), &["count", "mean(speed)"], &s).unwrap();
        let sort = |t: &str| parse_sort(t, &plan).unwrap();
        assert_eq!(
            sort("-count"),
            Sort {
                by: SortKey::Spec(0),
                descending: true
            }
        );
        assert_eq!(
            sort("count"),
            Sort {
                by: SortKey::Spec(0),
                descending: false
            }
        );
        assert_eq!(
            sort("HOUR( time )"),
            Sort {
                by: SortKey::Key(1),
                descending: false
            }
        );
        assert_eq!(
            sort("-id"),
            Sort {
                by: SortKey::Key(0),
                descending: true
            }
        );
        assert_eq!(
            sort("- MEAN(speed)"),
            Sort {
                by: SortKey::Spec(1),
                descending: true
            }
        );
        let e = parse_sort("-speed", &plan).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid --sort '-speed': no group key or aggregate is called 'speed' \
             (known: id, hour(time), count, mean(speed))"
        );
        assert!(parse_sort("-", &plan).is_err());
    }
}
