//! What a record must satisfy: [`expr`] parses `--where` text into column, operator and
//! value; [`predicate`] compiles it against the schema into a [`predicate::Predicate`] the
//! kernels evaluate on raw field bytes; [`number`] is the exact decimal comparison behind
//! numeric operators.
pub mod expr;
pub mod number;
pub mod predicate;
