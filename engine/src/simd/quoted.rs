//! The structural pass for chunks that hold quotes or CR bytes (the plain pass,
//! [`crate::simd::structure`], gave up on them): 64 bytes at a time, bit masks of newlines,
//! delimiters, quotes and CRs give every record with its number of delimiters.
//! [`crate::simd::quotes`] masks out the delimiters and newlines inside quotes (a record may then
//! span several lines) and marks the CR of each CRLF, which is part of the line end. The
//! rarities it cannot follow (a quote inside an unquoted field, text after a closing quote, a
//! lone CR, a range ending inside quotes) end the pass early with [`Rare`]: such data needs the
//! full csv-core parse.
//!
//! A separate copy of the plain pass, not a generalisation of it: plain data must not pay a
//! single instruction per block for the quote step, so the kernel runs this pass only on the
//! chunks the plain pass refused.
//!
//! On x86_64 the loop runs in a copy compiled for AVX-512BW or AVX2 (with BMI1, POPCNT and
//! PCLMULQDQ for the prefix XOR), whichever [`crate::simd::cpu`] finds; otherwise in SSE2 or
//! portable code (the prefix XOR by doubling shifts).

use crate::simd::quotes::{past_end, prefix_xor, QuoteState};
use std::ops::Range;

/// One record of a range: a line, or several when newlines sit inside quoted fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub start: usize,
    /// End of the content: the `\n` (or the CR of a CRLF) is at `end` when present.
    pub end: usize,
    /// Just past the line's terminator (`\n` or CRLF), or the end of the range.
    pub next: usize,
    /// Number of delimiter bytes in the line (outside quotes).
    pub delimiters: u32,
    /// Number of `\n` before this line in the range.
    pub line_no: u64,
    /// The line holds a quote: its fields must be unquoted before use.
    pub quoted: bool,
    /// The line holds two adjacent quotes (a `""` escape, or an empty quoted field): its
    /// values may differ from its fields' bytes by more than their outer quotes.
    pub paired: bool,
}

/// Why the pass gave up on a range: the caller must use the full parser instead.
pub use crate::simd::quotes::Rare;

/// Masks of one block of up to 64 bytes: (newlines, delimiters, quotes, CRs).
#[inline(always)]
fn block_masks(block: &[u8], delimiter: u8) -> (u64, u64, u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        if block.len() == 64 {
            // SAFETY: SSE2 is part of the x86_64 baseline, and the block holds 64 readable bytes.
            return unsafe { sse2::masks(block.as_ptr(), delimiter) };
        }
    }
    scalar_masks(block, delimiter)
}

/// Portable masks, also used for the last partial block (and as the test oracle).
pub fn scalar_masks(block: &[u8], delimiter: u8) -> (u64, u64, u64, u64) {
    let (mut nl, mut dl, mut qt, mut cr) = (0u64, 0u64, 0u64, 0u64);
    for (i, &b) in block.iter().enumerate().take(64) {
        nl |= ((b == b'\n') as u64) << i;
        dl |= ((b == delimiter) as u64) << i;
        qt |= ((b == b'"') as u64) << i;
        cr |= ((b == b'\r') as u64) << i;
    }
    (nl, dl, qt, cr)
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// # Safety
    /// `ptr` must point to 64 readable bytes.
    #[inline(always)]
    pub unsafe fn masks(ptr: *const u8, delimiter: u8) -> (u64, u64, u64, u64) {
        // SAFETY: the caller guarantees 64 readable bytes; unaligned loads are allowed.
        unsafe {
            let nl = _mm_set1_epi8(b'\n' as i8);
            let dl = _mm_set1_epi8(delimiter as i8);
            let qt = _mm_set1_epi8(b'"' as i8);
            let cr = _mm_set1_epi8(b'\r' as i8);
            let (mut m_nl, mut m_dl, mut m_qt, mut m_cr) = (0u64, 0u64, 0u64, 0u64);
            for k in 0..4 {
                let v = _mm_loadu_si128(ptr.add(16 * k) as *const __m128i);
                let shift = 16 * k as u32;
                m_nl |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) as u16 as u64) << shift;
                m_dl |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, dl)) as u16 as u64) << shift;
                m_qt |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, qt)) as u16 as u64) << shift;
                m_cr |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, cr)) as u16 as u64) << shift;
            }
            (m_nl, m_dl, m_qt, m_cr)
        }
    }
}

/// Calls `on_line` for every non-empty record of `data[range]` (the last may lack a `\n`) and
/// returns the number of `\n` bytes in the range, or `Rare` as soon as a rarity is
/// seen (lines already reported must then be discarded by the caller).
#[inline]
pub fn for_each_line(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    mut on_line: impl FnMut(Line),
) -> Result<u64, Rare> {
    for_each_line_split(data, range, delimiter, 0, |line, _| on_line(line))
}

/// Most delimiter positions [`for_each_line_split`] records per line.
pub const MAX_SPLIT: usize = 64;

/// As [`for_each_line`], and also hands `on_line` the absolute positions of the line's first
/// `want` delimiters (fewer when the line has fewer; `want` is capped at [`MAX_SPLIT`]), taken
/// from the same bit masks, so a record's leading fields cost no second look at its bytes.
#[inline]
pub fn for_each_line_split(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    want: usize,
    on_line: impl FnMut(Line, &[usize]),
) -> Result<u64, Rare> {
    let want = want.min(MAX_SPLIT);
    if matches!(delimiter, b'"' | b'\r' | b'\n') {
        // A delimiter the masks would confuse with quotes or line ends.
        return Err(Rare::Delimiter);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if avx512::available() {
            // SAFETY: the CPU has every feature `avx512::lines` is compiled for (checked above).
            return unsafe { avx512::lines(data, range, delimiter, want, on_line) };
        }
        if avx2::available() {
            // SAFETY: the CPU has every feature `avx2::lines` is compiled for (checked above).
            return unsafe { avx2::lines(data, range, delimiter, want, on_line) };
        }
    }
    lines_with(
        data,
        range,
        delimiter,
        want,
        on_line,
        block_masks,
        prefix_xor,
    )
}

/// The pass itself, generic over how a block's masks and prefix XOR are computed. Always
/// inlined, so that inside `avx2::lines` the whole loop, the caller's closure included, is
/// compiled for AVX2, BMI and POPCNT (without POPCNT, `count_ones` is a dozen instructions).
#[inline(always)]
fn lines_with(
    data: &[u8],
    range: Range<usize>,
    delimiter: u8,
    want: usize,
    mut on_line: impl FnMut(Line, &[usize]),
    masks: impl Fn(&[u8], u8) -> (u64, u64, u64, u64),
    prefix_xor: impl Fn(u64) -> u64,
) -> Result<u64, Rare> {
    let bytes = &data[range.clone()];
    let base = range.start;
    let mut line_start = 0usize;
    let mut delimiters = 0u32;
    let mut line_no = 0u64;
    // Of the line running into the next block: newlines inside its quotes, and whether it
    // holds a quote.
    let mut line_quoted_nl = 0u64;
    let mut quoted = false;
    let mut paired = false;
    // 1 when the previous block's last byte is a quote.
    let mut last_quote = 0u64;
    let mut quotes = QuoteState::default();
    let mut at = [0usize; MAX_SPLIT];
    let mut found = 0usize;
    for (b, block) in bytes.chunks(64).enumerate() {
        let (nl, dl, qt, cr) = masks(block, delimiter);
        let offset = b * 64;
        // Bit i set: byte i - 1 is a CR (then byte i, a line end, makes it a CRLF).
        let cr_carry = quotes.cr_carry();
        // Blocks without quotes or CRs (all of them in plain files) skip the quote step.
        let (mut nl, mut dl, crs, mut qnl, mut qts) = if quotes.skips(qt | cr) {
            (nl, dl, 0, 0, 0)
        } else {
            quotes.resume(offset.checked_sub(1).map(|i| bytes[i]), delimiter);
            let s = quotes.step(nl, dl, qt, cr, past_end(block.len()), &prefix_xor)?;
            (s.nl, s.dl, s.cr, s.quoted_nl, s.quotes)
        };
        // The second quote of each adjacent pair (which is in the line of the first).
        let mut pairs = qts & ((qts << 1) | last_quote);
        last_quote = qts >> 63;
        let cr_before = (crs << 1) | cr_carry;
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
            let end = offset + bit as usize;
            let content_end = end - (cr_before >> bit & 1) as usize;
            if content_end > line_start {
                on_line(
                    Line {
                        start: base + line_start,
                        end: base + content_end,
                        next: base + end + 1,
                        delimiters,
                        line_no,
                        quoted: quoted || qts & below != 0,
                        paired: paired || pairs & below != 0,
                    },
                    &at[..found],
                );
            }
            line_no += 1 + line_quoted_nl;
            line_quoted_nl = 0;
            if qnl != 0 {
                line_no += (qnl & below).count_ones() as u64;
                qnl &= !below;
            }
            quoted = false;
            paired = false;
            line_start = end + 1;
            delimiters = 0;
            found = 0;
            dl &= !below;
            qts &= !below;
            pairs &= !below;
            nl &= nl - 1;
        }
        line_quoted_nl += qnl.count_ones() as u64;
        quoted |= qts != 0;
        paired |= pairs != 0;
        delimiters += dl.count_ones();
        while found < want && dl != 0 {
            at[found] = base + offset + dl.trailing_zeros() as usize;
            found += 1;
            dl &= dl - 1;
        }
    }
    // The last record runs on past the range (or ends in a lone CR): csv-core decides.
    quotes.end()?;
    if line_start < bytes.len() {
        on_line(
            Line {
                start: base + line_start,
                end: base + bytes.len(),
                next: base + bytes.len(),
                delimiters,
                line_no,
                quoted,
                paired,
            },
            &at[..found],
        );
    }
    Ok(line_no + line_quoted_nl)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{lines_with, scalar_masks, Line, Rare};
    use crate::simd::quotes::prefix_xor_clmul;
    use std::arch::x86_64::*;
    use std::ops::Range;

    pub fn available() -> bool {
        crate::simd::cpu::level() >= crate::simd::cpu::Level::Avx2 && crate::simd::cpu::clmul()
    }

    /// # Safety
    /// The CPU must support AVX2, BMI1, POPCNT and PCLMULQDQ.
    #[target_feature(enable = "avx2,bmi1,popcnt,pclmulqdq")]
    pub unsafe fn lines(
        data: &[u8],
        range: Range<usize>,
        delimiter: u8,
        want: usize,
        on_line: impl FnMut(Line, &[usize]),
    ) -> Result<u64, Rare> {
        let masks = |block: &[u8], delimiter| {
            if block.len() == 64 {
                // SAFETY: 64 readable bytes; this function runs only where AVX2 exists.
                unsafe { masks(block.as_ptr(), delimiter) }
            } else {
                scalar_masks(block, delimiter)
            }
        };
        // SAFETY: this function runs only where PCLMULQDQ exists (its contract).
        let prefix_xor = |bits| unsafe { prefix_xor_clmul(bits) };
        lines_with(data, range, delimiter, want, on_line, masks, prefix_xor)
    }

    /// # Safety
    /// `ptr` must point to 64 readable bytes and the CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn masks(ptr: *const u8, delimiter: u8) -> (u64, u64, u64, u64) {
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
            let m_qt = mask(_mm256_cmpeq_epi8(lo, qt), _mm256_cmpeq_epi8(hi, qt));
            let m_cr = mask(_mm256_cmpeq_epi8(lo, cr), _mm256_cmpeq_epi8(hi, cr));
            (m_nl, m_dl, m_qt, m_cr)
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{lines_with, scalar_masks, Line, Rare};
    use crate::simd::quotes::prefix_xor_clmul;
    use std::arch::x86_64::*;
    use std::ops::Range;

    pub fn available() -> bool {
        crate::simd::cpu::level() >= crate::simd::cpu::Level::Avx512 && crate::simd::cpu::clmul()
    }

    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW, BMI1, POPCNT and PCLMULQDQ.
    #[target_feature(enable = "avx512f,avx512bw,bmi1,popcnt,pclmulqdq")]
    pub unsafe fn lines(
        data: &[u8],
        range: Range<usize>,
        delimiter: u8,
        want: usize,
        on_line: impl FnMut(Line, &[usize]),
    ) -> Result<u64, Rare> {
        let masks = |block: &[u8], delimiter| {
            if block.len() == 64 {
                // SAFETY: 64 readable bytes; this function runs only where AVX-512BW exists.
                unsafe { masks(block.as_ptr(), delimiter) }
            } else {
                scalar_masks(block, delimiter)
            }
        };
        // SAFETY: this function runs only where PCLMULQDQ exists (its contract).
        let prefix_xor = |bits| unsafe { prefix_xor_clmul(bits) };
        lines_with(data, range, delimiter, want, on_line, masks, prefix_xor)
    }

    /// One 64-byte load and four compares straight into bit masks.
    ///
    /// # Safety
    /// `ptr` must point to 64 readable bytes and the CPU must support AVX-512BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    #[inline]
    pub unsafe fn masks(ptr: *const u8, delimiter: u8) -> (u64, u64, u64, u64) {
        // SAFETY: the caller guarantees 64 readable bytes; unaligned loads are allowed.
        unsafe {
            let v = _mm512_loadu_si512(ptr as *const __m512i);
            let eq = |b: u8| _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b as i8));
            (eq(b'\n'), eq(delimiter), eq(b'"'), eq(b'\r'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(data: &[u8], delimiter: u8) -> Option<(Vec<Line>, u64)> {
        if data.iter().any(|&b| b == b'"' || b == b'\r') {
            return None;
        }
        let mut lines = Vec::new();
        let mut start = 0;
        let mut no = 0;
        for (i, &b) in data.iter().enumerate() {
            if b == b'\n' {
                if i > start {
                    let delimiters =
                        data[start..i].iter().filter(|&&c| c == delimiter).count() as u32;
                    lines.push(Line {
                        start,
                        end: i,
                        next: i + 1,
                        delimiters,
                        line_no: no,
                        quoted: false,
                        paired: false,
                    });
                }
                no += 1;
                start = i + 1;
            }
        }
        if start < data.len() {
            let delimiters = data[start..].iter().filter(|&&c| c == delimiter).count() as u32;
            lines.push(Line {
                start,
                end: data.len(),
                next: data.len(),
                delimiters,
                line_no: no,
                quoted: false,
                paired: false,
            });
        }
        Some((lines, no))
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
                let mut got = Vec::new();
                let result = for_each_line(&data, offset..data.len(), delimiter, |l| got.push(l));
                let want = naive(&data[offset..], delimiter).map(|(lines, n)| {
                    let lines: Vec<Line> = lines.into_iter().map(|l| Line {
                        start: l.start + offset, end: l.end + offset, next: l.next + offset, ..l
                    }).collect();
                    (lines, n)
                });
                match want {
                    // Quotes and CRs: held to csv-core in `agrees_with_csv_core`.
                    None => {}
                    Some((lines, n)) => {
                        prop_assert_eq!(result, Ok(n));
                        prop_assert_eq!(got, lines);
                    }
                }
            }
        }

        #[test]
        fn simd_masks_equal_scalar_masks(block in proptest::collection::vec(any::<u8>(), 64)) {
            prop_assert_eq!(block_masks(&block, b','), scalar_masks(&block, b','));
            prop_assert_eq!(block_masks(&block, b'|'), scalar_masks(&block, b'|'));
            #[cfg(target_arch = "x86_64")]
            if avx2::available() {
                // SAFETY: 64 bytes, and the CPU has AVX2 (checked).
                let got = unsafe { avx2::masks(block.as_ptr(), b',') };
                prop_assert_eq!(got, scalar_masks(&block, b','));
            }
            #[cfg(target_arch = "x86_64")]
            if avx512::available() {
                // SAFETY: 64 bytes, and the CPU has AVX-512BW (checked).
                let got = unsafe { avx512::masks(block.as_ptr(), b'|') };
                prop_assert_eq!(got, scalar_masks(&block, b'|'));
            }
        }

        #[test]
        fn the_sse2_pass_agrees_with_the_dispatched_one(
            data in proptest::collection::vec(prop_oneof![
                8 => Just(b'a'), 4 => Just(b','), 4 => Just(b'\n'), 1 => Just(b'"'), 1 => Just(b'\r')
            ], 0..300),
        ) {
            let mut a = Vec::new();
            let mut b = Vec::new();
            let ra = for_each_line_split(&data, 0..data.len(), b',', 3, |l, at| a.push((l, at.to_vec())));
            let rb = lines_with(&data, 0..data.len(), b',', 3, |l, at| b.push((l, at.to_vec())), block_masks, prefix_xor);
            prop_assert_eq!(ra, rb);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn agrees_with_csv_core(
            records in proptest::collection::vec(
                proptest::collection::vec((
                    proptest::collection::vec(prop_oneof![
                        6 => Just(b'x'), 1 => Just(b','), 1 => Just(b'\n'), 1 => Just(b'"'),
                        1 => Just(b'\r'),
                    ], 0..12),
                    0u8..4,
                ), 1..5),
                1..30),
            crlf in any::<bool>(),
            corrupt in proptest::option::of((any::<prop::sample::Index>(), prop_oneof![
                Just(b'"'), Just(b'\r'), Just(b'\n'), Just(b','), Just(b'x')
            ])),
            offset in 0usize..3,
        ) {
            // CSV as exporters write it (fields quoted when needed, or always; LF or CRLF;
            // now and then an empty line), maybe with one byte changed: wherever the pass
            // accepts the data, its records are csv-core's, byte for byte; and it accepts
            // every unchanged input.
            let mut data = Vec::new();
            for fields in &records {
                for (k, (text, style)) in fields.iter().enumerate() {
                    if k > 0 {
                        data.push(b',');
                    }
                    let plain = text.iter().all(|&c| c == b'x');
                    if *style == 0 && plain {
                        data.extend_from_slice(text);
                    } else {
                        fleet_fixtures::push_quoted(&mut data, text);
                    }
                }
                data.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                if fields.len() == 4 {
                    data.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
            }
            let pristine = corrupt.is_none();
            if let Some((at, byte)) = corrupt {
                let i = at.index(data.len());
                data[i] = byte;
            }
            // A range starts at a record start: the data after a chosen record's end.
            let skip = data.len().min(offset * 7);
            let from = if skip == 0 { 0 } else {
                match crate::scan::record::GeneralRecords::new(&data, 0..data.len(), b',', true).next_record() {
                    Some((r, _)) if offset == 1 => r.end,
                    _ => 0,
                }
            };
            let mut got = Vec::new();
            let result = for_each_line(&data, from..data.len(), b',', |l| got.push(l));
            if pristine && from == 0 {
                prop_assert!(result.is_ok(), "{:?}", String::from_utf8_lossy(&data));
            }
            if let Ok(newlines) = result {
                let mut reference = crate::scan::record::GeneralRecords::new(&data, from..data.len(), b',', true);
                let mut want = Vec::new();
                while let Some((r, n)) = reference.next_record() {
                    want.push((r.start, r.end, n));
                }
                let have: Vec<(usize, usize, usize)> = got.iter()
                    .map(|l| (l.start, l.next, l.delimiters as usize + 1)).collect();
                prop_assert_eq!(have, want, "{:?}", String::from_utf8_lossy(&data));
                let lf = data[from..].iter().filter(|&&c| c == b'\n').count() as u64;
                prop_assert_eq!(newlines, lf);
                for l in &got {
                    let before = data[from..l.start].iter().filter(|&&c| c == b'\n').count() as u64;
                    prop_assert_eq!(l.line_no, before);
                    prop_assert_eq!(l.quoted, data[l.start..l.end].contains(&b'"'));
                    prop_assert_eq!(l.paired, data[l.start..l.end].windows(2).any(|w| w == b"\"\""));
                    prop_assert!(data[l.end..l.next].iter().all(|&c| c == b'\r' || c == b'\n'));
                }
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
            let result = for_each_line_split(&data, offset..data.len(), b',', want, |l, at| {
                let expected: Vec<usize> = (l.start..l.end).filter(|&i| data[i] == b',').take(want).collect();
                assert_eq!(at, &expected[..], "line {l:?}");
            });
            prop_assert!(result.is_ok());
        }
    }
}
