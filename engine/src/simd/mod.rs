//! The block passes that make a scan run at memory speed: [`structure`] turns each 64-byte
//! block into bit masks of newlines, delimiters and quotes; [`candidate`] fuses that with the
//! search for a `--where` value; [`digits`] reads short integers eight bytes at a time.
//! [`cpu`] picks the instruction set once for all of them. Chunks holding quotes or CRs take
//! [`quoted`], whose in-quote masks come from [`quotes`]; a selective scan of those takes
//! [`quoted_candidate`], the two fused.
pub mod candidate;
pub mod cpu;
pub mod digits;
pub mod quoted;
pub mod quoted_candidate;
pub mod quotes;
pub mod structure;
