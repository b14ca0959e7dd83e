//! The one error type of the aggregation module: bad `--agg`, `--group-by` and `--sort` text,
//! and tables that do not decode. Every message is one line and quotes the argument it is
//! about, because the CLI prints it as is.

use crate::input::schema::SchemaError;
use crate::text::one_line;

/// Names the aggregate functions in messages, in the order the docs list them.
pub(crate) const AGG_NAMES: [&str; 13] = [
    "count",
    "sum",
    "mean",
    "min",
    "max",
    "stddev",
    "distinct",
    "median",
    "quantile",
    "approx_quantile",
    "first",
    "last",
    "count(COL)",
];

/// Names the group-key functions in messages.
pub(crate) const KEY_NAMES: [&str; 7] =
    ["hour", "day", "date", "weekday", "month", "bucket", "bin"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggError {
    #[error("invalid --agg '{}': unknown function '{}'{} (known: count, count(COL), sum, mean, min, max, stddev, distinct, median, quantile, approx_quantile, first, last)", one_line(.text), one_line(.name), suggestion_text(.suggestion))]
    UnknownFunction {
        text: String,
        name: String,
        suggestion: Option<String>,
    },
    #[error("invalid --group-by '{}': unknown function '{}'{} (known: hour, day, date, weekday, month, bucket, bin, or a column)", one_line(.text), one_line(.name), suggestion_text(.suggestion))]
    UnknownKeyFunction {
        text: String,
        name: String,
        suggestion: Option<String>,
    },
    /// `what` is the flag (`--agg`, `--group-by`, `--sort`); `problem` says what was expected.
    #[error("invalid {what} '{}': {problem}", one_line(.text))]
    Syntax {
        what: &'static str,
        text: String,
        problem: String,
    },
    // Not named `source`: the schema message is already part of this line, and a chained
    // source would make `{:#}` printers repeat it.
    #[error("invalid {what} '{}': {error}", one_line(.text))]
    Column {
        what: &'static str,
        text: String,
        error: SchemaError,
    },
    #[error("invalid --sort '{}': no group key or aggregate is called '{}' (known: {})", one_line(.text), one_line(.name), .known.iter().map(|k| one_line(k)).collect::<Vec<_>>().join(", "))]
    UnknownSort {
        text: String,
        name: String,
        known: Vec<String>,
    },
    #[error("invalid --top-by '{}': it must be one of the --group-by keys (known: {})", one_line(.text), .known.iter().map(|k| one_line(k)).collect::<Vec<_>>().join(", "))]
    UnknownTopBy { text: String, known: Vec<String> },
    #[error("invalid aggregate table: {reason} at byte {offset}")]
    Decode { reason: &'static str, offset: usize },
    /// A table's Arrow state batch (`fleet agg --cluster`) that cannot be written or read.
    #[error("invalid aggregate state batch: {0}")]
    StateBatch(String),
    /// Writing or reading back the groups spilled past `--memory`.
    #[error("cannot spill groups past --memory to the temporary folder ({dir}): {0}", dir = std::env::temp_dir().display())]
    Spill(String),
    /// One of the parts spilled groups are split into does not fit the limit by itself.
    #[error("the groups do not fit --memory {}: spilled groups are merged in 64 parts and part {partition} alone needs {} ({groups} groups); raise --memory", crate::text::human_bytes(*.limit), crate::text::human_bytes(*.bytes))]
    PartitionTooLarge {
        partition: usize,
        groups: usize,
        bytes: u64,
        limit: u64,
    },
}

impl AggError {
    pub(crate) fn spill(e: std::io::Error) -> AggError {
        AggError::Spill(e.to_string())
    }
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map_or_else(String::new, |s| {
        format!(": did you mean '{}'?", one_line(s))
    })
}

/// The known name a mistyped function most likely meant: common names from other tools
/// first (people type `avg` because SQL has it), then the closest spelling.
pub(crate) fn suggest(name: &str, known: &[&str]) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "avg" | "average" | "mu" => Some("mean"),
        "std" | "stdev" | "sd" | "stddev_samp" | "std_dev" => Some("stddev"),
        "nunique" | "n_unique" | "uniq" | "unique" | "count_distinct" | "countdistinct"
        | "approx_distinct" => Some("distinct"),
        "total" => Some("sum"),
        "minimum" | "least" => Some("min"),
        "maximum" | "greatest" => Some("max"),
        "len" | "size" | "n" => Some("count"),
        "dow" | "dayofweek" | "day_of_week" | "wday" => Some("weekday"),
        "time_bucket" | "window" | "floor" => Some("bucket"),
        "histogram" | "bucketize" => Some("bin"),
        "percentile" | "quantile_cont" | "percentile_cont" => Some("quantile"),
        "approx_percentile" | "percentile_approx" => Some("approx_quantile"),
        "any_value" | "arg_min" => Some("first"),
        "hr" | "hours" => Some("hour"),
        "mon" | "months" => Some("month"),
        _ => None,
    };
    if let Some(a) = alias.filter(|a| known.contains(a)) {
        return Some(a.to_string());
    }
    known
        .iter()
        .filter(|k| !k.contains('('))
        .map(|k| {
            (
                k,
                strsim::jaro_winkler(&lower, k),
                strsim::levenshtein(&lower, k),
            )
        })
        .filter(|&(_, sim, dist)| sim >= 0.8 || (dist <= 2 && dist < lower.chars().count()))
        .max_by(|a, b| {
            a.1.partial_cmp(&b.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.2.cmp(&a.2))
        })
        .map(|(k, _, _)| (*k).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_spelling() {
        assert_eq!(suggest("avg", &AGG_NAMES).as_deref(), Some("mean"));
        assert_eq!(suggest("AVG", &AGG_NAMES).as_deref(), Some("mean"));
        assert_eq!(suggest("nunique", &AGG_NAMES).as_deref(), Some("distinct"));
        assert_eq!(suggest("stdev", &AGG_NAMES).as_deref(), Some("stddev"));
        assert_eq!(suggest("sun", &AGG_NAMES).as_deref(), Some("sum"));
        assert_eq!(suggest("dow", &KEY_NAMES).as_deref(), Some("weekday"));
        assert_eq!(suggest("hours", &KEY_NAMES).as_deref(), Some("hour"));
        // An alias for the other list is not offered.
        assert_eq!(suggest("avg", &KEY_NAMES), None);
        assert_eq!(suggest("zzzzzz", &AGG_NAMES), None);
    }

    #[test]
    fn messages_are_one_line_and_name_the_text() {
        let e = AggError::UnknownFunction {
            text: "avg(\nspeed)".into(),
            name: "avg".into(),
            suggestion: Some("mean".into()),
        };
        let m = e.to_string();
        assert!(!m.contains('\n'), "{m}");
        assert!(m.contains("avg(\\nspeed)"), "{m}");
        assert!(m.contains("did you mean 'mean'?"), "{m}");
        let e = AggError::Decode {
            reason: "truncated",
            offset: 7,
        };
        assert_eq!(
            e.to_string(),
            "invalid aggregate table: truncated at byte 7"
        );
    }
}
