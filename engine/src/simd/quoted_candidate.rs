//! The selective scan's pass over chunks holding quotes or CRs: the quoted structural pass of
//! [`crate::simd::quoted`] fused with the needle search of [`crate::simd::candidate`], so a
//! `--where id=11865` on quoted or CRLF data reads each byte once and splits only the records
//! that hold a candidate (or have the wrong field count).
//!
//! For every 64-byte block: the masks of newlines, delimiters, quotes, CRs and candidates (the
//! candidate probes of [`Probe`]), then the quote step of [`crate::simd::quotes`] (one prefix
//! XOR, the rarity checks) keeps only the newlines and delimiters outside quotes. A block with
//! no candidate and no empty line, whose records all have the right field count (checked by
//! popcounts, as the plain pass does) costs no per-record work: nearly every block of a
//! selective scan. Only other blocks are walked record by record, and the caller hears of the
//! records that hold a candidate or are malformed.
//!
//! Why not search the needle first and work out the quote state only around its hits: every
//! record's field count is checked (the scan reports malformed records) and every rarity must
//! be seen (past a quote inside an unquoted field the toggle model no longer is csv-core's
//! parse), so the masks of every block are needed anyway; fusing the search into them costs
//! four compares per block and no second pass over the bytes.
//!
//! A CR right before a LF is part of the line end: the record's content ends before it. A
//! candidate lies inside the record it starts in (no needle taking this pass holds a quote, CR
//! or newline), quoted or not, so `11865` is found in `"11865"`; one inside another column's
//! quoted field only costs a split, since the caller's predicate compares the unquoted field.

use crate::simd::candidate::{check_by_popcount, exponents, vector_blocks, Counts, Probe};
use crate::simd::quotes::{past_end, prefix_xor, QuoteState, Rare};
use std::ops::Range;

/// A record the caller must look at: `start..end` is its content (without the `\n` or CRLF),
/// `next` is just past its terminator; `well_formed` means it has the expected number of
/// delimiters (so it holds a candidate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flagged {
    pub start: usize,
    pub end: usize,
    pub next: usize,
    pub well_formed: bool,
}

/// The masks of one block, bit `j` for byte `j`: newlines, delimiters, quotes, CRs,
/// candidates and exponent letters (see [`crate::simd::candidate::scalar_masks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masks {
    pub nl: u64,
    pub dl: u64,
    pub qt: u64,
    pub cr: u64,
    pub cand: u64,
    pub exp: u64,
}

/// Portable masks of the block at `bytes[at..]` (up to 64 bytes), for tails and as the
/// oracle: candidate bit `j` needs every probe byte at `at + j + offset` inside `bytes`.
pub fn scalar_masks(bytes: &[u8], at: usize, delimiter: u8, probe: &Probe) -> Masks {
    let (nl, dl, qt, cand, exp, cr) =
        crate::simd::candidate::scalar_masks::<true>(bytes, at, delimiter, probe);
    Masks {
        nl,
        dl,
        qt,
        cr,
        cand,
        exp,
    }
}

/// Walks `data[range]` (which starts at a record start), checking that every non-empty record
/// has `delimiters` delimiters outside quotes, and calls `on_record` for each record that does
/// not, and for each that does and holds a candidate for `probe`, in order. `Err` at the first
/// rarity (records already reported must then be discarded by the caller). `newlines` counts
/// every `\n` of the range, quoted ones included.
pub fn for_each_flagged_record(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    delimiters: u32,
    probe: &Probe,
    on_record: impl FnMut(Flagged),
) -> Result<Counts, Rare> {
    if matches!(delimiter, b'"' | b'\r' | b'\n') {
        return Err(Rare::Delimiter);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if wide::available() {
            // SAFETY: the CPU has AVX2, BMI1, POPCNT and PCLMULQDQ (checked above).
            return unsafe {
                match probe.numeric() {
                    true => {
                        wide::pass::<true>(data, range, delimiter, delimiters, probe, on_record)
                    }
                    false => {
                        wide::pass::<false>(data, range, delimiter, delimiters, probe, on_record)
                    }
                }
            };
        }
    }
    pass_portable(data, range, delimiter, delimiters, probe, on_record)
}

/// Where the pass stands between blocks.
#[derive(Debug, Clone, Copy)]
struct State {
    counts: Counts,
    quotes: QuoteState,
    /// The record being read: its start (relative to the range), delimiters seen so far,
    /// and whether it holds a candidate.
    line_start: usize,
    seen: u32,
    pending: bool,
    /// 1 when the byte before the next block ends a record (or the range starts there).
    after_nl: u64,
    /// 1 when the byte before the next block is a CR that starts a record (an empty CRLF
    /// line if a LF follows).
    cr_first: u64,
}

/// A block the fast loop left to be walked record by record, after the quote step.
#[derive(Debug, Clone, Copy)]
struct Block {
    index: usize,
    /// Newlines and delimiters outside quotes, candidates.
    nl: u64,
    dl: u64,
    cand: u64,
    /// Bit i set: byte i - 1 is a CR outside quotes (so a LF at i ends a CRLF).
    cr_before: u64,
}

/// Runs the blocks from `b` on while each is ordinary: no candidate, no empty record, no
/// record holding an earlier candidate ends in it, and every record ending in it has the
/// right field count (by popcounts). Returns the first block that is not, with its masks
/// (`st` already past its quote step), or `None` at the end of the range. A tight loop with
/// no call, so that its constants stay in registers: this is where nearly all the bytes go.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn fast_blocks(
    bytes: &[u8],
    mut b: usize,
    vector_blocks: usize,
    delimiter: u8,
    delimiters: u32,
    probe: &Probe,
    masks: &impl Fn(&[u8], usize, u8, &Probe) -> Masks,
    prefix_xor: &impl Fn(u64) -> u64,
    st: &mut State,
) -> Result<Option<Block>, Rare> {
    let blocks = bytes.len().div_ceil(64);
    while b < blocks {
        let at = b * 64;
        let m = if b < vector_blocks {
            masks(bytes, at, delimiter, probe)
        } else {
            scalar_masks(bytes, at, delimiter, probe)
        };
        let cr_carry = st.quotes.cr_carry();
        // Blocks without quotes or CRs (none in quoted or CRLF files, but a chunk may mix)
        // skip the quote step.
        let (nl, dl, cr) = if st.quotes.skips(m.qt | m.cr) {
            (m.nl, m.dl, 0)
        } else {
            st.quotes
                .resume(at.checked_sub(1).map(|i| bytes[i]), delimiter);
            let len = (bytes.len() - at).min(64);
            let s = st
                .quotes
                .step(m.nl, m.dl, m.qt, m.cr, past_end(len), prefix_xor)?;
            (s.nl, s.dl, s.cr)
        };
        st.counts.newlines += m.nl.count_ones() as u64;
        let mut cand = m.cand;
        if m.exp != 0 {
            cand |= exponents(bytes, at, m.exp);
        }
        // Records start after each record end; a record is empty when its end is its start,
        // or right after a CR at its start.
        let starts = (nl << 1) | st.after_nl;
        let empty = nl & (starts | ((cr & starts) << 1) | st.cr_first);
        st.cr_first = (cr & starts) >> 63;
        st.after_nl = nl >> 63;
        if (cand | empty) == 0 && !(st.pending && nl != 0) {
            let (right, next_seen) = check_by_popcount(nl, dl, st.seen, delimiters);
            if right {
                st.counts.records += nl.count_ones() as u64;
                if nl != 0 {
                    st.line_start = at + 64 - nl.leading_zeros() as usize;
                }
                st.seen = next_seen;
                b += 1;
                continue;
            }
        }
        return Ok(Some(Block {
            index: b,
            nl,
            dl,
            cand,
            cr_before: (cr << 1) | cr_carry,
        }));
    }
    Ok(None)
}

/// The pass, generic over how runs of ordinary blocks go (`fast(bytes, b, state)`, a
/// [`fast_blocks`] loop compiled for the CPU) so that the walk of the others, with the
/// caller's closure inlined, stays out of that loop.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn pass_with(
    data: &[u8],
    range: Range<usize>,
    delimiters: u32,
    mut on_record: impl FnMut(Flagged),
    fast: impl Fn(&[u8], usize, &mut State) -> Result<Option<Block>, Rare>,
) -> Result<Counts, Rare> {
    let bytes = &data[range.clone()];
    let base = range.start;
    let mut st = State {
        counts: Counts::default(),
        quotes: QuoteState::default(),
        line_start: 0,
        seen: 0,
        pending: false,
        after_nl: 1,
        cr_first: 0,
    };
    let mut b = 0;
    while let Some(block) = fast(bytes, b, &mut st)? {
        let at = block.index * 64;
        let (mut nl, mut dl, mut cand) = (block.nl, block.dl, block.cand);
        while nl != 0 {
            let bit = nl.trailing_zeros();
            let below = (1u64 << bit) - 1;
            let count = st.seen + (dl & below).count_ones();
            let flagged = st.pending || cand & below != 0;
            let end = at + bit as usize;
            let content_end = end - (block.cr_before >> bit & 1) as usize;
            if content_end > st.line_start {
                st.counts.records += 1;
                let well_formed = count == delimiters;
                if flagged || !well_formed {
                    on_record(Flagged {
                        start: base + st.line_start,
                        end: base + content_end,
                        next: base + end + 1,
                        well_formed,
                    });
                }
            }
            st.line_start = end + 1;
            st.seen = 0;
            st.pending = false;
            dl &= !below;
            cand &= !below;
            nl &= nl - 1;
        }
        st.seen += dl.count_ones();
        st.pending |= cand != 0;
        b = block.index + 1;
    }
    // The last record runs on past the range (or ends in a lone CR): csv-core decides.
    st.quotes.end()?;
    if st.line_start < bytes.len() {
        st.counts.records += 1;
        let well_formed = st.seen == delimiters;
        if st.pending || !well_formed {
            on_record(Flagged {
                start: base + st.line_start,
                end: base + bytes.len(),
                next: base + bytes.len(),
                well_formed,
            });
        }
    }
    Ok(st.counts)
}

/// The pass without SIMD: every block by [`scalar_masks`], the prefix XOR by shifts. The
/// fallback, and the oracle the vector pass is tested against.
fn pass_portable(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    delimiters: u32,
    probe: &Probe,
    on_record: impl FnMut(Flagged),
) -> Result<Counts, Rare> {
    let masks = |_: &[u8], _, _, _: &Probe| -> Masks { unreachable!("no vector blocks") };
    let fast = |bytes: &[u8], b, st: &mut State| {
        fast_blocks(
            bytes,
            b,
            0,
            delimiter,
            delimiters,
            probe,
            &masks,
            &prefix_xor,
            st,
        )
    };
    pass_with(data, range, delimiters, on_record, fast)
}

#[cfg(target_arch = "x86_64")]
mod wide {
    use super::{
        fast_blocks, pass_with, vector_blocks, Block, Counts, Flagged, Masks, Probe, Rare, State,
    };
    use crate::simd::quotes::prefix_xor_clmul;
    use std::arch::x86_64::*;
    use std::ops::Range;

    pub fn available() -> bool {
        crate::simd::cpu::level() >= crate::simd::cpu::Level::Avx2 && crate::simd::cpu::clmul()
    }

    /// `EXP`: the probe asks for exponent letters (otherwise they are not looked for).
    ///
    /// # Safety
    /// The CPU must support AVX2, BMI1, POPCNT and PCLMULQDQ.
    #[target_feature(enable = "avx2,bmi1,popcnt,pclmulqdq")]
    pub unsafe fn pass<const EXP: bool>(
        data: &[u8],
        range: Range<usize>,
        delimiter: u8,
        delimiters: u32,
        probe: &Probe,
        on_record: impl FnMut(Flagged),
    ) -> Result<Counts, Rare> {
        let fast = |bytes: &[u8], b, st: &mut State| {
            // SAFETY: the CPU has this function's features (its contract).
            unsafe { fast256::<EXP>(bytes, b, delimiter, delimiters, probe, st) }
        };
        pass_with(data, range, delimiters, on_record, fast)
    }

    /// [`fast_blocks`] compiled for AVX2 and never inlined: the loop's constants (the
    /// broadcast bytes, the probe offsets) then stay in registers, where in the caller,
    /// across its calls for flagged records, they would be spilled and reloaded every block.
    ///
    /// # Safety
    /// The CPU must support AVX2, BMI1, POPCNT and PCLMULQDQ.
    #[target_feature(enable = "avx2,bmi1,popcnt,pclmulqdq")]
    #[inline(never)]
    unsafe fn fast256<const EXP: bool>(
        bytes: &[u8],
        b: usize,
        delimiter: u8,
        delimiters: u32,
        probe: &Probe,
        st: &mut State,
    ) -> Result<Option<Block>, Rare> {
        let vector = vector_blocks(bytes.len(), probe);
        let masks = |bytes: &[u8], at, delimiter, probe: &Probe| {
            // SAFETY: blocks below `vector` keep every load in bounds, and the CPU has
            // this function's features (its contract).
            unsafe { masks256::<EXP>(bytes, at, delimiter, probe) }
        };
        // SAFETY: this function runs only where PCLMULQDQ exists (its contract).
        let prefix_xor = |bits| unsafe { prefix_xor_clmul(bits) };
        fast_blocks(
            bytes,
            b,
            vector,
            delimiter,
            delimiters,
            probe,
            &masks,
            &prefix_xor,
            st,
        )
    }

    /// The masks of the block at `bytes[at..]` (see `scalar_masks`), two 32-byte halves each.
    ///
    /// # Safety
    /// `at + 64 + probe.span - 1 <= bytes.len()`, and the CPU supports AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn masks256<const EXP: bool>(
        bytes: &[u8],
        at: usize,
        delimiter: u8,
        probe: &Probe,
    ) -> Masks {
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
            let mask = |(lo, hi): (__m256i, __m256i)| {
                (_mm256_movemask_epi8(lo) as u32 as u64)
                    | ((_mm256_movemask_epi8(hi) as u32 as u64) << 32)
            };
            let and = |(a, b): (__m256i, __m256i), (c, d): (__m256i, __m256i)| {
                (_mm256_and_si256(a, c), _mm256_and_si256(b, d))
            };
            let v = load(0);
            let (offsets, wanted) = probe.probes();
            let mut cand = eq(load(offsets[0]), wanted[0]);
            for k in 1..4 {
                cand = and(cand, eq(load(offsets[k]), wanted[k]));
            }
            let exp = match EXP {
                true => {
                    let lower = _mm256_set1_epi8(0x20);
                    mask(eq(
                        (_mm256_or_si256(v.0, lower), _mm256_or_si256(v.1, lower)),
                        b'e',
                    ))
                }
                false => 0,
            };
            Masks {
                nl: mask(eq(v, b'\n')),
                dl: mask(eq(v, delimiter)),
                qt: mask(eq(v, b'"')),
                cr: mask(eq(v, b'\r')),
                cand: mask(cand),
                exp,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::record::GeneralRecords;
    use crate::simd::quoted::{for_each_line, Line};
    use proptest::prelude::*;

    /// CSV as exporters write it: fields quoted when they must be or when `style` says so,
    /// `""` escapes, quoted commas, newlines and CRs, LF or CRLF line ends, now and then an
    /// empty line; records of 1 to 4 fields.
    fn exporter_csv(records: &[Vec<(Vec<u8>, bool)>], crlf: bool) -> Vec<u8> {
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut data = Vec::new();
        for fields in records {
            for (k, (text, quote)) in fields.iter().enumerate() {
                if k > 0 {
                    data.push(b',');
                }
                let special = text
                    .iter()
                    .any(|c| matches!(c, b'"' | b',' | b'\n' | b'\r'));
                if *quote || special {
                    fleet_fixtures::push_quoted(&mut data, text);
                } else {
                    data.extend_from_slice(text);
                }
            }
            data.extend_from_slice(eol);
            if fields.len() == 4 {
                data.extend_from_slice(eol);
            }
        }
        data
    }

    /// Whether a record's bytes hold the needle, or for a numeric needle an exponent letter
    /// after a digit or dot: what the pass must flag (it may flag more).
    fn holds(content: &[u8], needle: &[u8], numeric: bool) -> bool {
        let exponent = content
            .windows(2)
            .any(|w| (w[0].is_ascii_digit() || w[0] == b'.') && (w[1] == b'e' || w[1] == b'E'));
        content.windows(needle.len()).any(|w| w == needle) || (numeric && exponent)
    }

    /// The pass against the quoted pass's records (themselves held to csv-core in
    /// `simd::quoted`) and against csv-core directly: the same acceptance and rarity, the
    /// same record and newline counts, and flagged exactly the malformed records and a
    /// superset of the well-formed ones holding the needle, with their bounds. Then the
    /// portable pass (the scalar masks, the prefix XOR by shifts) must agree to the bit.
    fn check(
        data: &[u8],
        from: usize,
        needle: &[u8],
        numeric: bool,
        delimiters: u32,
    ) -> Result<(), TestCaseError> {
        let probe = Probe::new(needle, numeric).expect("a needle without newline");
        let range = from..data.len();
        let mut got = Vec::new();
        let result = for_each_flagged_record(data, range.clone(), b',', delimiters, &probe, |f| {
            got.push(f)
        });
        let mut lines: Vec<Line> = Vec::new();
        let quoted = for_each_line(data, range.clone(), b',', |l| lines.push(l));
        match (result, quoted) {
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (Ok(counts), Ok(newlines)) => {
                prop_assert_eq!(counts.newlines, newlines);
                prop_assert_eq!(counts.records, lines.len() as u64);
                let mut reference = GeneralRecords::new(data, range.clone(), b',', true);
                for l in &lines {
                    let (r, n) = reference.next_record().expect("csv-core has the record");
                    prop_assert_eq!((r.start, r.end), (l.start, l.next));
                    prop_assert_eq!(n, l.delimiters as usize + 1);
                }
                prop_assert!(reference.next_record().is_none());
                let mut flagged = got.iter().peekable();
                for l in &lines {
                    let well_formed = l.delimiters == delimiters;
                    let f = flagged.next_if(|f| f.start == l.start).copied();
                    let want = Flagged {
                        start: l.start,
                        end: l.end,
                        next: l.next,
                        well_formed,
                    };
                    if !well_formed || holds(&data[l.start..l.end], needle, numeric) {
                        prop_assert_eq!(f, Some(want), "{:?}", String::from_utf8_lossy(data));
                    } else if let Some(f) = f {
                        prop_assert_eq!(f, want);
                    }
                }
                prop_assert_eq!(flagged.next(), None, "flagged out of order or twice");
            }
            (a, b) => prop_assert!(false, "fused {a:?}, quoted pass {b:?}"),
        }
        let mut portable = Vec::new();
        let again = pass_portable(data, range, b',', delimiters, &probe, |f| portable.push(f));
        prop_assert_eq!(again, result);
        if result.is_ok() {
            prop_assert_eq!(portable, got);
        }
        Ok(())
    }

    fn field() -> impl Strategy<Value = (Vec<u8>, bool)> {
        (
            proptest::collection::vec(
                prop_oneof![
                    6 => Just(b'1'), 3 => Just(b'8'), 2 => Just(b'6'), 2 => Just(b'5'),
                    3 => Just(b'x'), 1 => Just(b','), 1 => Just(b'\n'), 1 => Just(b'"'),
                    1 => Just(b'\r'), 1 => Just(b'e'), 1 => Just(b'.'),
                ],
                0..30,
            ),
            any::<bool>(),
        )
    }

    proptest! {
        #[test]
        fn flags_every_malformed_record_and_every_record_holding_the_needle(
            records in proptest::collection::vec(proptest::collection::vec(field(), 1..5), 1..40),
            crlf in any::<bool>(),
            corrupt in proptest::option::of((any::<prop::sample::Index>(), prop_oneof![
                Just(b'"'), Just(b'\r'), Just(b'\n'), Just(b','), Just(b'1')
            ])),
            skip in 0usize..3,
            needle in prop_oneof![
                Just(&b"11865"[..]), Just(&b"1"[..]), Just(&b"18"[..]), Just(&b"1,5"[..]),
                Just(&b"186511865186"[..]),
            ],
            numeric in any::<bool>(),
            delimiters in 0u32..4,
        ) {
            let mut data = exporter_csv(&records, crlf);
            if let Some((at, byte)) = corrupt {
                let i = at.index(data.len());
                data[i] = byte;
            }
            // A range starts at a record start: after the first `skip` records (by csv-core).
            let mut from = 0;
            let mut reference = GeneralRecords::new(&data, 0..data.len(), b',', true);
            for _ in 0..skip {
                if let Some((r, _)) = reference.next_record() {
                    from = r.end;
                }
            }
            check(&data, from, needle, numeric, delimiters)?;
        }

        #[test]
        fn a_candidate_flags_its_record_however_far_it_runs_on(
            records in proptest::collection::vec(
                (0usize..150, any::<bool>(), 0usize..150, 0usize..3, any::<bool>()), 1..12),
            crlf in any::<bool>(),
        ) {
            // Long quoted fields with the needle now and then: a candidate in one block whose
            // record ends blocks later, quoted newlines and commas between.
            let mut data = Vec::new();
            for (before, needle, after, commas, quote) in records {
                if quote {
                    data.push(b'"');
                }
                data.extend((0..before).map(|i| if quote && i % 40 == 39 { b'\n' } else { b'7' }));
                if needle {
                    data.extend_from_slice(b"11865");
                }
                data.extend((0..after).map(|i| if quote && i % 50 == 49 { b',' } else { b'7' }));
                if quote {
                    data.push(b'"');
                }
                data.extend(std::iter::repeat_n(b',', commas));
                data.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            }
            check(&data, 0, b"11865", false, 1)?;
        }

        #[test]
        fn the_vector_masks_equal_the_scalar_masks(
            data in proptest::collection::vec(prop_oneof![
                4 => Just(b'1'), 2 => Just(b'8'), 2 => Just(b'6'), 2 => Just(b'5'),
                2 => Just(b','), 1 => Just(b'\n'), 1 => Just(b'"'), 1 => Just(b'\r'),
                1 => Just(b'e'), 1 => Just(b'E'), 1 => Just(b'x'),
            ], 64..200),
            needle in prop_oneof![Just(&b"11865"[..]), Just(&b"1"[..]), Just(&b"8,5"[..])],
        ) {
            #[cfg(target_arch = "x86_64")]
            if wide::available() {
                for numeric in [false, true] {
                    let probe = Probe::new(needle, numeric).expect("a needle");
                    for b in 0..vector_blocks(data.len(), &probe) {
                        // SAFETY: blocks below `vector_blocks` are readable with the probes,
                        // and the CPU has AVX2 (checked).
                        let got = unsafe {
                            match numeric {
                                true => wide::masks256::<true>(&data, b * 64, b',', &probe),
                                false => wide::masks256::<false>(&data, b * 64, b',', &probe),
                            }
                        };
                        let mut want = scalar_masks(&data, b * 64, b',', &probe);
                        if !numeric {
                            want.exp = 0;
                        }
                        prop_assert_eq!(got, want, "block {}", b);
                    }
                }
            }
        }
    }

    #[test]
    fn a_quoted_needle_is_found_and_another_columns_quoted_needle_is_flagged() {
        // `11865` quoted in the first field, inside another column's quoted text, in a CRLF
        // file: both records are flagged with their content (CR excluded) and raw end.
        let data = b"\"11865\",\"a\"\r\n\"2\",\"say 11865, \"\"hi\"\"\"\r\n\"3\",\"c\"\r\n";
        let probe = Probe::new(b"11865", true).expect("a needle");
        let mut got = Vec::new();
        let counts = for_each_flagged_record(data, 0..data.len(), b',', 1, &probe, |f| got.push(f))
            .expect("no rarity");
        assert_eq!(
            counts,
            Counts {
                newlines: 3,
                records: 3
            }
        );
        let texts: Vec<(&[u8], &[u8])> = got
            .iter()
            .map(|f| (&data[f.start..f.end], &data[f.end..f.next]))
            .collect();
        assert_eq!(
            texts,
            vec![
                (&b"\"11865\",\"a\""[..], &b"\r\n"[..]),
                (&b"\"2\",\"say 11865, \"\"hi\"\"\""[..], &b"\r\n"[..]),
            ]
        );
    }
}
