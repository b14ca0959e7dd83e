//! One chunk's work: [`kernel`] finds the records of a byte range, tests them and formats
//! the matches ([`kernel::scan_chunk`]) or hands them to a sink ([`kernel::filter_chunk`],
//! which agg uses); [`quoted`] is its path for chunks with quoted fields or CRLF; [`record`]
//! is the general (quoted, csv-core) record splitter; [`format`] writes fields as CSV or JSON;
//! [`outcome`] is what a chunk reports back.
pub mod format;
pub mod kernel;
pub mod outcome;
pub mod quoted;
pub mod record;
