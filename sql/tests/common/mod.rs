//! What the sql crate's test files share.
#![allow(clippy::unwrap_used)]

use fleet_sql::datafusion::arrow::array::RecordBatch;

/// A batch as rows of display text (NULL as "").
pub fn text_rows(b: &RecordBatch) -> Vec<Vec<String>> {
    use fleet_sql::datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let opts = FormatOptions::default();
    let cols: Vec<ArrayFormatter> = b
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
        .collect();
    (0..b.num_rows())
        .map(|r| cols.iter().map(|c| c.value(r).to_string()).collect())
        .collect()
}
