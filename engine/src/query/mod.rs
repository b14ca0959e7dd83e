//! What a record must satisfy: [`expr`] parses `--where` text into column, operator and
//! value; [`predicate`] compiles it against the schema into a [`predicate::Predicate`] the
//! kernels evaluate on raw field bytes; [`compare`] is what one comparison does with a field
//! (numbers, times, text, missing values), [`number`] the exact decimal comparison behind
//! numeric operators, [`timestamp`] the grammar of dates and times.
pub mod boolean;
pub mod compare;
pub mod condition;
pub mod expr;
pub mod number;
pub mod predicate;
pub mod set;
pub mod timestamp;
