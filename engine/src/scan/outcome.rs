//! What scanning one chunk reports to the job: counts, where its last record ended, and the
//! lines of the first malformed records and of the first records with a value `--where` could
//! not compare, and which path ([`Paths`]) scanned it. It travels from the kernel through the
//! shared region (a chunk slot holds it) to the coordinator's report.

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
    /// Which path the chunk took (one count per chunk).
    pub paths: Paths,
}

/// How many chunks took each block pass, and how many were left to csv-core and why (see
/// [`crate::simd::quotes::Rare`]). Additive, like the rest of [`ChunkOutcome`], so the job's
/// report can tell a user that a file was slow and what in it made it so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paths {
    /// Scanned by the plain pass: no quote, no CR, or (see `plain_crlf`) only CRs before a LF.
    pub plain: u64,
    /// Of those, the chunks read in the plain pass's CRLF mode (a Windows file without quotes).
    pub plain_crlf: u64,
    /// Scanned by the quoted pass: quoted fields and/or CRLF line ends.
    pub quoted: u64,
    /// Of those, the chunks a selective scan read with the needle search fused into the quoted
    /// pass ([`crate::simd::quoted_candidate`]).
    pub quoted_candidates: u64,
    /// A quote inside an unquoted field, or text right after a closing quote.
    pub stray_quote: u64,
    /// A CR not followed by a LF.
    pub lone_cr: u64,
    /// A record running on past the chunk inside quotes (a newline in a quoted field at the
    /// chunk's planned end).
    pub open_quote: u64,
    /// A delimiter the passes cannot take (a quote, CR or LF).
    pub delimiter: u64,
}

impl Paths {
    pub const PLAIN: Paths = Paths {
        plain: 1,
        plain_crlf: 0,
        quoted: 0,
        quoted_candidates: 0,
        stray_quote: 0,
        lone_cr: 0,
        open_quote: 0,
        delimiter: 0,
    };

    pub const PLAIN_CRLF: Paths = Paths {
        plain_crlf: 1,
        ..Paths::PLAIN
    };

    pub const QUOTED: Paths = Paths {
        quoted: 1,
        plain: 0,
        ..Paths::PLAIN
    };

    pub const QUOTED_CANDIDATES: Paths = Paths {
        quoted_candidates: 1,
        ..Paths::QUOTED
    };

    /// A chunk that fell back to csv-core for `why`.
    pub fn fallback_for(why: crate::simd::quotes::Rare) -> Paths {
        use crate::simd::quotes::Rare;
        let mut p = Paths::default();
        match why {
            Rare::StrayQuote => p.stray_quote = 1,
            Rare::LoneCr => p.lone_cr = 1,
            Rare::OpenQuote => p.open_quote = 1,
            Rare::Delimiter => p.delimiter = 1,
        }
        p
    }

    /// Chunks that took a block pass.
    pub fn fast(&self) -> u64 {
        self.plain + self.quoted
    }

    /// Chunks parsed by csv-core.
    pub fn fallback(&self) -> u64 {
        self.stray_quote + self.lone_cr + self.open_quote + self.delimiter
    }

    pub fn add(&mut self, o: &Paths) {
        self.plain += o.plain;
        self.plain_crlf += o.plain_crlf;
        self.quoted += o.quoted;
        self.quoted_candidates += o.quoted_candidates;
        self.stray_quote += o.stray_quote;
        self.lone_cr += o.lone_cr;
        self.open_quote += o.open_quote;
        self.delimiter += o.delimiter;
    }
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
