//! The structural pass over quote-free data: 64 bytes at a time, bit masks of newlines and
//! delimiters give every line with its number of delimiters, so each record's field count is
//! checked without splitting it into fields (the kernel splits only the lines that can match).
//!
//! On x86_64 the loop runs in a copy compiled for AVX-512BW or AVX2 (with BMI1 and POPCNT),
//! whichever [`crate::simd::cpu::level`] finds; otherwise in SSE2 (the x86_64 baseline) or
//! portable code.
//!
//! Hand-written because it is the engine's innermost loop: a `memchr` per line plus a count per
//! line costs several calls per 50-byte record, while one mask pass costs a few instructions
//! per 64 bytes. A quote anywhere ends the pass early: such data needs the quoted pass.
//!
//! CR bytes depend on the mode. The default (`CRLF = false`) stops at any CR too, so plain
//! files pay nothing for CRLF ones. With `CRLF = true` (a chunk the default refused) a CR is
//! taken when a LF follows it: the line's content ends before it, its raw bytes keep it. A CR
//! not followed by a LF is csv-core's line end (old Mac files) and stops the pass, as a quote.

use std::ops::Range;

/// One line of a quote-free range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub start: usize,
    /// End of the content, excluding the `\n` (which is at `end` when present) and, in CRLF
    /// mode, the CR before it (then at `end`, and the `\n` at `end + 1`).
    pub end: usize,
    /// Number of delimiter bytes in the line.
    pub delimiters: u32,
    /// Number of `\n` before this line in the range.
    pub line_no: u64,
}

/// The range held a quote, or a CR the mode does not take: the caller must use another pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotQuoteFree;

/// Masks of one block of up to 64 bytes: (newlines, delimiters, what stops the pass, CRs).
/// Without `CRLF` a CR stops the pass like a quote and the CR mask is 0; with it, only a quote
/// stops it and the CRs are handed out.
pub type Masks = (u64, u64, u64, u64);

#[inline(always)]
fn block_masks<const CRLF: bool>(block: &[u8], delimiter: u8) -> Masks {
    #[cfg(target_arch = "x86_64")]
    {
        if block.len() == 64 {
            // SAFETY: SSE2 is part of the x86_64 baseline, and the block holds 64 readable bytes.
            return unsafe { sse2::masks::<CRLF>(block.as_ptr(), delimiter) };
        }
    }
    scalar_masks::<CRLF>(block, delimiter)
}

/// Portable masks, also used for the last partial block (and as the test oracle).
pub fn scalar_masks<const CRLF: bool>(block: &[u8], delimiter: u8) -> Masks {
    let (mut nl, mut dl, mut qt, mut cr) = (0u64, 0u64, 0u64, 0u64);
    for (i, &b) in block.iter().enumerate().take(64) {
        nl |= ((b == b'\n') as u64) << i;
        dl |= ((b == delimiter) as u64) << i;
        qt |= ((b == b'"') as u64) << i;
        cr |= ((b == b'\r') as u64) << i;
    }
    split_stop::<CRLF>(nl, dl, qt, cr)
}

/// The masks of a block as the mode wants them, from its quote and CR masks.
#[inline(always)]
fn split_stop<const CRLF: bool>(nl: u64, dl: u64, qt: u64, cr: u64) -> Masks {
    if CRLF {
        (nl, dl, qt, cr)
    } else {
        (nl, dl, qt | cr, 0)
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// # Safety
    /// `ptr` must point to 64 readable bytes.
    #[inline(always)]
    pub unsafe fn masks<const CRLF: bool>(ptr: *const u8, delimiter: u8) -> super::Masks {
        // SAFETY: the caller guarantees 64 readable bytes; unaligned loads are allowed.
        unsafe {
            let nl = _mm_set1_epi8(b'\n' as i8);
            let dl = _mm_set1_epi8(delimiter as i8);
            let qt = _mm_set1_epi8(b'"' as i8);
            let cr = _mm_set1_epi8(b'\r' as i8);
            let (mut m_nl, mut m_dl, mut m_bad, mut m_cr) = (0u64, 0u64, 0u64, 0u64);
            for k in 0..4 {
                let v = _mm_loadu_si128(ptr.add(16 * k) as *const __m128i);
                let shift = 16 * k as u32;
                m_nl |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) as u16 as u64) << shift;
                m_dl |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, dl)) as u16 as u64) << shift;
                let is_cr = _mm_cmpeq_epi8(v, cr);
                let bad = if CRLF {
                    m_cr |= (_mm_movemask_epi8(is_cr) as u16 as u64) << shift;
                    _mm_cmpeq_epi8(v, qt)
                } else {
                    _mm_or_si128(_mm_cmpeq_epi8(v, qt), is_cr)
                };
                m_bad |= (_mm_movemask_epi8(bad) as u16 as u64) << shift;
            }
            (m_nl, m_dl, m_bad, m_cr)
        }
    }
}

/// Calls `on_line` for every non-empty line of `data[range]` (the last may lack a `\n`) and
/// returns the number of `\n` bytes in the range, or `NotQuoteFree` as soon as a quote (or a
/// CR the mode does not take: see the module docs) is seen (lines already reported must then be
/// discarded by the caller).
#[inline]
pub fn for_each_line<const CRLF: bool>(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    mut on_line: impl FnMut(Line),
) -> Result<u64, NotQuoteFree> {
    for_each_line_split::<CRLF>(data, range, delimiter, 0, |line, _| on_line(line))
}

/// Most delimiter positions [`for_each_line_split`] records per line.
pub const MAX_SPLIT: usize = 64;

/// As [`for_each_line`], and also hands `on_line` the absolute positions of the line's first
/// `want` delimiters (fewer when the line has fewer; `want` is capped at [`MAX_SPLIT`]), taken
/// from the same bit masks, so a record's leading fields cost no second look at its bytes.
#[inline]
pub fn for_each_line_split<const CRLF: bool>(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    want: usize,
    on_line: impl FnMut(Line, &[usize]),
) -> Result<u64, NotQuoteFree> {
    let want = want.min(MAX_SPLIT);
    #[cfg(target_arch = "x86_64")]
    {
        if avx512::available() {
            // SAFETY: the CPU has every feature `avx512::lines` is compiled for (checked above).
            return unsafe { avx512::lines::<CRLF>(data, range, delimiter, want, on_line) };
        }
        if avx2::available() {
            // SAFETY: the CPU has every feature `avx2::lines` is compiled for (checked above).
            return unsafe { avx2::lines::<CRLF>(data, range, delimiter, want, on_line) };
        }
    }
    lines_with::<CRLF>(data, range, delimiter, want, on_line, block_masks::<CRLF>)
}

/// The pass itself, generic over how a block's masks are computed. Always inlined, so that
/// inside `avx2::lines` the whole loop, the caller's closure included, is compiled for AVX2,
/// BMI and POPCNT (without POPCNT, `count_ones` is a dozen instructions).
#[inline(always)]
fn lines_with<const CRLF: bool>(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    want: usize,
    mut on_line: impl FnMut(Line, &[usize]),
    masks: impl Fn(&[u8], u8) -> Masks,
) -> Result<u64, NotQuoteFree> {
    let bytes = &data[range.clone()];
    let base = range.start;
    let mut line_start = 0usize;
    let mut delimiters = 0u32;
    let mut line_no = 0u64;
    let mut at = [0usize; MAX_SPLIT];
    let mut found = 0usize;
    // CRLF: 1 when the previous block ended in a CR, whose LF must open this one.
    let mut cr_carry = 0u64;
    for (b, block) in bytes.chunks(64).enumerate() {
        let (mut nl, mut dl, bad, cr) = masks(block, delimiter);
        if bad != 0 {
            return Err(NotQuoteFree);
        }
        // The newlines right after a CR: their line's content ends one byte earlier. A CR with
        // no LF after it (in a short last block, past its end) is a lone CR.
        let mut after_cr = 0u64;
        if CRLF {
            after_cr = (cr << 1) | cr_carry;
            if after_cr & !nl != 0 {
                return Err(NotQuoteFree);
            }
            cr_carry = cr >> 63;
        }
        let offset = b * 64;
        while nl != 0 {
            let bit = nl.trailing_zeros();
            let below = (1u64 << bit) - 1;
            let mut mine = dl & below;
            delimiters += mine.count_ones();
            while found < want && mine != 0 {
                at[found] = base + offset + mine.trailing_zeros() as usize;
                found += 1;
                mine &= mine - 1;
            }
            let lf = offset + bit as usize;
            // In CRLF mode a lone "\r\n" is an empty line too: its content end is its start.
            let end = lf - ((after_cr >> bit) & 1) as usize;
            if end > line_start {
                on_line(
                    Line {
                        start: base + line_start,
                        end: base + end,
                        delimiters,
                        line_no,
                    },
                    &at[..found],
                );
            }
            line_no += 1;
            line_start = lf + 1;
            delimiters = 0;
            found = 0;
            dl &= !below;
            nl &= nl - 1;
        }
        delimiters += dl.count_ones();
        while found < want && dl != 0 {
            at[found] = base + offset + dl.trailing_zeros() as usize;
            found += 1;
            dl &= dl - 1;
        }
    }
    if cr_carry != 0 {
        // The range's last byte is a CR: a lone CR here (csv-core's line end).
        return Err(NotQuoteFree);
    }
    if line_start < bytes.len() {
        on_line(
            Line {
                start: base + line_start,
                end: base + bytes.len(),
                delimiters,
                line_no,
            },
            &at[..found],
        );
    }
    Ok(line_no)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{lines_with, scalar_masks, split_stop, Line, Masks, NotQuoteFree};
    use std::arch::x86_64::*;
    use std::ops::Range;

    pub fn available() -> bool {
        crate::simd::cpu::level() >= crate::simd::cpu::Level::Avx2
    }

    /// # Safety
    /// The CPU must support AVX2, BMI1 and POPCNT.
    #[target_feature(enable = "avx2,bmi1,popcnt")]
    pub unsafe fn lines<const CRLF: bool>(
        data: &[u8],
        range: Range<usize>,
        delimiter: u8,
        want: usize,
        on_line: impl FnMut(Line, &[usize]),
    ) -> Result<u64, NotQuoteFree> {
        lines_with::<CRLF>(data, range, delimiter, want, on_line, |block, delimiter| {
            if block.len() == 64 {
                // SAFETY: 64 readable bytes; this function runs only where AVX2 exists.
                unsafe { masks::<CRLF>(block.as_ptr(), delimiter) }
            } else {
                scalar_masks::<CRLF>(block, delimiter)
            }
        })
    }

    /// # Safety
    /// `ptr` must point to 64 readable bytes and the CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn masks<const CRLF: bool>(ptr: *const u8, delimiter: u8) -> Masks {
        // SAFETY: the caller guarantees 64 readable bytes; unaligned loads are allowed.
        unsafe {
            let nl = _mm256_set1_epi8(b'\n' as i8);
            let dl = _mm256_set1_epi8(delimiter as i8);
            let qt = _mm256_set1_epi8(b'"' as i8);
            let cr = _mm256_set1_epi8(b'\r' as i8);
            let lo = _mm256_loadu_si256(ptr as *const __m256i);
            let hi = _mm256_loadu_si256(ptr.add(32) as *const __m256i);
            let mask = |eq_lo: __m256i, eq_hi: __m256i| {
                (_mm256_movemask_epi8(eq_lo) as u32 as u64)
                    | ((_mm256_movemask_epi8(eq_hi) as u32 as u64) << 32)
            };
            let m_nl = mask(_mm256_cmpeq_epi8(lo, nl), _mm256_cmpeq_epi8(hi, nl));
            let m_dl = mask(_mm256_cmpeq_epi8(lo, dl), _mm256_cmpeq_epi8(hi, dl));
            if CRLF {
                let m_qt = mask(_mm256_cmpeq_epi8(lo, qt), _mm256_cmpeq_epi8(hi, qt));
                let m_cr = mask(_mm256_cmpeq_epi8(lo, cr), _mm256_cmpeq_epi8(hi, cr));
                split_stop::<CRLF>(m_nl, m_dl, m_qt, m_cr)
            } else {
                // One movemask pair for both: the pass stops at either.
                let m_bad = mask(
                    _mm256_or_si256(_mm256_cmpeq_epi8(lo, qt), _mm256_cmpeq_epi8(lo, cr)),
                    _mm256_or_si256(_mm256_cmpeq_epi8(hi, qt), _mm256_cmpeq_epi8(hi, cr)),
                );
                (m_nl, m_dl, m_bad, 0)
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{lines_with, scalar_masks, split_stop, Line, Masks, NotQuoteFree};
    use std::arch::x86_64::*;
    use std::ops::Range;

    pub fn available() -> bool {
        crate::simd::cpu::level() >= crate::simd::cpu::Level::Avx512
    }

    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW, BMI1 and POPCNT.
    #[target_feature(enable = "avx512f,avx512bw,bmi1,popcnt")]
    pub unsafe fn lines<const CRLF: bool>(
        data: &[u8],
        range: Range<usize>,
        delimiter: u8,
        want: usize,
        on_line: impl FnMut(Line, &[usize]),
    ) -> Result<u64, NotQuoteFree> {
        lines_with::<CRLF>(data, range, delimiter, want, on_line, |block, delimiter| {
            if block.len() == 64 {
                // SAFETY: 64 readable bytes; this function runs only where AVX-512BW exists.
                unsafe { masks::<CRLF>(block.as_ptr(), delimiter) }
            } else {
                scalar_masks::<CRLF>(block, delimiter)
            }
        })
    }

    /// One 64-byte load and four compares straight into bit masks.
    ///
    /// # Safety
    /// `ptr` must point to 64 readable bytes and the CPU must support AVX-512BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    #[inline]
    pub unsafe fn masks<const CRLF: bool>(ptr: *const u8, delimiter: u8) -> Masks {
        // SAFETY: the caller guarantees 64 readable bytes; unaligned loads are allowed.
        unsafe {
            let v = _mm512_loadu_si512(ptr as *const __m512i);
            let eq = |b: u8| _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b as i8));
            split_stop::<CRLF>(eq(b'\n'), eq(delimiter), eq(b'"'), eq(b'\r'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The lines of `data` by a byte walk: `None` where the mode refuses the data (any quote;
    /// any CR without CRLF, else a CR not followed by a LF).
    fn naive(data: &[u8], delimiter: u8, crlf: bool) -> Option<(Vec<Line>, u64)> {
        let lone_cr = |i: usize| data[i] == b'\r' && data.get(i + 1) != Some(&b'\n');
        if data.contains(&b'"') || (!crlf && data.contains(&b'\r')) || (0..data.len()).any(lone_cr)
        {
            return None;
        }
        let mut lines = Vec::new();
        let mut start = 0;
        let mut no = 0;
        let mut push = |start: usize, mut end: usize, no: u64| {
            if end > start && data[end - 1] == b'\r' {
                end -= 1;
            }
            if end > start {
                let delimiters =
                    data[start..end].iter().filter(|&&c| c == delimiter).count() as u32;
                lines.push(Line {
                    start,
                    end,
                    delimiters,
                    line_no: no,
                });
            }
        };
        for (i, &b) in data.iter().enumerate() {
            if b == b'\n' {
                push(start, i, no);
                no += 1;
                start = i + 1;
            }
        }
        if start < data.len() {
            push(start, data.len(), no);
        }
        Some((lines, no))
    }

    fn lines_of(
        data: &[u8],
        range: Range<usize>,
        delimiter: u8,
        crlf: bool,
    ) -> (Result<u64, NotQuoteFree>, Vec<Line>) {
        let mut got = Vec::new();
        let result = match crlf {
            false => for_each_line::<false>(data, range, delimiter, |l| got.push(l)),
            true => for_each_line::<true>(data, range, delimiter, |l| got.push(l)),
        };
        (result, got)
    }

    proptest! {
        #[test]
        fn agrees_with_a_naive_line_split(
            data in proptest::collection::vec(prop_oneof![
                8 => Just(b'a'), 4 => Just(b','), 4 => Just(b'\n'), 1 => Just(b'"'), 1 => Just(b'\r'), 1 => Just(b'\t')
            ], 0..400),
            offset in 0usize..70,
        ) {
            let offset = offset.min(data.len());
            for delimiter in [b',', b'\t'] {
                for crlf in [false, true] {
                    let (result, got) = lines_of(&data, offset..data.len(), delimiter, crlf);
                    let want = naive(&data[offset..], delimiter, crlf).map(|(lines, n)| {
                        let lines: Vec<Line> = lines.into_iter().map(|l| Line { start: l.start + offset, end: l.end + offset, ..l }).collect();
                        (lines, n)
                    });
                    match want {
                        None => prop_assert_eq!(result, Err(NotQuoteFree)),
                        Some((lines, n)) => {
                            prop_assert_eq!(result, Ok(n));
                            prop_assert_eq!(got, lines);
                        }
                    }
                }
            }
        }

        /// CRLF text as Windows exporters write it (every line end a CRLF, CRs across block
        /// ends, empty lines, no final line end), now and then a LF-only line end or a lone CR:
        /// the CRLF mode agrees with the byte walk line by line, and the default mode refuses
        /// every range holding a CR.
        #[test]
        fn the_crlf_mode_agrees_with_a_naive_line_split(
            lines in proptest::collection::vec(
                (proptest::collection::vec(prop_oneof![6 => Just(b'7'), 2 => Just(b',')], 0..90),
                 prop_oneof![20 => Just(&b"\r\n"[..]), 1 => Just(&b"\n"[..]), 1 => Just(&b"\r"[..]), 1 => Just(&b""[..])]),
                0..12),
            offset in 0usize..70,
        ) {
            let data: Vec<u8> = lines.iter().flat_map(|(l, end)| l.iter().chain(end.iter()).copied()).collect();
            let offset = offset.min(data.len());
            for crlf in [false, true] {
                let (result, got) = lines_of(&data, offset..data.len(), b',', crlf);
                match naive(&data[offset..], b',', crlf) {
                    None => prop_assert_eq!(result, Err(NotQuoteFree)),
                    Some((lines, n)) => {
                        prop_assert_eq!(result, Ok(n));
                        let lines: Vec<Line> = lines.into_iter().map(|l| Line { start: l.start + offset, end: l.end + offset, ..l }).collect();
                        prop_assert_eq!(got, lines);
                    }
                }
            }
        }

        #[test]
        fn simd_masks_equal_scalar_masks(block in proptest::collection::vec(any::<u8>(), 64)) {
            prop_assert_eq!(block_masks::<false>(&block, b','), scalar_masks::<false>(&block, b','));
            prop_assert_eq!(block_masks::<true>(&block, b'|'), scalar_masks::<true>(&block, b'|'));
            #[cfg(target_arch = "x86_64")]
            if avx2::available() {
                // SAFETY: 64 bytes, and the CPU has AVX2 (checked).
                let got = unsafe { avx2::masks::<false>(block.as_ptr(), b',') };
                prop_assert_eq!(got, scalar_masks::<false>(&block, b','));
                // SAFETY: as above.
                let got = unsafe { avx2::masks::<true>(block.as_ptr(), b',') };
                prop_assert_eq!(got, scalar_masks::<true>(&block, b','));
            }
            #[cfg(target_arch = "x86_64")]
            if avx512::available() {
                // SAFETY: 64 bytes, and the CPU has AVX-512BW (checked).
                let got = unsafe { avx512::masks::<false>(block.as_ptr(), b'|') };
                prop_assert_eq!(got, scalar_masks::<false>(&block, b'|'));
                // SAFETY: as above.
                let got = unsafe { avx512::masks::<true>(block.as_ptr(), b'|') };
                prop_assert_eq!(got, scalar_masks::<true>(&block, b'|'));
            }
        }

        #[test]
        fn the_sse2_pass_agrees_with_the_dispatched_one(
            data in proptest::collection::vec(prop_oneof![
                8 => Just(b'a'), 4 => Just(b','), 4 => Just(b'\n'), 1 => Just(b'"'), 1 => Just(b'\r')
            ], 0..300),
        ) {
            for crlf in [false, true] {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let (ra, rb) = match crlf {
                    false => (
                        for_each_line_split::<false>(&data, 0..data.len(), b',', 3, |l, at| a.push((l, at.to_vec()))),
                        lines_with::<false>(&data, 0..data.len(), b',', 3, |l, at| b.push((l, at.to_vec())), block_masks::<false>),
                    ),
                    true => (
                        for_each_line_split::<true>(&data, 0..data.len(), b',', 3, |l, at| a.push((l, at.to_vec()))),
                        lines_with::<true>(&data, 0..data.len(), b',', 3, |l, at| b.push((l, at.to_vec())), block_masks::<true>),
                    ),
                };
                prop_assert_eq!(ra, rb);
                prop_assert_eq!(a, b);
            }
        }

        #[test]
        fn split_positions_are_the_lines_first_delimiters(
            data in proptest::collection::vec(prop_oneof![
                8 => Just(b'a'), 5 => Just(b','), 2 => Just(b'\n')
            ], 0..400),
            offset in 0usize..70,
            want in 0usize..6,
        ) {
            let offset = offset.min(data.len());
            let result = for_each_line_split::<false>(&data, offset..data.len(), b',', want, |l, at| {
                let expected: Vec<usize> = (l.start..l.end).filter(|&i| data[i] == b',').take(want).collect();
                assert_eq!(at, &expected[..], "line {l:?}");
            });
            prop_assert!(result.is_ok());
        }
    }
}
