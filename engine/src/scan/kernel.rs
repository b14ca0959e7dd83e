//! The scan kernel: one chunk of one mapped file in, counts and formatted matches out.
//!
//! It is the same code for the process and the thread engine and for re-runs. A chunk with no
//! quote byte, and no CR or only CRs right before a LF (a Windows file whose first line ends
//! in CRLF: the passes' CRLF mode), takes the quote-free path: records are lines, a structural pass
//! ([`crate::simd::structure`]) checks every field count, and for an equality test the fused
//! candidate pass ([`crate::simd::candidate`]) flags the lines that can match, so only those
//! are split into fields; a lone set too large for needles (`scan_set_members`) probes its
//! field in place, with no general condition code per record. A chunk the quote-free path
//! refuses takes the quoted path ([`crate::scan::quoted`]: quoted fields, CRLF), and one holding
//! a rarity that path does not follow (a lone CR, a stray quote) the full csv-core parse. Each
//! chunk reports which it took ([`Paths`]). All paths are checked against the `csv` crate in
//! the tests.
//!
//! With `ScanSpec::decode` (input in GBK, Big5, ...) each formatted record is decoded to
//! UTF-8 as it is written; invalid sequences become U+FFFD and are counted and located like
//! malformed records.
//!
//! A record whose field count differs from the schema's is *malformed*: counted, its line
//! reported (the first few per chunk), and never matched, so a `--where` on a column it lacks
//! cannot silently misfire. A record whose value a numeric `--where` cannot compare is
//! counted and located the same way ([`crate::query::compare`]).
//!
//! Predicates are tested in order and a record stops at the first that fails, so which
//! records are found not comparable depends on that order; the job puts the pre-filter's
//! predicate first ([`order_predicates`]), so the records the fast path never splits (those
//! without the needle) are exactly those the full parse rejects at the first test, and both
//! paths count the same.

use crate::query::condition::{Candidates, Condition, Prefilter};
use crate::query::set::ValueSet;
use crate::scan::format::{format_record, Emit};
use crate::scan::outcome::{
    note_incomparable, note_malformed, ChunkOutcome, Paths, REPORTED_MALFORMED,
};
use crate::scan::quoted::scan_quoted;
use crate::scan::record::{split_quote_free, GeneralRecords, RangeEnd, Unquoted};
use crate::simd::candidate::{for_each_flagged_line, Probe};
use crate::simd::structure::{for_each_line, for_each_line_split, Line, MAX_SPLIT};
use std::ops::Range;

/// Everything a worker needs to scan a chunk, fixed for the whole job.
#[derive(Debug, Clone)]
pub struct ScanSpec {
    /// Fields per well-formed record.
    pub ncols: usize,
    /// All must hold (each a whole `--where`, or a part of a top-level `and`).
    pub predicates: Vec<Condition>,
    pub emit: Emit,
    /// Prefix each emitted record with its length (u32 LE), so the coordinator can stop the
    /// output exactly at `--limit` inside a chunk.
    pub framed: bool,
    /// The input's encoding when output is decoded to UTF-8 (see [`crate::input::charset`]); `None`
    /// writes the bytes as they are.
    pub decode: Option<&'static encoding_rs::Encoding>,
}

/// Reusable per-worker buffers, so the per-record loop never allocates.
#[derive(Debug, Default)]
pub struct Scratch {
    pub(crate) fields: Vec<Range<usize>>,
    /// Unquoted field values of the quoted path's records.
    pub(crate) unquoted: Unquoted,
    /// A task's own reusable per-worker state (agg keeps its dense cells here).
    pub task_state: Option<Box<dyn std::any::Any>>,
}

/// What happens to each record that passes the filter: formatted output for `scan`, a
/// private aggregation table for `agg`. The kernel's record finding and filtering are shared.
pub trait MatchSink {
    /// Fields (0-based count) that `matched` reads, so the fast path splits no further.
    fn fields_needed(&self) -> usize;
    /// A well-formed record that passed every predicate; `raw` includes its terminator.
    fn matched<'f>(&mut self, raw: &[u8], field: &impl Fn(usize) -> &'f [u8]);
    /// Forgets everything since the chunk started: the fast path gave up half-way.
    fn restart(&mut self);
}

/// The `scan` sink: formats matches into a byte buffer.
struct Formatter<'a> {
    spec: &'a ScanSpec,
    out: &'a mut Vec<u8>,
    start: usize,
    /// The chunk's data, to locate records whose text had invalid sequences.
    data: &'a [u8],
    invalid: u64,
    /// Offsets in `data` of the records holding the first invalid sequences.
    invalid_at: [usize; REPORTED_MALFORMED],
}

impl MatchSink for Formatter<'_> {
    fn fields_needed(&self) -> usize {
        match &self.spec.emit {
            Emit::Csv { columns, .. } | Emit::Jsonl { columns, .. } => {
                columns.iter().map(|c| c + 1).max().unwrap_or(0)
            }
            Emit::Nothing | Emit::Raw => 0,
        }
    }

    #[inline]
    fn matched<'f>(&mut self, raw: &[u8], field: &impl Fn(usize) -> &'f [u8]) {
        let invalid = emit(self.spec, raw, field, self.out);
        for _ in 0..invalid {
            if let Some(slot) = self.invalid_at.get_mut(self.invalid as usize) {
                *slot = raw.as_ptr() as usize - self.data.as_ptr() as usize;
            }
            self.invalid += 1;
        }
    }

    fn restart(&mut self) {
        self.out.truncate(self.start);
        self.invalid = 0;
    }
}

/// Counts `\n` bytes incrementally, so line numbers of malformed records cost no second pass.
pub(crate) struct LineCounter {
    pos: usize,
    lines: u64,
}

impl LineCounter {
    /// Counts from `pos` (a chunk's start).
    pub(crate) fn new(pos: usize) -> LineCounter {
        LineCounter { pos, lines: 0 }
    }

    pub(crate) fn line_at(&mut self, data: &[u8], pos: usize) -> u64 {
        self.lines += bytecount::count(&data[self.pos..pos], b'\n') as u64;
        self.pos = pos;
        self.lines
    }

    /// Counts a malformed record that starts at `pos` in `outcome`, with its line number
    /// for the reported few only: a line number costs a count of the bytes before.
    pub(crate) fn note_malformed(&mut self, outcome: &mut ChunkOutcome, data: &[u8], pos: usize) {
        let line_no = if (outcome.malformed as usize) < REPORTED_MALFORMED {
            self.line_at(data, pos)
        } else {
            0
        };
        note_malformed(outcome, line_no);
    }
}

/// The fast path for quote-free ranges, CR-free or (with `CRLF`) with every CR right before a
/// LF: one structural pass checks every record's
/// field count; with an equality test, the fused candidate pass ([`scan_flagged`]) flags the
/// lines that can match (every match must contain the predicate's needle) and only those are
/// split into fields and tested. Returns `None` (having possibly written to `out`) when the
/// range is not quote-free.
fn scan_quote_free<const CRLF: bool>(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    filter: Filter<'_>,
    sink: &mut impl MatchSink,
    scratch: &mut Scratch,
) -> Option<ChunkOutcome> {
    let mut outcome = ChunkOutcome::default();
    let needed = filter.fields_needed().max(sink.fields_needed());
    match filter.predicates.iter().find_map(Condition::candidates) {
        Some(Candidates::One(n)) => {
            if let Some(probe) = Probe::new(n.bytes, n.numeric) {
                return scan_flagged::<CRLF>(
                    data, range, delimiter, filter, &probe, needed, sink, scratch,
                );
            }
        }
        Some(Candidates::Many(prefilter)) => {
            return scan_prefiltered::<CRLF>(
                data, range, delimiter, filter, prefilter, needed, sink, scratch,
            );
        }
        None => {}
    }
    if let [Condition::In { column, set, .. }] = filter.predicates {
        if needed <= MAX_SPLIT {
            return scan_set_members::<CRLF>(
                data, range, delimiter, filter, *column, set, needed, sink,
            );
        }
    }
    let chunk_end = range.end;
    let raw_of = |line: &Line| with_newline::<CRLF>(data, line.start..line.end, chunk_end);
    // Here no needle can take the fused pass: there is none, or it holds a newline, which no
    // field of a quote-free line does (so no line can match, and every line is still counted
    // and checked below).
    let lines = if needed <= MAX_SPLIT {
        // Every line is split, so its leading delimiters come from the structural pass itself.
        // (Two separate passes keep each closure small enough to be inlined into the pass.)
        for_each_line_split::<CRLF>(
            data,
            range,
            delimiter,
            needed,
            #[inline(always)]
            |line, at| {
                outcome.records += 1;
                if line.delimiters as usize + 1 != filter.ncols {
                    note_malformed(&mut outcome, line.line_no);
                    return;
                }
                let field = |i: usize| {
                    let start = if i == 0 { line.start } else { at[i - 1] + 1 };
                    &data[start..at.get(i).copied().unwrap_or(line.end)]
                };
                let no = line.line_no;
                filter_record(
                    filter,
                    sink,
                    &mut outcome,
                    raw_of(&line),
                    &field,
                    move || no,
                );
            },
        )
    } else {
        // More fields than the structural pass hands out: split each line here.
        let fields = &mut scratch.fields;
        for_each_line::<CRLF>(data, range, delimiter, |line| {
            outcome.records += 1;
            if line.delimiters as usize + 1 != filter.ncols {
                note_malformed(&mut outcome, line.line_no);
                return;
            }
            if needed > 0 {
                split_quote_free(data, line.start..line.end, delimiter, fields, needed);
            }
            let field = |i: usize| &data[fields[i].clone()];
            let no = line.line_no;
            filter_record(
                filter,
                sink,
                &mut outcome,
                raw_of(&line),
                &field,
                move || no,
            );
        })
    }
    .ok()?;
    outcome.lines = lines;
    Some(outcome)
}

/// The bytes of the line `data[content]` with its `\n` (and in CRLF mode the CR before it),
/// when that is inside the chunk. (The passes refuse a CR as a chunk's last byte, so a CR at
/// `content.end` has its LF inside the chunk.)
#[inline(always)]
fn with_newline<const CRLF: bool>(data: &[u8], content: Range<usize>, chunk_end: usize) -> &[u8] {
    let end = if content.end < chunk_end {
        content.end + 1 + usize::from(CRLF && data[content.end] == b'\r')
    } else {
        content.end
    };
    &data[content.start..end]
}

/// Tests a well-formed record against every predicate in order and hands it to `sink` if it
/// passes; a value a predicate cannot compare is counted, with `line_no()` for the first few.
#[inline(always)]
pub(crate) fn filter_record<'f>(
    filter: Filter<'_>,
    sink: &mut impl MatchSink,
    outcome: &mut ChunkOutcome,
    raw: &[u8],
    field: &impl Fn(usize) -> &'f [u8],
    line_no: impl FnOnce() -> u64,
) {
    let mut incomparable = false;
    if filter
        .predicates
        .iter()
        .all(|p| p.holds(field, &mut incomparable))
    {
        outcome.matches += 1;
        sink.matched(raw, field);
    } else if incomparable {
        note_incomparable(outcome, line_no);
    }
}

/// Puts the predicate whose needle the fast path looks for first, keeping the others in
/// order: then a record lacking the needle fails at the first test on every path (see the
/// module docs). Jobs call it once on their predicates.
pub fn order_predicates(predicates: &mut [Condition]) {
    if let Some(i) = predicates.iter().position(|p| p.candidates().is_some()) {
        predicates[..=i].rotate_right(1);
    }
}

/// The fast path of a selective scan: one fused pass ([`crate::simd::candidate`]) counts every
/// line's fields and flags the lines that hold the needle of an equality test; only those are
/// split and tested. Returns `None` when the range is not quote-free.
#[allow(clippy::too_many_arguments)]
fn scan_flagged<const CRLF: bool>(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    filter: Filter<'_>,
    probe: &Probe,
    needed: usize,
    sink: &mut impl MatchSink,
    scratch: &mut Scratch,
) -> Option<ChunkOutcome> {
    let mut outcome = ChunkOutcome::default();
    let fields = &mut scratch.fields;
    let chunk_end = range.end;
    let mut lines = LineCounter::new(range.start);
    let expected = u32::try_from(filter.ncols.saturating_sub(1)).unwrap_or(u32::MAX);
    let counts = for_each_flagged_line::<CRLF>(data, range, delimiter, expected, probe, |line| {
        if !line.well_formed {
            lines.note_malformed(&mut outcome, data, line.start);
            return;
        }
        split_quote_free(data, line.start..line.end, delimiter, fields, needed);
        let field = |i: usize| &data[fields[i].clone()];
        let raw = with_newline::<CRLF>(data, line.start..line.end, chunk_end);
        let line_no = || lines.line_at(data, line.start);
        filter_record(filter, sink, &mut outcome, raw, &field, line_no);
    })
    .ok()?;
    outcome.records = counts.records;
    outcome.lines = counts.newlines;
    Some(outcome)
}

/// The fast path for a condition with several needles (an `or` of equalities, a small
/// `in`): the structural pass checks every line's field count, a multi-needle search
/// ([`Prefilter`]) runs alongside it, and only the lines holding a needle are split and
/// tested. No needle holds a newline, so each hit lies inside the line it starts in. Returns
/// `None` when the range is not quote-free.
#[allow(clippy::too_many_arguments)]
fn scan_prefiltered<const CRLF: bool>(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    filter: Filter<'_>,
    prefilter: &Prefilter,
    needed: usize,
    sink: &mut impl MatchSink,
    scratch: &mut Scratch,
) -> Option<ChunkOutcome> {
    let mut outcome = ChunkOutcome::default();
    let fields = &mut scratch.fields;
    let chunk_end = range.end;
    let base = range.start;
    let mut hits = prefilter
        .finder
        .find_iter(&data[range.clone()])
        .map(|m| base + m.start())
        .peekable();
    let lines = for_each_line::<CRLF>(data, range, delimiter, |line| {
        outcome.records += 1;
        if line.delimiters as usize + 1 != filter.ncols {
            note_malformed(&mut outcome, line.line_no);
            return;
        }
        while hits.next_if(|&at| at < line.start).is_some() {}
        if hits.peek().is_none_or(|&at| at >= line.end) {
            return;
        }
        split_quote_free(data, line.start..line.end, delimiter, fields, needed);
        let field = |i: usize| &data[fields[i].clone()];
        let raw = with_newline::<CRLF>(data, line.start..line.end, chunk_end);
        let line_no = || line.line_no;
        filter_record(filter, sink, &mut outcome, raw, &field, line_no);
    })
    .ok()?;
    outcome.lines = lines;
    Some(outcome)
}

/// The fast path for a lone set test with too many values for needles (`--where 'id in
/// @ids.txt'`): the structural pass checks every line's field count and hands out the
/// delimiters before the set's column, and the field is probed in place
/// ([`ValueSet::contains_within`]: a short natural is one word read and a bit test), with no
/// trip through the general condition code. A set test is never unknown-and-counted, so
/// nothing but matches and malformed lines comes out. Returns `None` when the range is not
/// quote-free.
#[allow(clippy::too_many_arguments)]
fn scan_set_members<const CRLF: bool>(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    filter: Filter<'_>,
    column: usize,
    set: &ValueSet,
    needed: usize,
    sink: &mut impl MatchSink,
) -> Option<ChunkOutcome> {
    let mut outcome = ChunkOutcome::default();
    let chunk_end = range.end;
    // A set on the first field reads it from the line's start: the pass then hands out
    // only the delimiters the sink needs (none for `--count`).
    let leading = column == 0;
    let want = if leading {
        sink.fields_needed()
    } else {
        needed
    };
    let lines = for_each_line_split::<CRLF>(
        data,
        range,
        delimiter,
        want,
        #[inline(always)]
        |line, at| {
            outcome.records += 1;
            if line.delimiters as usize + 1 != filter.ncols {
                note_malformed(&mut outcome, line.line_no);
                return;
            }
            // Only fields below `want` are asked for (by the sink), or field 0 below.
            let field = |i: usize| {
                let start = if i == 0 { line.start } else { at[i - 1] + 1 };
                &data[start..at.get(i).copied().unwrap_or(line.end)]
            };
            let hit = if leading {
                set.leading_contains(data, line.start, delimiter)
                    .unwrap_or_else(|| {
                        let content = &data[line.start..line.end];
                        let end = memchr::memchr(delimiter, content).unwrap_or(content.len());
                        set.contains_within(data, &content[..end])
                    })
            } else {
                set.contains_within(data, field(column))
            };
            if hit {
                outcome.matches += 1;
                let raw = with_newline::<CRLF>(data, line.start..line.end, chunk_end);
                sink.matched(raw, &field);
            }
        },
    )
    .ok()?;
    outcome.lines = lines;
    Some(outcome)
}

/// Scans the records that start in `data[range]`. `at_eof` means `range.end == data.len()`
/// is the end of the file, so an unterminated last record is complete. `out` receives the
/// formatted matches.
pub fn scan_chunk(
    data: &[u8],
    range: Range<usize>,
    at_eof: bool,
    delimiter: u8,
    spec: &ScanSpec,
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
) -> ChunkOutcome {
    let start = out.len();
    let filter = Filter {
        ncols: spec.ncols,
        predicates: &spec.predicates,
    };
    let mut sink = Formatter {
        spec,
        out,
        start,
        data,
        invalid: 0,
        invalid_at: [0; REPORTED_MALFORMED],
    };
    let first = range.start;
    let outcome = filter_chunk(data, range, at_eof, delimiter, filter, &mut sink, scratch);
    let mut invalid_lines = [0; REPORTED_MALFORMED];
    let mut counter = LineCounter {
        pos: first,
        lines: 0,
    };
    for (slot, &at) in invalid_lines
        .iter_mut()
        .zip(&sink.invalid_at)
        .take(sink.invalid.min(REPORTED_MALFORMED as u64) as usize)
    {
        *slot = counter.line_at(data, at);
    }
    ChunkOutcome {
        out_bytes: (sink.out.len() - start) as u64,
        invalid: sink.invalid,
        invalid_lines,
        ..outcome
    }
}

/// Which records pass: the right number of fields, and every predicate.
#[derive(Debug, Clone, Copy)]
pub struct Filter<'a> {
    pub ncols: usize,
    pub predicates: &'a [Condition],
}

impl Filter<'_> {
    pub(crate) fn fields_needed(&self) -> usize {
        self.predicates
            .iter()
            .map(Condition::fields_needed)
            .max()
            .unwrap_or(0)
    }
}

/// Finds the records that start in `data[range]` (see [`scan_chunk`]), counts them, and hands
/// each one that passes `filter` to `sink`.
pub fn filter_chunk(
    data: &[u8],
    range: Range<usize>,
    at_eof: bool,
    delimiter: u8,
    filter: Filter<'_>,
    sink: &mut impl MatchSink,
    scratch: &mut Scratch,
) -> ChunkOutcome {
    if let Some(outcome) =
        scan_quote_free::<false>(data, range.clone(), delimiter, filter, sink, scratch)
    {
        return ChunkOutcome {
            paths: Paths::PLAIN,
            ..outcome
        };
    }
    // A quote or CR somewhere: forget what the plain pass did.
    sink.restart();
    if crlf_before_any_quote(&data[range.clone()]) {
        // A Windows file: the plain pass again, a CR before each LF ending the line.
        if let Some(outcome) =
            scan_quote_free::<true>(data, range.clone(), delimiter, filter, sink, scratch)
        {
            return ChunkOutcome {
                paths: Paths::PLAIN_CRLF,
                ..outcome
            };
        }
        sink.restart();
    }
    // Quotes (or a lone CR): the quoted pass.
    // Its outcome says which quoted pass ran (see `Paths`).
    let why = match scan_quoted(data, range.clone(), delimiter, filter, sink, scratch) {
        Ok(outcome) => return outcome,
        Err(why) => why,
    };
    // A rarity: parse fully.
    sink.restart();
    let mut outcome = ChunkOutcome {
        paths: Paths::fallback_for(why),
        ..ChunkOutcome::default()
    };
    let mut lines = LineCounter {
        pos: range.start,
        lines: 0,
    };
    let mut records = GeneralRecords::new(data, range.clone(), delimiter, at_eof);
    while let Some((rec, n)) = records.next_record() {
        outcome.records += 1;
        if n != filter.ncols {
            note_malformed(&mut outcome, lines.line_at(data, rec.start));
            continue;
        }
        let line_no = || lines.line_at(data, rec.start);
        let field = |i| records.field(i);
        filter_record(
            filter,
            sink,
            &mut outcome,
            &data[rec.start..rec.end],
            &field,
            line_no,
        );
    }
    let used_end = match records.end_state() {
        Some(RangeEnd::Partial(start)) => {
            outcome.partial = Some(start as u64);
            start
        }
        _ => range.end,
    };
    outcome.lines = lines.line_at(data, used_end);
    outcome
}

/// Whether a chunk the plain pass refused is worth its CRLF mode: its first quote or CR is a
/// CR before a LF (a Windows file). Then a chunk with quotes goes straight to the quoted pass,
/// and a LF file with a quote somewhere is not read a third time.
fn crlf_before_any_quote(bytes: &[u8]) -> bool {
    memchr::memchr2(b'"', b'\r', bytes)
        .is_some_and(|at| bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n'))
}

/// Formats one record into `out`; returns the invalid sequences replaced while decoding it.
#[inline]
fn emit<'f>(
    spec: &ScanSpec,
    raw: &[u8],
    field: &dyn Fn(usize) -> &'f [u8],
    out: &mut Vec<u8>,
) -> u64 {
    let at = out.len();
    if spec.framed {
        out.extend_from_slice(&[0; 4]);
    }
    let body = out.len();
    let mut invalid = format_record(&spec.emit, spec.decode, raw, field, out);
    if let (Some(encoding), Emit::Raw | Emit::Csv { .. }) = (spec.decode, &spec.emit) {
        // CSV quoting only adds ASCII, which every supported encoding shares with UTF-8, so
        // the formatted record decodes as a whole.
        if !out[body..].is_ascii() {
            let text = out.split_off(body);
            invalid += crate::input::charset::decode_into(encoding, &text, out);
        }
    }
    if spec.framed {
        let len = (out.len() - at - 4) as u32;
        out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
    invalid
}
