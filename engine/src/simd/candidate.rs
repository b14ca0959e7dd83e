//! The selective scan's single pass over quote-free data: the structural pass of
//! [`crate::simd::structure`] fused with a search for an equality test's needle, so a
//! `--where id=11865` reads each byte once instead of twice (a `memmem` pass, then the line pass).
//!
//! For every 64-byte block it computes, with a handful of vector compares, the masks of
//! newlines, delimiters, quotes/CRs, and *candidates*: positions where up to four probe bytes of
//! the needle (first, last and two between) sit at their offsets. Every line's delimiters are
//! counted against the schema, but the caller only hears of the rare lines that are malformed or
//! hold a candidate; it splits and tests those. Candidates are a superset of the needle's
//! occurrences, so no matching line is missed: the caller's predicate is the real test.
//!
//! A number can also be written with an exponent (`1.1865e4` equals 11865 without holding
//! its digits), so for a numeric needle an `e` or `E` right after a digit or a dot is a
//! candidate too: rare in numeric data, and the test then reads those fields as numbers. The
//! vector code only finds the letters (one compare per block, and none for a text needle);
//! the rare blocks holding one are walked line by line anyway, where the byte before each
//! letter is looked at, so `Delta` or `EWR` flag nothing.
//!
//! CRs as in [`crate::simd::structure`]: by default any CR stops the pass; with `CRLF` a CR
//! followed by a LF ends the line's content (every other CR still stops it). Ordinary blocks
//! of a CRLF file (every LF right after a CR) stay in the tight loop.
//!
//! Hand-written for the same reason as [`crate::simd::structure`]: it is the innermost loop of the
//! most common query, and this is where fleet has to keep up with ripgrep's `memmem`.
//! AVX-512BW or AVX2 is chosen at run time, with a portable fallback (also the test oracle).

use crate::simd::structure::NotQuoteFree;
use std::ops::Range;

/// Up to four bytes of a needle and where they sit in it. With fewer distinct positions the
/// last probe is repeated, so the vector code always runs four compares and never branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    offsets: [usize; 4],
    bytes: [u8; 4],
    /// The needle's length: a candidate starting at `i` reads up to `i + span - 1`.
    span: usize,
    /// `b'e'` when exponent letters are candidates too (a numeric needle: see the module
    /// docs), else 0. Tested as `byte | 0x20 == exponent`, which no byte meets for 0.
    exponent: u8,
}

impl Probe {
    /// `None` for a needle that cannot take this pass: empty, or holding a newline (a
    /// candidate must lie inside one line). `numeric`: the needle is a number's digits, so
    /// exponent letters are candidates too.
    pub fn new(needle: &[u8], numeric: bool) -> Option<Probe> {
        let len = needle.len();
        if len == 0 || needle.contains(&b'\n') {
            return None;
        }
        let last = len - 1;
        let offsets = [0, last / 3, (2 * last) / 3, last];
        Some(Probe {
            offsets,
            bytes: offsets.map(|o| needle[o]),
            span: len,
            exponent: if numeric { b'e' } else { 0 },
        })
    }

    /// Whether exponent letters are candidates too (a numeric needle).
    pub fn numeric(&self) -> bool {
        self.exponent != 0
    }

    /// The probed offsets in the needle and the bytes wanted there.
    pub(crate) fn probes(&self) -> ([usize; 4], [u8; 4]) {
        (self.offsets, self.bytes)
    }
}

/// What the pass counted over the whole range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// `\n` bytes in the range.
    pub newlines: u64,
    /// Non-empty lines, the last one included even without a `\n`.
    pub records: u64,
}

/// A line the caller must look at: `start..end` excludes the `\n` (and in CRLF mode the CR
/// before it); `well_formed` means it has
/// exactly the expected number of delimiters (so it holds a candidate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flagged {
    pub start: usize,
    pub end: usize,
    pub well_formed: bool,
}

/// Walks `data[range]` (quote-free and CR-free, or with `CRLF` every CR before a LF, else
/// `NotQuoteFree` as soon as that fails; lines already reported must then be discarded),
/// checking that every non-empty line has `delimiters` delimiters, and calls `on_line` for each
/// line that does not, and for each line that does and holds a candidate for `probe`, in order.
pub fn for_each_flagged_line<const CRLF: bool>(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    delimiters: u32,
    probe: &Probe,
    on_line: impl FnMut(Flagged),
) -> Result<Counts, NotQuoteFree> {
    #[cfg(target_arch = "x86_64")]
    {
        let numeric = probe.exponent != 0;
        if wide::avx512_available() {
            // SAFETY: the CPU has AVX-512F, AVX-512BW, BMI1, BMI2 and POPCNT (checked above).
            return unsafe {
                match numeric {
                    true => wide::pass512::<true, CRLF>(
                        data, range, delimiter, delimiters, probe, on_line,
                    ),
                    false => wide::pass512::<false, CRLF>(
                        data, range, delimiter, delimiters, probe, on_line,
                    ),
                }
            };
        }
        if wide::avx2_available() {
            // SAFETY: the CPU has AVX2, BMI1 and POPCNT (checked above).
            return unsafe {
                match numeric {
                    true => wide::pass256::<true, CRLF>(
                        data, range, delimiter, delimiters, probe, on_line,
                    ),
                    false => wide::pass256::<false, CRLF>(
                        data, range, delimiter, delimiters, probe, on_line,
                    ),
                }
            };
        }
    }
    pass_portable::<CRLF>(data, range, delimiter, delimiters, probe, on_line)
}

/// The pass without SIMD: every block by [`scalar_masks`]. The fallback, and the oracle the
/// vector passes are tested against.
fn pass_portable<const CRLF: bool>(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    delimiters: u32,
    probe: &Probe,
    on_line: impl FnMut(Flagged),
) -> Result<Counts, NotQuoteFree> {
    pass_with::<CRLF>(
        data,
        range,
        delimiter,
        delimiters,
        probe,
        on_line,
        |_, _, _, _| unreachable!("no vector blocks without SIMD"),
        |_, b, _| b,
        0,
    )
}

/// The masks of one block, bit `j` for byte `j`: (newlines, delimiters, what stops the pass
/// (quotes, and CRs without `CRLF`), candidates, exponent letters, CRs (with `CRLF`, else 0)).
pub type Masks = (u64, u64, u64, u64, u64, u64);

/// What [`plain_blocks`] needs of a block: (newlines, delimiters, the OR of what stops the
/// pass, the candidates and the exponent letters, any of which stops the run, CRs as in
/// [`Masks`]).
pub type PlainMasks = (u64, u64, u64, u64);

/// Masks of the 64-byte block at `bytes[at..]`. Candidate bit `j` needs every probe byte at
/// `at + j + offset`, which may lie past the block (a probe past the end of `bytes` fails);
/// exponent bit `j` an `e` or `E` at `at + j` when the probe asks for those (which
/// [`exponents`] then sorts out). Portable, for tails and as the oracle.
pub fn scalar_masks<const CRLF: bool>(
    bytes: &[u8],
    at: usize,
    delimiter: u8,
    probe: &Probe,
) -> Masks {
    let (mut nl, mut dl, mut bad, mut cand, mut exp, mut cr) = (0u64, 0, 0, 0, 0, 0);
    let block = &bytes[at..(at + 64).min(bytes.len())];
    for (j, &b) in block.iter().enumerate() {
        nl |= ((b == b'\n') as u64) << j;
        dl |= ((b == delimiter) as u64) << j;
        bad |= ((b == b'"' || (!CRLF && b == b'\r')) as u64) << j;
        cr |= ((CRLF && b == b'\r') as u64) << j;
        let hit = probe
            .offsets
            .iter()
            .zip(probe.bytes)
            .all(|(&o, want)| bytes.get(at + j + o) == Some(&want));
        cand |= (hit as u64) << j;
        exp |= ((b | 0x20 == probe.exponent) as u64) << j;
    }
    (nl, dl, bad, cand, exp, cr)
}

/// The exponent letters of `exp` (the block at `bytes[at..]`) that can end a mantissa: right
/// after a digit or a dot (`1.5e3`, `1.e3`). Only blocks holding a letter get here.
#[cold]
pub(crate) fn exponents(bytes: &[u8], at: usize, mut exp: u64) -> u64 {
    let mut keep = 0;
    while exp != 0 {
        let j = exp.trailing_zeros() as usize;
        exp &= exp - 1;
        // The first byte of the range starts a line: no mantissa before it.
        let before = (at + j).checked_sub(1).and_then(|i| bytes.get(i));
        if before.is_some_and(|&b| b.is_ascii_digit() || b == b'.') {
            keep |= 1 << j;
        }
    }
    keep
}

/// Where the pass stands between blocks.
#[derive(Debug, Clone, Copy)]
struct State {
    counts: Counts,
    /// Start (relative to the range) of the line being read.
    line_start: usize,
    /// Delimiters seen so far in that line, and whether it holds a candidate.
    seen: u32,
    pending: bool,
    /// The newline mask of the block before the next one (the range starts a line: bit 63).
    prev_nl: u64,
    /// CRLF: 1 when the block before the next one ended in a CR (whose LF must open the next).
    after_cr: u64,
}

/// The pass, generic over the vector masks so that it is compiled inside each
/// `target_feature` function. `masks(bytes, at, delimiter, probe)` computes the block at `at`
/// for the first `vector_blocks` blocks, whose loads (probes included) stay inside `bytes`;
/// the rest use [`scalar_masks`]. Runs of ordinary blocks go through `plain(bytes, b, state)`
/// (a [`plain_blocks`] loop, returning where it stopped); a block with a candidate, an empty
/// or malformed line, or a quote is walked line by line here.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn pass_with<const CRLF: bool>(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    delimiters: u32,
    probe: &Probe,
    mut on_line: impl FnMut(Flagged),
    masks: impl Fn(&[u8], usize, u8, &Probe) -> Masks,
    plain: impl Fn(&[u8], usize, &mut State) -> usize,
    vector_blocks: usize,
) -> Result<Counts, NotQuoteFree> {
    let bytes = &data[range.clone()];
    let base = range.start;
    let mut st = State {
        counts: Counts::default(),
        line_start: 0,
        seen: 0,
        pending: false,
        prev_nl: 1 << 63,
        after_cr: 0,
    };
    let blocks = bytes.len().div_ceil(64);
    let mut b = 0;
    loop {
        if !st.pending {
            b = plain(bytes, b, &mut st);
        }
        if b >= blocks {
            break;
        }
        let at = b * 64;
        let (mut nl, mut dl, bad, mut cand, exp, cr) = if b < vector_blocks {
            masks(bytes, at, delimiter, probe)
        } else {
            scalar_masks::<CRLF>(bytes, at, delimiter, probe)
        };
        if bad != 0 {
            return Err(NotQuoteFree);
        }
        // CRLF: the newlines right after a CR, whose line's content ends one byte earlier; a
        // CR with no LF after it (in a short last block, past its end) is a lone CR.
        let mut after_cr = 0u64;
        if CRLF {
            after_cr = (cr << 1) | st.after_cr;
            if after_cr & !nl != 0 {
                return Err(NotQuoteFree);
            }
            st.after_cr = cr >> 63;
        }
        if exp != 0 {
            cand |= exponents(bytes, at, exp);
        }
        st.prev_nl = nl;
        st.counts.newlines += nl.count_ones() as u64;
        while nl != 0 {
            let bit = nl.trailing_zeros();
            let below = (1u64 << bit) - 1;
            let count = st.seen + (dl & below).count_ones();
            let flagged = st.pending || cand & below != 0;
            let lf = at + bit as usize;
            let end = lf - ((after_cr >> bit) & 1) as usize;
            if end > st.line_start {
                st.counts.records += 1;
                let well_formed = count == delimiters;
                if flagged || !well_formed {
                    on_line(Flagged {
                        start: base + st.line_start,
                        end: base + end,
                        well_formed,
                    });
                }
            }
            st.line_start = lf + 1;
            st.seen = 0;
            st.pending = false;
            dl &= !below;
            cand &= !below;
            nl &= nl - 1;
        }
        st.seen += dl.count_ones();
        st.pending |= cand != 0;
        b += 1;
    }
    if st.after_cr != 0 {
        // The range's last byte is a CR: a lone CR (csv-core's line end).
        return Err(NotQuoteFree);
    }
    if st.line_start < bytes.len() {
        st.counts.records += 1;
        let well_formed = st.seen == delimiters;
        if st.pending || !well_formed {
            on_line(Flagged {
                start: base + st.line_start,
                end: base + bytes.len(),
                well_formed,
            });
        }
    }
    Ok(st.counts)
}

/// Runs the blocks from `b` on, up to `vector_blocks`, while each is ordinary: no quote, no
/// candidate or exponent letter, no empty line, and every line ending in it has the right
/// count; returns the first
/// block that is not (left for the caller, `st` as before it). A tight loop with no call that
/// carries only the delimiter count and a line count, so it runs from registers: this is where
/// nearly all the bytes go. Where the last line started is found once, on the way out.
/// `FIND_EMPTY`: look for empty lines here, for a `check` that would not notice them.
/// `CRLF`: the run also stops at a block whose line ends are not all CRLF (a LF alone, a CR
/// alone), which the caller sorts out.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn plain_blocks<const FIND_EMPTY: bool, const CRLF: bool>(
    bytes: &[u8],
    mut b: usize,
    vector_blocks: usize,
    delimiter: u8,
    probe: &Probe,
    masks: &impl Fn(&[u8], usize, u8, &Probe) -> PlainMasks,
    check: &impl Fn(u64, u64, u32) -> (bool, u32),
    st: &mut State,
) -> usize {
    let first = b;
    let (mut seen, mut prev_nl, mut after_cr) = (st.seen, st.prev_nl, st.after_cr);
    let mut lines = 0u64;
    while b < vector_blocks {
        let (nl, dl, mut stop, cr) = masks(bytes, b * 64, delimiter, probe);
        if CRLF {
            // Every LF right after a CR and every CR right before a LF.
            stop |= ((cr << 1) | after_cr) ^ nl;
        }
        if FIND_EMPTY {
            // An empty line: a line end right after the previous one (`\n\r\n` in CRLF).
            stop |= match CRLF {
                false => nl & ((nl << 1) | (prev_nl >> 63)),
                true => nl & ((nl << 2) | (prev_nl >> 62)),
            };
        }
        if stop != 0 {
            break;
        }
        let (right, next_seen) = check(nl, dl, seen);
        if !right {
            break;
        }
        seen = next_seen;
        prev_nl = nl;
        after_cr = cr >> 63;
        lines += nl.count_ones() as u64;
        b += 1;
    }
    if b > first {
        let done = &bytes[first * 64..b * 64];
        if lines > 0 {
            st.line_start = first * 64 + memchr::memrchr(b'\n', done).map_or(0, |p| p + 1);
        }
        st.counts.newlines += lines;
        st.counts.records += lines;
        st.seen = seen;
        st.prev_nl = prev_nl;
        st.after_cr = after_cr;
    }
    b
}

/// Checks the lines ending in a block of newlines `nl` and delimiters `dl`, given `seen`
/// delimiters already in the line running into it: whether each has `delimiters` of them, and
/// how many the line running out of the block has so far. By popcounts: the first two lines
/// without a branch (how many newlines a block holds is random, and a mispredicted loop costs
/// more than the check), any further ones in a loop.
#[inline(always)]
pub(crate) fn check_by_popcount(nl: u64, dl: u64, seen: u32, delimiters: u32) -> (bool, u32) {
    let first = nl ^ nl.wrapping_sub(1);
    let mut wrong = ((seen + (dl & first).count_ones()) ^ delimiters) * (nl != 0) as u32;
    let rest = nl & nl.wrapping_sub(1);
    let second = rest ^ rest.wrapping_sub(1);
    let mut d = dl & !first;
    wrong |= ((d & second).count_ones() ^ delimiters) * (rest != 0) as u32;
    d &= !second;
    let mut n = rest & rest.wrapping_sub(1);
    while n != 0 {
        let through = n ^ (n - 1);
        wrong |= (d & through).count_ones() ^ delimiters;
        d &= !through;
        n &= n - 1;
    }
    let last = u64::MAX.checked_shr(nl.leading_zeros()).unwrap_or(0);
    let next = (dl & !last).count_ones() + if nl == 0 { seen } else { 0 };
    (wrong == 0, next)
}

/// Newline bits at every `delimiters + 1`-th event, for `wide::pass512`'s check.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn event_pattern(delimiters: u32) -> u64 {
    (0..64)
        .step_by(delimiters as usize + 1)
        .fold(0, |p, i| p | 1u64 << i)
}

/// How many leading 64-byte blocks of a `len`-byte range can be read by vector loads, whose
/// probes reach `span - 1` bytes past the block.
pub(crate) fn vector_blocks(len: usize, probe: &Probe) -> usize {
    len.saturating_sub(probe.span - 1) / 64
}

#[cfg(target_arch = "x86_64")]
mod wide {
    use super::{
        check_by_popcount, event_pattern, pass_with, plain_blocks, vector_blocks, Counts, Flagged,
        Masks, NotQuoteFree, PlainMasks, Probe, State,
    };
    use std::arch::x86_64::*;
    use std::ops::Range;

    pub fn avx512_available() -> bool {
        crate::simd::cpu::level() >= crate::simd::cpu::Level::Avx512
    }

    pub fn avx2_available() -> bool {
        crate::simd::cpu::level() >= crate::simd::cpu::Level::Avx2
    }

    /// `EXP`: the probe asks for exponent letters (otherwise they are not looked for).
    ///
    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW and BMI2.
    #[target_feature(enable = "avx512f,avx512bw,bmi1,bmi2,popcnt")]
    pub unsafe fn pass512<const EXP: bool, const CRLF: bool>(
        data: &[u8],
        range: Range<usize>,
        delimiter: u8,
        delimiters: u32,
        probe: &Probe,
        on_line: impl FnMut(Flagged),
    ) -> Result<Counts, NotQuoteFree> {
        let vector = vector_blocks(range.len(), probe);
        let masks = |bytes: &[u8], at, delimiter, probe: &Probe| {
            // SAFETY: blocks below `vector` keep every load in bounds, and the CPU has
            // this function's features (its contract).
            unsafe { masks512::<EXP, CRLF>(bytes, at, delimiter, probe) }
        };
        let plain = |bytes: &[u8], b, st: &mut State| {
            // SAFETY: blocks below `vector` keep every load in bounds, and the CPU has
            // this function's features (its contract).
            unsafe { plain512::<EXP, CRLF>(bytes, b, vector, delimiter, delimiters, probe, st) }
        };
        pass_with::<CRLF>(
            data, range, delimiter, delimiters, probe, on_line, masks, plain, vector,
        )
    }

    /// Masks of the block at `bytes[at..]` (see `scalar_masks`).
    ///
    /// # Safety
    /// `at + 64 + probe.span - 1 <= bytes.len()`, and the CPU supports AVX-512BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    #[inline]
    unsafe fn masks512<const EXP: bool, const CRLF: bool>(
        bytes: &[u8],
        at: usize,
        delimiter: u8,
        probe: &Probe,
    ) -> Masks {
        // SAFETY: every load is in bounds (the caller's contract); unaligned loads are allowed.
        unsafe {
            let ptr = bytes.as_ptr().add(at);
            let v = _mm512_loadu_si512(ptr as *const __m512i);
            let eq = |b: u8| _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b as i8));
            // XOR each probe with its byte, OR the four, then one test for zero bytes: four
            // compares ANDed into a mask would be a chain of dependent masked compares.
            let differ = |k: usize| {
                let p = _mm512_loadu_si512(ptr.add(probe.offsets[k]) as *const __m512i);
                _mm512_xor_si512(p, _mm512_set1_epi8(probe.bytes[k] as i8))
            };
            let any = _mm512_or_si512(
                _mm512_or_si512(differ(0), differ(1)),
                _mm512_or_si512(differ(2), differ(3)),
            );
            let exponent = match EXP {
                true => _mm512_cmpeq_epi8_mask(
                    _mm512_or_si512(v, _mm512_set1_epi8(0x20)),
                    _mm512_set1_epi8(b'e' as i8),
                ),
                false => 0,
            };
            let (bad, cr) = match CRLF {
                false => (eq(b'"') | eq(b'\r'), 0),
                true => (eq(b'"'), eq(b'\r')),
            };
            (
                eq(b'\n'),
                eq(delimiter),
                bad,
                _mm512_testn_epi8_mask(any, any),
                exponent,
                cr,
            )
        }
    }

    /// [`plain_blocks`] compiled for AVX-512, and never inlined: the loop's constants (the
    /// broadcast bytes, the probe offsets) then stay in registers, where in the caller,
    /// across its calls for flagged lines, they would be spilled and reloaded every block.
    ///
    /// # Safety
    /// `vector` blocks of `bytes` are readable with the probes, and the CPU supports
    /// AVX-512F, AVX-512BW and BMI2.
    #[target_feature(enable = "avx512f,avx512bw,bmi1,bmi2,popcnt")]
    #[inline(never)]
    unsafe fn plain512<const EXP: bool, const CRLF: bool>(
        bytes: &[u8],
        b: usize,
        vector: usize,
        delimiter: u8,
        delimiters: u32,
        probe: &Probe,
        st: &mut State,
    ) -> usize {
        let masks = |bytes: &[u8], at, delimiter, probe: &Probe| {
            // SAFETY: blocks below `vector` keep every load in bounds, and the CPU has
            // this function's features (its contract).
            let (nl, dl, bad, cand, exp, cr) =
                unsafe { masks512::<EXP, CRLF>(bytes, at, delimiter, probe) };
            (nl, dl, bad | cand | exp, cr)
        };
        if delimiters == 0 {
            // One field per line: the event check below needs delimiters between newlines.
            let check = |nl, dl, seen| check_by_popcount(nl, dl, seen, delimiters);
            return plain_blocks::<true, CRLF>(
                bytes, b, vector, delimiter, probe, &masks, &check, st,
            );
        }
        // The block's newlines and delimiters in order, as one bit string (`pext`: 1 for a
        // newline): the lines are well formed when its newlines sit exactly every
        // `delimiters + 1` events, the first after `delimiters - seen` of them. A fixed number
        // of instructions however many lines end in the block, where popcounts need some per
        // line. (`pext` is fast on every CPU with AVX-512; it is microcode on older AMD.)
        // An empty line shows as two newline events in a row, off the pattern, so the check
        // finds those too (a CR is no event: `\n\r\n` as well).
        let pattern = event_pattern(delimiters);
        let check = |nl: u64, dl: u64, seen: u32| {
            let events = nl | dl;
            let m = events.count_ones();
            let e = _pext_u64(nl, events);
            let first = e.trailing_zeros();
            let top = 64 - e.leading_zeros();
            let expect = _bzhi_u64(pattern.wrapping_shl(first), top);
            let right = e == expect && (e == 0 || first + seen == delimiters);
            (right, if e == 0 { seen + m } else { m - top })
        };
        plain_blocks::<false, CRLF>(bytes, b, vector, delimiter, probe, &masks, &check, st)
    }

    /// `EXP` as for [`pass512`].
    ///
    /// # Safety
    /// The CPU must support AVX2, BMI1 and POPCNT.
    #[target_feature(enable = "avx2,bmi1,popcnt")]
    pub unsafe fn pass256<const EXP: bool, const CRLF: bool>(
        data: &[u8],
        range: Range<usize>,
        delimiter: u8,
        delimiters: u32,
        probe: &Probe,
        on_line: impl FnMut(Flagged),
    ) -> Result<Counts, NotQuoteFree> {
        let vector = vector_blocks(range.len(), probe);
        let masks = |bytes: &[u8], at, delimiter, probe: &Probe| {
            // SAFETY: blocks below `vector` keep every load in bounds, and the CPU has
            // this function's features (its contract).
            unsafe { masks256::<EXP, CRLF>(bytes, at, delimiter, probe) }
        };
        let plain = |bytes: &[u8], b, st: &mut State| {
            // SAFETY: blocks below `vector` keep every load in bounds, and the CPU has
            // this function's features (its contract).
            unsafe { plain256::<EXP, CRLF>(bytes, b, vector, delimiter, delimiters, probe, st) }
        };
        pass_with::<CRLF>(
            data, range, delimiter, delimiters, probe, on_line, masks, plain, vector,
        )
    }

    /// The vectors of one block's masks for AVX2, before `movemask`: (newlines, delimiters,
    /// what stops the pass, candidates, exponent letters, CRs), each as two 32-byte halves,
    /// the CRs in the stops or apart as for [`Masks`].
    ///
    /// # Safety
    /// As for [`masks512`], and the CPU supports AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn vectors256<const EXP: bool, const CRLF: bool>(
        bytes: &[u8],
        at: usize,
        delimiter: u8,
        probe: &Probe,
    ) -> [(__m256i, __m256i); 6] {
        // SAFETY: every load is in bounds (the caller's contract); unaligned loads are allowed.
        unsafe {
            let ptr = bytes.as_ptr().add(at);
            let load = |offset: usize| {
                (
                    _mm256_loadu_si256(ptr.add(offset) as *const __m256i),
                    _mm256_loadu_si256(ptr.add(offset + 32) as *const __m256i),
                )
            };
            let eq = |(lo, hi): (__m256i, __m256i), byte: u8| {
                let b = _mm256_set1_epi8(byte as i8);
                (_mm256_cmpeq_epi8(lo, b), _mm256_cmpeq_epi8(hi, b))
            };
            let v = load(0);
            let mut cand = eq(load(probe.offsets[0]), probe.bytes[0]);
            for k in 1..4 {
                cand = and(cand, eq(load(probe.offsets[k]), probe.bytes[k]));
            }
            let exponent = match EXP {
                true => {
                    let lower = _mm256_set1_epi8(0x20);
                    eq(
                        (_mm256_or_si256(v.0, lower), _mm256_or_si256(v.1, lower)),
                        b'e',
                    )
                }
                false => (_mm256_setzero_si256(), _mm256_setzero_si256()),
            };
            let zero = (_mm256_setzero_si256(), _mm256_setzero_si256());
            let (bad, cr) = match CRLF {
                false => (or(eq(v, b'"'), eq(v, b'\r')), zero),
                true => (eq(v, b'"'), eq(v, b'\r')),
            };
            [eq(v, b'\n'), eq(v, delimiter), bad, cand, exponent, cr]
        }
    }

    /// As [`masks512`], for AVX2.
    ///
    /// # Safety
    /// As for [`masks512`], and the CPU supports AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn masks256<const EXP: bool, const CRLF: bool>(
        bytes: &[u8],
        at: usize,
        delimiter: u8,
        probe: &Probe,
    ) -> Masks {
        // SAFETY: the caller's contract is `vectors256`'s.
        let [nl, dl, bad, cand, exp, cr] =
            unsafe { vectors256::<EXP, CRLF>(bytes, at, delimiter, probe) };
        let cr = if CRLF { mask(cr) } else { 0 };
        (mask(nl), mask(dl), mask(bad), mask(cand), mask(exp), cr)
    }

    /// [`masks256`] as [`plain_blocks`] needs it: what stops a run ORed as vectors, so one
    /// `movemask` pair stands for three.
    ///
    /// # Safety
    /// As for [`masks512`], and the CPU supports AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn plain_masks256<const EXP: bool, const CRLF: bool>(
        bytes: &[u8],
        at: usize,
        delimiter: u8,
        probe: &Probe,
    ) -> PlainMasks {
        // SAFETY: the caller's contract is `vectors256`'s.
        let [nl, dl, bad, cand, exp, cr] =
            unsafe { vectors256::<EXP, CRLF>(bytes, at, delimiter, probe) };
        let cr = if CRLF { mask(cr) } else { 0 };
        (mask(nl), mask(dl), mask(or(or(bad, cand), exp)), cr)
    }

    /// The 64 mask bits of two 32-byte compare results.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn mask((lo, hi): (__m256i, __m256i)) -> u64 {
        (_mm256_movemask_epi8(lo) as u32 as u64) | ((_mm256_movemask_epi8(hi) as u32 as u64) << 32)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn or((a, b): (__m256i, __m256i), (c, d): (__m256i, __m256i)) -> (__m256i, __m256i) {
        (_mm256_or_si256(a, c), _mm256_or_si256(b, d))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn and((a, b): (__m256i, __m256i), (c, d): (__m256i, __m256i)) -> (__m256i, __m256i) {
        (_mm256_and_si256(a, c), _mm256_and_si256(b, d))
    }

    /// [`plain_blocks`] compiled for AVX2 (see [`plain512`]).
    ///
    /// # Safety
    /// As for [`plain512`], and the CPU supports AVX2, BMI1 and POPCNT.
    #[target_feature(enable = "avx2,bmi1,popcnt")]
    #[inline(never)]
    unsafe fn plain256<const EXP: bool, const CRLF: bool>(
        bytes: &[u8],
        b: usize,
        vector: usize,
        delimiter: u8,
        delimiters: u32,
        probe: &Probe,
        st: &mut State,
    ) -> usize {
        let masks = |bytes: &[u8], at, delimiter, probe: &Probe| {
            // SAFETY: blocks below `vector` keep every load in bounds, and the CPU has
            // this function's features (its contract).
            unsafe { plain_masks256::<EXP, CRLF>(bytes, at, delimiter, probe) }
        };
        let check = |nl, dl, seen| check_by_popcount(nl, dl, seen, delimiters);
        plain_blocks::<true, CRLF>(bytes, b, vector, delimiter, probe, &masks, &check, st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every line, by the obvious method: (start, end, delimiters, holds the needle or, for a
    /// numeric needle, an exponent letter after a digit or dot).
    /// In CRLF mode (`crlf`) a CR before a LF ends the line's content and any other CR
    /// refuses the range; otherwise any CR does.
    fn naive(
        bytes: &[u8],
        delimiter: u8,
        needle: &[u8],
        numeric: bool,
        crlf: bool,
    ) -> Option<Vec<(usize, usize, u32, bool)>> {
        let lone_cr = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
        if bytes.contains(&b'"')
            || (!crlf && bytes.contains(&b'\r'))
            || (0..bytes.len()).any(lone_cr)
        {
            return None;
        }
        let mut lines = Vec::new();
        let mut start = 0;
        for line in bytes.split(|&b| b == b'\n') {
            let piece = line.strip_suffix(b"\r").unwrap_or(line);
            let end = start + piece.len();
            if !piece.is_empty() {
                let d = piece.iter().filter(|&&c| c == delimiter).count() as u32;
                let exponent = piece.windows(2).any(|w| {
                    (w[0].is_ascii_digit() || w[0] == b'.') && (w[1] == b'e' || w[1] == b'E')
                });
                let has = piece.windows(needle.len()).any(|w| w == needle) || (numeric && exponent);
                lines.push((start, end, d, has));
            }
            start += line.len() + 1;
        }
        Some(lines)
    }

    fn check(
        data: &[u8],
        offset: usize,
        needle: &[u8],
        numeric: bool,
        delimiters: u32,
    ) -> Result<(), TestCaseError> {
        check_mode::<false>(data, offset, needle, numeric, delimiters)?;
        check_mode::<true>(data, offset, needle, numeric, delimiters)
    }

    fn check_mode<const CRLF: bool>(
        data: &[u8],
        offset: usize,
        needle: &[u8],
        numeric: bool,
        delimiters: u32,
    ) -> Result<(), TestCaseError> {
        let probe = Probe::new(needle, numeric).expect("needle without newline");
        let bytes = &data[offset..];
        let mut got = Vec::new();
        let result = for_each_flagged_line::<CRLF>(
            data,
            offset..data.len(),
            b',',
            delimiters,
            &probe,
            |f| got.push(f),
        );
        match naive(bytes, b',', needle, numeric, CRLF) {
            None => prop_assert_eq!(result, Err(NotQuoteFree)),
            Some(lines) => {
                let counts = result.expect("quote-free");
                prop_assert_eq!(counts.records, lines.len() as u64);
                prop_assert_eq!(
                    counts.newlines,
                    bytes.iter().filter(|&&b| b == b'\n').count() as u64
                );
                // Flagged lines are exactly the malformed ones plus a superset of the
                // well-formed ones holding the needle, and nothing else.
                let mut flagged = got.iter();
                for (start, end, d, has) in lines {
                    let well_formed = d == delimiters;
                    let next = got.iter().find(|f| f.start == start + offset).copied();
                    if !well_formed || has {
                        prop_assert_eq!(
                            next,
                            Some(Flagged {
                                start: start + offset,
                                end: end + offset,
                                well_formed
                            })
                        );
                    }
                    if let Some(f) = next {
                        prop_assert_eq!(flagged.next(), Some(&f), "flagged out of order");
                    }
                }
                prop_assert_eq!(flagged.next(), None);
            }
        }
        #[cfg(target_arch = "x86_64")]
        if wide::avx2_available() {
            // The dispatcher picks AVX-512 where it exists: hold the AVX2 pass to the same.
            let mut narrow = Vec::new();
            // SAFETY: the CPU has AVX2 (checked).
            let again = unsafe {
                match numeric {
                    true => wide::pass256::<true, CRLF>(
                        data,
                        offset..data.len(),
                        b',',
                        delimiters,
                        &probe,
                        |f| narrow.push(f),
                    ),
                    false => wide::pass256::<false, CRLF>(
                        data,
                        offset..data.len(),
                        b',',
                        delimiters,
                        &probe,
                        |f| narrow.push(f),
                    ),
                }
            };
            prop_assert_eq!(again, result);
            if result.is_ok() {
                prop_assert_eq!(narrow, got);
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn flags_every_malformed_line_and_every_line_holding_the_needle(
            data in proptest::collection::vec(prop_oneof![
                6 => Just(b'1'), 3 => Just(b'8'), 2 => Just(b'6'), 2 => Just(b'5'),
                3 => Just(b','), 2 => Just(b'\n'), 1 => Just(b'a'),
                1 => Just(b'e'), 1 => Just(b'E'), 1 => Just(b'.'),
            ], 0..600),
            offset in 0usize..70,
            needle in prop_oneof![
                Just(&b"11865"[..]), Just(&b"1"[..]), Just(&b"18"[..]), Just(&b"1,5"[..]),
                Just(&b"186511865186"[..]),
            ],
            numeric in any::<bool>(),
            delimiters in 0u32..4,
        ) {
            let offset = offset.min(data.len());
            check(&data, offset, needle, numeric, delimiters)?;
        }

        #[test]
        fn a_candidate_flags_its_line_however_far_the_line_runs_on(
            lines in proptest::collection::vec(
                (0usize..150, any::<bool>(), 0usize..150, 0usize..3), 1..12),
            offset in 0usize..70,
        ) {
            // Long lines of filler with the needle now and then: a candidate in one block
            // whose line ends blocks later.
            let mut data = Vec::new();
            for (before, needle, after, commas) in lines {
                data.extend(std::iter::repeat_n(b'7', before));
                if needle {
                    data.extend_from_slice(b"11865");
                }
                data.extend(std::iter::repeat_n(b'7', after));
                data.extend(std::iter::repeat_n(b',', commas));
                data.push(b'\n');
            }
            let offset = offset.min(data.len());
            let start = data[..offset].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            check(&data, start, b"11865", false, 1)?;
        }

        /// Windows text: lines ending in CRLF (CRs across block ends, empty lines, no final
        /// line end), now and then a LF alone or a lone CR, with the needle here and there.
        #[test]
        fn crlf_lines_are_flagged_as_their_lf_twins(
            lines in proptest::collection::vec(
                (proptest::collection::vec(prop_oneof![
                    6 => Just(&b"7"[..]), 2 => Just(&b","[..]), 1 => Just(&b"11865"[..]), 1 => Just(&b"1e4"[..])
                ], 0..40),
                 prop_oneof![20 => Just(&b"\r\n"[..]), 1 => Just(&b"\n"[..]), 1 => Just(&b"\r"[..]), 1 => Just(&b""[..])]),
                0..12),
            offset in 0usize..70,
            numeric in any::<bool>(),
            delimiters in 0u32..4,
        ) {
            let data: Vec<u8> = lines.iter().flat_map(|(l, end)| l.iter().flat_map(|p| p.iter()).chain(end.iter()).copied()).collect();
            let offset = offset.min(data.len());
            check(&data, offset, b"11865", numeric, delimiters)?;
        }

        #[test]
        fn a_quote_or_cr_anywhere_stops_the_pass(
            mut data in proptest::collection::vec(prop_oneof![Just(b'1'), Just(b','), Just(b'\n')], 1..300),
            at in any::<prop::sample::Index>(),
            bad in prop_oneof![Just(b'"'), Just(b'\r')],
        ) {
            let i = at.index(data.len());
            data[i] = bad;
            check(&data, 0, b"11", false, 1)?;
        }
    }

    #[test]
    fn the_vector_masks_equal_the_scalar_masks() {
        vector_pass_equals_portable::<false>(b"\n");
        vector_pass_equals_portable::<true>(b"\r\n");
    }

    /// The vector passes (both widths) against the portable one, on records ending in `eol`.
    fn vector_pass_equals_portable<const CRLF: bool>(eol: &[u8]) {
        let mut data = Vec::new();
        for i in 0..4000u32 {
            // Now and then a number with an exponent, which a numeric probe flags.
            let e = ["", "e1", "E-2"][(i % 37).min(2) as usize];
            data.extend_from_slice(format!("{}{e},{}", i * 7919 % 20011, i % 13).as_bytes());
            data.extend_from_slice(eol);
        }
        let probe = Probe::new(b"119", true).expect("a plain needle");
        let mut scalar = Vec::new();
        let want = pass_portable::<CRLF>(&data, 0..data.len(), b',', 1, &probe, |f| scalar.push(f));
        assert!(
            scalar.len() > 10,
            "the data must hold candidates: {}",
            scalar.len()
        );
        assert_eq!(want.map(|c| c.records), Ok(4000));
        #[cfg(target_arch = "x86_64")]
        {
            if wide::avx512_available() {
                let mut vector = Vec::new();
                // SAFETY: the CPU has AVX-512 (checked).
                let got = unsafe {
                    wide::pass512::<true, CRLF>(&data, 0..data.len(), b',', 1, &probe, |f| {
                        vector.push(f)
                    })
                };
                assert_eq!((got, &vector), (want, &scalar));
            }
            if wide::avx2_available() {
                let mut vector = Vec::new();
                // SAFETY: the CPU has AVX2 (checked).
                let got = unsafe {
                    wide::pass256::<true, CRLF>(&data, 0..data.len(), b',', 1, &probe, |f| {
                        vector.push(f)
                    })
                };
                assert_eq!((got, &vector), (want, &scalar));
            }
        }
    }
}
