//! The stats module's one error type. Its messages are one line: the CLI prints them as they are.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// A chunk's profiles did not decode: only a damaged spill file can cause it.
    #[error("a chunk's column profile is corrupt")]
    Corrupt,
}
