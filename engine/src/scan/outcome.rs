//! What scanning one chunk reports to the job: counts, where its last record ended, and the
//! lines of the first malformed records and of the first records with a value `--where` could
//! not compare. It travels from the kernel through the shared region (a chunk slot holds it)
//! to the coordinator's report.

/// How many malformed records per chunk are reported with their line.
pub const REPORTED_MALFORMED: usize = 5;

/// The result of scanning one chunk, all of it additive across chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkOutcome {
    pub records: u64,
    pub matches: u64,
    pub malformed: u64,
    /// `\n` bytes in the part of the chunk that was used (up to `partial` when set).
    pub lines: u64,
    /// When the chunk's last record runs past its end: that record's start (absolute offset).
    pub partial: Option<u64>,
    /// Line offsets (0-based, relative to the chunk's first line) of the first malformed records.
    pub malformed_lines: [u64; REPORTED_MALFORMED],
    /// Bytes appended to the output buffer.
    pub out_bytes: u64,
    /// Invalid byte sequences (in the declared encoding) replaced by U+FFFD in the output.
    pub invalid: u64,
    /// Line offsets, as for `malformed_lines`, of the records holding the first of them.
    pub invalid_lines: [u64; REPORTED_MALFORMED],
    /// Records rejected because a `--where` comparing numbers met a value that is neither a
    /// number nor missing ([`crate::query::compare::Verdict::Incomparable`]).
    pub incomparable: u64,
    /// Line offsets, as for `malformed_lines`, of the first of them.
    pub incomparable_lines: [u64; REPORTED_MALFORMED],
}

/// Counts a record with a value `--where` could not compare; `line` (its line offset) is
/// only asked for the first few.
#[cold]
pub(crate) fn note_incomparable(outcome: &mut ChunkOutcome, line: impl FnOnce() -> u64) {
    if let Some(slot) = outcome
        .incomparable_lines
        .get_mut(outcome.incomparable as usize)
    {
        *slot = line();
    }
    outcome.incomparable += 1;
}

pub(crate) fn note_malformed(outcome: &mut ChunkOutcome, line: u64) {
    if let Some(slot) = outcome.malformed_lines.get_mut(outcome.malformed as usize) {
        *slot = line;
    }
    outcome.malformed += 1;
}
