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
    /// Exact quantile with linear interpolation between the two nearest ranks (DuckDB's
    /// `quantile_cont`); the `u32` is the fraction in billionths (`median` is 500_000_000).
    Quantile(usize, u32),
    /// Quantile from a mergeable DDSketch (relative error 1%); same fraction as `Quantile`.
    ApproxQuantile(usize, u32),
    /// The group's first value that is not missing, in file order.
    First(usize),
    /// The group's last value that is not missing, in file order.
    Last(usize),
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
            | AggFn::Distinct(c)
            | AggFn::Quantile(c, _)
            | AggFn::ApproxQuantile(c, _)
            | AggFn::First(c)
            | AggFn::Last(c) => Some(c),
        }
    }

    /// Whether the output is a number (JSON number) rather than text from the data.
    pub fn is_numeric_output(&self) -> bool {
        !matches!(
            self,
            AggFn::Min(_) | AggFn::Max(_) | AggFn::First(_) | AggFn::Last(_)
        )
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
    /// The start (`YYYY-MM-DD HH:MM:SS`) of the fixed window of this many seconds holding a
    /// timestamp; windows are aligned on 2000-01-03 00:00:00 UTC as DuckDB's `time_bucket`.
    Bucket(usize, u64),
    /// The lower edge of the numeric bin of this width (in 10^-9 units, positive) holding
    /// a number: `floor(v / w) * w`, exact.
    Bin(usize, i128),
}

impl KeyFn {
    pub fn column(&self) -> usize {
        match *self {
            KeyFn::Column(c)
            | KeyFn::Hour(c)
            | KeyFn::Day(c)
            | KeyFn::Weekday(c)
            | KeyFn::Month(c)
            | KeyFn::Bucket(c, _)
            | KeyFn::Bin(c, _) => c,
        }
    }

    /// Whether the key reads its column as a timestamp (and so follows its [`TimeFormat`]).
    pub fn is_time(&self) -> bool {
        !matches!(self, KeyFn::Column(_) | KeyFn::Bin(..))
    }
}

/// How a column's timestamps are written, for the time keys (`hour`, `day`, `bucket`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// `YYYY-MM-DD[ HH:MM:SS[.F]]` (or `T` between date and time), read as UTC.
    #[default]
    Text,
    /// Integer seconds since 1970-01-01 00:00:00 UTC (may be negative).
    EpochS,
    /// Integer milliseconds since 1970-01-01 00:00:00 UTC (may be negative).
    EpochMs,
}

impl TimeFormat {
    /// `text`, `epoch_s` or `epoch_ms` (ASCII case ignored; `-` for `_` allowed).
    pub fn parse(text: &str) -> Option<TimeFormat> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "text" => Some(TimeFormat::Text),
            "epoch_s" | "epoch" | "unix" | "unix_s" => Some(TimeFormat::EpochS),
            "epoch_ms" | "unix_ms" => Some(TimeFormat::EpochMs),
            _ => None,
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
    /// Columns whose timestamps are not text (`--time-format`, `fleet.toml`'s `time_format`).
    pub times: Vec<(usize, TimeFormat)>,
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
            times: Vec::new(),
        })
    }

    /// The same plan with these columns' timestamps read as `TimeFormat` (later entries for
    /// the same column win).
    pub fn with_time_formats(mut self, times: Vec<(usize, TimeFormat)>) -> AggPlan {
        self.times = times;
        self
    }

    /// How column `column`'s timestamps are written.
    #[inline]
    pub fn time_format(&self, column: usize) -> TimeFormat {
        self.times
            .iter()
            .rev()
            .find(|(c, _)| *c == column)
            .map_or(TimeFormat::Text, |&(_, f)| f)
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

/// One term of `--sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortTerm {
    pub by: SortKey,
    pub descending: bool,
}

/// `--sort KEY[,KEY...]`: rows ordered by the first term, ties by the next, and remaining
/// ties by the full key tuple ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub terms: Vec<SortTerm>,
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
/// `max(COL)`, `stddev(COL)`, `distinct(COL)`, `median(COL)`, `quantile(COL, Q)`,
/// `approx_quantile(COL, Q)`, `first(COL)` or `last(COL)`; function names ignore ASCII case.
pub fn parse_agg(text: &str, schema: &Schema) -> Result<AggSpec, AggError> {
    const WHAT: &str = "--agg";
    let call = split_call(text).map_err(|p| syntax(WHAT, text, p))?;
    let (name, arg) = match call {
        Call::Bare(name) => (name, None),
        Call::Func { name, arg } => (name, Some(arg)),
    };
    let lname = name.to_ascii_lowercase();
    enum Shape {
        Plain(fn(usize) -> AggFn),
        Fraction(fn(usize, u32) -> AggFn),
    }
    let shape = match lname.as_str() {
        "count" => Shape::Plain(AggFn::CountNonEmpty),
        "sum" => Shape::Plain(AggFn::Sum),
        "mean" => Shape::Plain(AggFn::Mean),
        "min" => Shape::Plain(AggFn::Min),
        "max" => Shape::Plain(AggFn::Max),
        "stddev" => Shape::Plain(AggFn::Stddev),
        "distinct" => Shape::Plain(AggFn::Distinct),
        "median" => Shape::Plain(|c| AggFn::Quantile(c, HALF)),
        "first" => Shape::Plain(AggFn::First),
        "last" => Shape::Plain(AggFn::Last),
        "quantile" => Shape::Fraction(AggFn::Quantile),
        "approx_quantile" => Shape::Fraction(AggFn::ApproxQuantile),
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
    let arg = match arg {
        None if lname == "count" => {
            return Ok(AggSpec {
                text: lname,
                func: AggFn::Count,
            })
        }
        None => {
            let form = match shape {
                Shape::Plain(_) => "(COL)",
                Shape::Fraction(_) => "(COL, Q)",
            };
            return Err(syntax(
                WHAT,
                text,
                format!("{lname} needs a column: write {lname}{form}"),
            ));
        }
        Some(arg) => arg,
    };
    match shape {
        Shape::Plain(make) => {
            let col = resolve(WHAT, text, arg, schema)?;
            Ok(AggSpec {
                text: format!("{lname}({arg})"),
                func: make(col),
            })
        }
        Shape::Fraction(make) => {
            let Some((column, q)) = arg.rsplit_once(',') else {
                return Err(syntax(
                    WHAT,
                    text,
                    format!("{lname} needs a column and a fraction: write {lname}(COL, 0.95)"),
                ));
            };
            let (column, q) = (column.trim(), q.trim());
            let col = resolve(WHAT, text, column, schema)?;
            let q_billionths = parse_fraction(q).ok_or_else(|| {
                syntax(
                    WHAT,
                    text,
                    format!("the fraction '{q}' is not a number from 0 to 1 (e.g. 0.95)"),
                )
            })?;
            Ok(AggSpec {
                text: format!("{lname}({column},{q})"),
                func: make(col, q_billionths),
            })
        }
    }
}

/// One half in billionths: `median` is `quantile(COL, 0.5)`.
const HALF: u32 = 500_000_000;

/// A fraction 0..=1 written as a plain decimal with at most 9 fraction digits
/// (`0.95`, `.5`, `1`), in billionths.
fn parse_fraction(text: &str) -> Option<u32> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let plain = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !plain(int) || !plain(frac) || frac.len() > 9 {
        return None;
    }
    if text.ends_with('.') {
        return None;
    }
    let q = super::exact::scaled(format!("0{text}").as_bytes())?;
    u32::try_from(q).ok().filter(|&q| q <= 1_000_000_000)
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
            "day" | "date" => Some(KeyFn::Day),
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
        if lname == "bucket" || lname == "bin" {
            let Some((column, width)) = arg.rsplit_once(',') else {
                let example = if lname == "bucket" { "15m" } else { "10" };
                return Err(syntax(
                    WHAT,
                    whole,
                    format!("{lname} needs a column and a width: write {lname}(COL, {example})"),
                ));
            };
            let (column, width) = (column.trim(), width.trim());
            let col = resolve(WHAT, whole, column, schema)?;
            let func = if lname == "bucket" {
                let secs = parse_duration(width).ok_or_else(|| {
                    syntax(
                        WHAT,
                        whole,
                        format!(
                            "the window '{width}' is not a whole number of seconds, minutes, \
                             hours or days (e.g. 30s, 5m, 15m, 1h, 1d)"
                        ),
                    )
                })?;
                KeyFn::Bucket(col, secs)
            } else {
                let w = super::exact::scaled(width.as_bytes())
                    .filter(|&w| w > 0)
                    .ok_or_else(|| {
                        syntax(
                            WHAT,
                            whole,
                            format!(
                                "the bin width '{width}' is not a positive number with at most \
                                 9 decimals (e.g. 10 or 0.5)"
                            ),
                        )
                    })?;
                let decimals = width.split_once('.').map_or(0, |(_, f)| f.len());
                if width.contains(['e', 'E']) || decimals > 9 {
                    return Err(syntax(
                        WHAT,
                        whole,
                        format!("the bin width '{width}' has more than 9 decimals"),
                    ));
                }
                KeyFn::Bin(col, w)
            };
            return Ok(GroupKey {
                text: format!("{lname}({column},{width})"),
                func,
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

/// `N` followed by `s`, `m`, `h` or `d` (N > 0), in seconds; at most 10,000 days.
fn parse_duration(text: &str) -> Option<u64> {
    let unit = text.chars().last()?;
    let per = match unit.to_ascii_lowercase() {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let n = &text[..text.len() - 1];
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = n.parse::<u64>().ok()?.checked_mul(per)?;
    (1..=10_000 * 86_400).contains(&secs).then_some(secs)
}

/// The canonical form [`parse_agg`] and [`parse_group_by`] give a call, for matching
/// `--sort` text against them without re-resolving columns.
fn canonical(text: &str) -> String {
    match split_call(text) {
        Ok(Call::Func { name, arg }) => {
            let arg = match arg.rsplit_once(',') {
                Some((a, b)) => format!("{},{}", a.trim(), b.trim()),
                None => arg.to_string(),
            };
            format!("{}({arg})", name.to_ascii_lowercase())
        }
        _ => text.trim().to_string(),
    }
}

/// Parses `--sort KEY[,KEY...]`, each `KEY` (ascending) or `-KEY` (descending), where KEY is
/// a group key or aggregate as written in `--group-by` / `--agg`. Group keys are matched
/// first, so a column called `count` grouped by and counted sorts by the column.
pub fn parse_sort(text: &str, plan: &AggPlan) -> Result<Sort, AggError> {
    let items = split_top_level(text).map_err(|p| syntax("--sort", text, p))?;
    let terms = items
        .iter()
        .map(|item| parse_sort_term(item, text, plan))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sort { terms })
}

/// The group key `--top-by` names (as written in `--group-by`): its index in the plan.
pub fn parse_top_by(text: &str, plan: &AggPlan) -> Result<usize, AggError> {
    let want = canonical(text);
    plan.keys
        .iter()
        .position(|k| k.text == want)
        .ok_or_else(|| AggError::UnknownTopBy {
            text: text.to_string(),
            known: plan.keys.iter().map(|k| k.text.clone()).collect(),
        })
}

fn parse_sort_term(item: &str, whole: &str, plan: &AggPlan) -> Result<SortTerm, AggError> {
    let t = item.trim();
    let (descending, name) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim()),
        None => (false, t.strip_prefix('+').unwrap_or(t).trim()),
    };
    if name.is_empty() {
        return Err(syntax(
            "--sort",
            whole,
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
            text: whole.to_string(),
            name: name.to_string(),
            known: plan
                .keys
                .iter()
                .map(|k| k.text.clone())
                .chain(plan.specs.iter().map(|s| s.text.clone()))
                .collect(),
        });
    };
    Ok(SortTerm { by, descending })
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
             (known: count, count(COL), sum, mean, min, max, stddev, distinct, median, quantile, \
             approx_quantile, first, last)"
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
        let sort = |t: &str| parse_sort(t, &plan).unwrap().terms[0];
        assert_eq!(
            sort("-count"),
            SortTerm {
                by: SortKey::Spec(0),
                descending: true
            }
        );
        assert_eq!(
            sort("count"),
            SortTerm {
                by: SortKey::Spec(0),
                descending: false
            }
        );
        assert_eq!(
            sort("HOUR( time )"),
            SortTerm {
                by: SortKey::Key(1),
                descending: false
            }
        );
        assert_eq!(
            sort("-id"),
            SortTerm {
                by: SortKey::Key(0),
                descending: true
            }
        );
        assert_eq!(
            sort("- MEAN(speed)"),
            SortTerm {
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

    #[test]
    fn new_keys_and_specs() {
        let s = taxi();
        let keys =
            parse_group_by("id, date(time),bucket( time , 15m ),bin(speed, 2.5)", &s).unwrap();
        let texts: Vec<&str> = keys.iter().map(|k| k.text.as_str()).collect();
        assert_eq!(
            texts,
            ["id", "date(time)", "bucket(time,15m)", "bin(speed,2.5)"]
        );
        assert_eq!(keys[1].func, KeyFn::Day(1));
        assert_eq!(keys[2].func, KeyFn::Bucket(1, 900));
        assert_eq!(keys[3].func, KeyFn::Bin(4, 2_500_000_000));
        assert_eq!(
            parse_group_by("bucket(time,1d)", &s).unwrap()[0].func,
            KeyFn::Bucket(1, 86_400)
        );
        for bad in [
            "bucket(time)",
            "bucket(time,0m)",
            "bucket(time,15x)",
            "bucket(time,m)",
            "bin(speed,0)",
            "bin(speed,-1)",
            "bin(speed,abc)",
            "bin(speed,0.0000000001)",
            "bucket(nope,1h)",
        ] {
            let e = parse_group_by(bad, &s).unwrap_err().to_string();
            assert!(e.starts_with(&format!("invalid --group-by '{bad}'")), "{e}");
        }
        let agg = |t: &str| parse_agg(t, &s).unwrap();
        assert_eq!(agg("median(speed)").func, AggFn::Quantile(4, 500_000_000));
        assert_eq!(agg("MEDIAN(speed)").text, "median(speed)");
        assert_eq!(
            agg("quantile(speed, 0.95)").func,
            AggFn::Quantile(4, 950_000_000)
        );
        assert_eq!(agg("quantile(speed, 0.95)").text, "quantile(speed,0.95)");
        assert_eq!(
            agg("quantile(speed,1)").func,
            AggFn::Quantile(4, 1_000_000_000)
        );
        assert_eq!(
            agg("quantile(speed,.5)").func,
            AggFn::Quantile(4, 500_000_000)
        );
        assert_eq!(
            agg("approx_quantile(speed,0.5)").func,
            AggFn::ApproxQuantile(4, 500_000_000)
        );
        assert_eq!(agg("first(id)").func, AggFn::First(0));
        assert_eq!(agg("last(id)").func, AggFn::Last(0));
        for bad in [
            "quantile(speed)",
            "quantile(speed,1.5)",
            "quantile(speed,-0.1)",
            "quantile(speed,x)",
            "quantile(speed,0.1234567891)",
            "median",
        ] {
            assert!(parse_agg(bad, &s).is_err(), "{bad}");
        }
        let e = parse_agg("percentile(speed,0.5)", &s)
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean 'quantile'"), "{e}");
    }

    #[test]
    fn sort_lists_and_top_by() {
        let s = taxi();
        let plan = AggPlan::parse(
            Some("date(time),id"),
            &["count", "quantile(speed, 0.5)"],
            &s,
        )
        .unwrap();
        let sort = parse_sort("-count, id,quantile(speed , 0.5)", &plan).unwrap();
        assert_eq!(
            sort.terms,
            [
                SortTerm {
                    by: SortKey::Spec(0),
                    descending: true
                },
                SortTerm {
                    by: SortKey::Key(1),
                    descending: false
                },
                SortTerm {
                    by: SortKey::Spec(1),
                    descending: false
                }
            ]
        );
        assert!(parse_sort("-count,", &plan).is_err());
        assert_eq!(parse_top_by("date( time )", &plan).unwrap(), 0);
        let e = parse_top_by("count", &plan).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid --top-by 'count': it must be one of the --group-by keys (known: date(time), id)"
        );
    }

    #[test]
    fn time_formats() {
        assert_eq!(TimeFormat::parse("epoch_s"), Some(TimeFormat::EpochS));
        assert_eq!(TimeFormat::parse("EPOCH-MS"), Some(TimeFormat::EpochMs));
        assert_eq!(TimeFormat::parse("text"), Some(TimeFormat::Text));
        assert_eq!(TimeFormat::parse("iso"), None);
        let plan = AggPlan::parse(Some("hour(time)"), &["count"], &taxi())
            .unwrap()
            .with_time_formats(vec![(1, TimeFormat::EpochS), (1, TimeFormat::EpochMs)]);
        assert_eq!(plan.time_format(1), TimeFormat::EpochMs);
        assert_eq!(plan.time_format(0), TimeFormat::Text);
    }
}
