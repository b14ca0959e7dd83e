//! The kernel's path for chunks that hold quotes or CR bytes, which the plain pass refuses:
//! the quoted block pass ([`crate::simd::quoted`]) finds every record (quoted fields, `""`
//! escapes, newlines inside quotes, CRLF line ends) and checks its field count from bit masks;
//! a record is split, and its fields unquoted, only when it can match: with an equality test
//! (or an `or`/`in` of them), only records holding one of the needles are looked at. Records are
//! written out byte-identical (their CRLF included). The rarities the pass does not follow come
//! back as [`Rare`], and the kernel then parses the chunk with csv-core.
//!
//! A single needle (`--where id=11865`) takes the fused candidate pass instead
//! ([`crate::simd::quoted_candidate`], [`scan_flagged`]): the needle search runs inside the
//! block masks, and the records without a candidate cost no per-record work at all.
//!
//! Apart from the plain path in `kernel.rs` so that plain chunks run exactly the loops they
//! ran before quoted data had a fast path.

use crate::query::condition::{Candidates, Condition};
use crate::scan::kernel::{filter_record, Filter, LineCounter, MatchSink, Scratch};
use crate::scan::outcome::{note_malformed, ChunkOutcome, Paths};
use crate::scan::record::{split_quoted, Unquoted};
use crate::simd::candidate::Probe;
use crate::simd::quoted::{for_each_line_split, Line, Rare, MAX_SPLIT};
use crate::simd::quoted_candidate::for_each_flagged_record;
use std::iter::Peekable;
use std::ops::Range;

/// Scans the records of `data[range]` (see the module docs); `Err` when the range holds a
/// rarity, having possibly handed records to `sink` (the caller restarts it).
pub(crate) fn scan_quoted(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    filter: Filter<'_>,
    sink: &mut impl MatchSink,
    scratch: &mut Scratch,
) -> Result<ChunkOutcome, Rare> {
    let needed = filter.fields_needed().max(sink.fields_needed());
    if let Some(Candidates::One(n)) = filter.predicates.iter().find_map(Condition::candidates) {
        // A needle holding a quote, CR or newline may span a record end or differ from its
        // field's bytes: those keep the pass below.
        if !n.bytes.iter().any(|&b| matches!(b, b'"' | b'\r' | b'\n')) {
            if let Some(probe) = Probe::new(n.bytes, n.numeric) {
                return scan_flagged(
                    data, range, delimiter, filter, &probe, needed, sink, scratch,
                );
            }
        }
    }
    let mut outcome = ChunkOutcome {
        paths: Paths::QUOTED,
        ..ChunkOutcome::default()
    };
    let mut hits = Hits::new(&data[range.clone()], range.start, filter.predicates);
    let Scratch {
        fields, unquoted, ..
    } = scratch;
    let split_here = needed > MAX_SPLIT;
    let want = if split_here { 0 } else { needed };
    let lines = for_each_line_split(
        data,
        range,
        delimiter,
        want,
        // Inlined into the pass, as the plain path's closure is: a call per record costs as
        // much as the record's mask work.
        #[inline(always)]
        |line: Line, at| {
            outcome.records += 1;
            if line.delimiters as usize + 1 != filter.ncols {
                note_malformed(&mut outcome, line.line_no);
                return;
            }
            if let Some(h) = &mut hits {
                if !h.any_in(line.start, line.end) {
                    return;
                }
            }
            if split_here {
                split_quoted(data, line.start..line.end, delimiter, fields, needed);
                let bounds = |i: usize| fields[i].clone();
                filter_line(
                    data,
                    &line,
                    bounds,
                    needed,
                    filter,
                    sink,
                    &mut outcome,
                    unquoted,
                );
            } else {
                // The leading fields' bounds straight from the pass's delimiter positions,
                // taken only for the fields the test reads.
                let bounds = |i: usize| {
                    let start = if i == 0 { line.start } else { at[i - 1] + 1 };
                    start..at.get(i).copied().unwrap_or(line.end)
                };
                filter_line(
                    data,
                    &line,
                    bounds,
                    needed,
                    filter,
                    sink,
                    &mut outcome,
                    unquoted,
                );
            }
        },
    )?;
    outcome.lines = lines;
    Ok(outcome)
}

/// Tests one well-formed record of the quoted pass whose field `i` is `data[bounds(i)]`
/// (quotes included) and hands it to `sink` if it passes. A field is unquoted only when the
/// test or the sink reads it: without a `""` in the record that is its outer quotes dropped,
/// in place; with one, the `needed` leading fields are unescaped into `unquoted`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn filter_line(
    data: &[u8],
    line: &Line,
    bounds: impl Fn(usize) -> Range<usize>,
    needed: usize,
    filter: Filter<'_>,
    sink: &mut impl MatchSink,
    outcome: &mut ChunkOutcome,
    unquoted: &mut Unquoted,
) {
    let raw = &data[line.start..line.next];
    let no = line.line_no;
    if !line.quoted {
        let field = |i: usize| &data[bounds(i)];
        filter_record(filter, sink, outcome, raw, &field, move || no);
    } else if !line.paired {
        let field = |i: usize| strip_quotes(&data[bounds(i)]);
        filter_record(filter, sink, outcome, raw, &field, move || no);
    } else {
        unquoted.fill(data, (0..needed).map(&bounds));
        let field = |i: usize| unquoted.get(data, i);
        filter_record(filter, sink, outcome, raw, &field, move || no);
    }
}

/// The selective scan of a chunk holding quotes or CRs, for a single needle: the fused pass
/// ([`crate::simd::quoted_candidate`]) checks every record's field count and hands out only
/// the records holding a candidate (split, unquoted and tested here) and the malformed ones.
#[allow(clippy::too_many_arguments)]
fn scan_flagged(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    filter: Filter<'_>,
    probe: &Probe,
    needed: usize,
    sink: &mut impl MatchSink,
    scratch: &mut Scratch,
) -> Result<ChunkOutcome, Rare> {
    let mut outcome = ChunkOutcome {
        paths: Paths::QUOTED_CANDIDATES,
        ..ChunkOutcome::default()
    };
    let Scratch {
        fields, unquoted, ..
    } = scratch;
    let mut lines = LineCounter::new(range.start);
    let expected = u32::try_from(filter.ncols.saturating_sub(1)).unwrap_or(u32::MAX);
    let counts = for_each_flagged_record(data, range, delimiter, expected, probe, |rec| {
        if !rec.well_formed {
            lines.note_malformed(&mut outcome, data, rec.start);
            return;
        }
        let content = &data[rec.start..rec.end];
        let raw = &data[rec.start..rec.next];
        let line_no = || lines.line_at(data, rec.start);
        split_quoted(data, rec.start..rec.end, delimiter, fields, needed);
        if memchr::memchr(b'"', content).is_none() {
            let field = |i: usize| &data[fields[i].clone()];
            filter_record(filter, sink, &mut outcome, raw, &field, line_no);
        } else if memchr::memmem::find(content, b"\"\"").is_none() {
            // No `""` anywhere: a value is its field without the outer quotes.
            let field = |i: usize| strip_quotes(&data[fields[i].clone()]);
            filter_record(filter, sink, &mut outcome, raw, &field, line_no);
        } else {
            unquoted.fill(data, fields.iter().cloned());
            let field = |i: usize| unquoted.get(data, i);
            filter_record(filter, sink, &mut outcome, raw, &field, line_no);
        }
    })?;
    outcome.records = counts.records;
    outcome.lines = counts.newlines;
    Ok(outcome)
}

/// A field's value when its record holds no `""`: the pass checked that quotes only open
/// a field at its start and close it at its end.
#[inline(always)]
fn strip_quotes(field: &[u8]) -> &[u8] {
    match field {
        [b'"', inner @ .., b'"'] => inner,
        _ => field,
    }
}

type Positions<'a> = Peekable<Box<dyn Iterator<Item = usize> + 'a>>;

/// Where the needles of the first predicate that has some occur in the range: a record
/// holding none of them cannot pass that predicate (see `order_predicates` in the kernel),
/// whether its fields are quoted or not, since no needle holds a quote, CR or newline.
struct Hits<'a> {
    needles: Positions<'a>,
    /// `e`/`E` for a numeric needle (a number written with an exponent holds other digits).
    exponents: Option<Positions<'a>>,
}

impl<'a> Hits<'a> {
    fn new(bytes: &'a [u8], base: usize, predicates: &'a [Condition]) -> Option<Hits<'a>> {
        let (needles, numeric): (Box<dyn Iterator<Item = usize> + 'a>, bool) =
            match predicates.iter().find_map(Condition::candidates)? {
                Candidates::One(n) => {
                    if n.bytes.iter().any(|&b| matches!(b, b'"' | b'\r' | b'\n')) {
                        return None;
                    }
                    let it = memchr::memmem::find_iter(bytes, n.bytes).map(move |at| base + at);
                    (Box::new(it), n.numeric)
                }
                // The pre-filter's patterns hold no newline, and its numeric ones come with `e`
                // and `E` already.
                Candidates::Many(p) => (
                    Box::new(p.finder.find_iter(bytes).map(move |m| base + m.start())),
                    false,
                ),
            };
        let exponents = numeric.then(|| {
            let it: Box<dyn Iterator<Item = usize> + 'a> =
                Box::new(memchr::memchr2_iter(b'e', b'E', bytes).map(move |at| base + at));
            it.peekable()
        });
        Some(Hits {
            needles: needles.peekable(),
            exponents,
        })
    }

    /// Whether a hit starts in `start..end` (records come in order, so earlier hits are
    /// dropped for good).
    fn any_in(&mut self, start: usize, end: usize) -> bool {
        let any = |it: &mut Positions<'a>| {
            while it.next_if(|&at| at < start).is_some() {}
            it.peek().is_some_and(|&at| at < end)
        };
        any(&mut self.needles) || self.exponents.as_mut().is_some_and(any)
    }
}
