//! Quoted fields and CRLF line ends inside the block pass for such chunks
//! ([`crate::simd::quoted`]): for each 64-byte block, which bytes lie inside a quoted field
//! (the prefix XOR of the quote bits, carried across blocks), so delimiters and newlines in
//! quotes are masked out, and which newlines end in CRLF.
//!
//! The toggle model (every `"` flips in/out) is exactly csv-core's parse as long as quotes only
//! open a field and only close it before a delimiter, a line end or another quote (the `""`
//! escape is a close and a reopen). Everything else is a *rarity* the step reports, and the
//! caller hands the chunk to csv-core: a quote inside an unquoted field, text after a closing
//! quote, a CR not right before a LF (csv-core ends a record there), and a range that ends
//! inside quotes (its last record runs on past the chunk). Checking this costs a few mask
//! operations per block, none per byte.

/// The prefix XOR of `bits`: bit `i` of the result is the parity of bits `0..=i`. Portable, by
/// doubling shifts (six shifts and XORs); the vector passes use a carry-less multiply instead.
#[inline(always)]
pub fn prefix_xor(bits: u64) -> u64 {
    let mut x = bits;
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The prefix XOR by one carry-less multiply with all ones (as simdjson does): a single
/// instruction where the shifts are a chain of twelve.
///
/// # Safety
/// The CPU must support PCLMULQDQ ([`crate::simd::cpu::clmul`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq,sse2")]
#[inline]
pub unsafe fn prefix_xor_clmul(bits: u64) -> u64 {
    use std::arch::x86_64::*;
    let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, bits as i64), _mm_set1_epi8(-1), 0);
    _mm_cvtsi128_si64(product) as u64
}

/// What a block leaves for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteState {
    /// All ones when the next block starts inside a quoted field.
    in_quote: u64,
    /// 1 when the byte before the next block ends a field (a delimiter, a line end or a
    /// closing quote) or there is none: a quote may open a field right after it.
    boundary: u64,
    /// 1 when the last byte was a closing quote: the next must end the field or reopen.
    closing: u64,
    /// 1 when the last byte was a CR outside quotes: the next must be a LF.
    cr: u64,
    /// Nonzero when any of the three above is: a block without quotes or CRs can skip the
    /// step only when this is zero (one test per block on plain data).
    active: u64,
}

impl Default for QuoteState {
    /// The state at a record start (every chunk starts at one).
    fn default() -> Self {
        QuoteState {
            in_quote: 0,
            boundary: 1,
            closing: 0,
            cr: 0,
            active: 0,
        }
    }
}

/// A block's structure once quotes are taken into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Structure {
    /// Newlines that end a record (outside quotes).
    pub nl: u64,
    /// Delimiters that end a field (outside quotes).
    pub dl: u64,
    /// CRs outside quotes (each right before a LF, else the step failed).
    pub cr: u64,
    /// Newlines inside quoted fields: not record ends, but still counted as lines.
    pub quoted_nl: u64,
    /// Quote bytes in the block (a line holding any needs its fields unquoted).
    pub quotes: u64,
}

/// A rarity the passes do not follow (see the module comment): parse the chunk with
/// csv-core. Which one is reported to the user, so they know why a file was slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rare {
    /// A quote inside an unquoted field, or text right after a closing quote.
    StrayQuote,
    /// A CR not followed by a LF (csv-core ends a record there).
    LoneCr,
    /// The range ends inside a quoted field: its last record runs on past it.
    OpenQuote,
    /// The delimiter is a quote, CR or LF byte.
    Delimiter,
}

impl QuoteState {
    /// Whether a block whose quotes-or-CRs mask is `bad` can skip [`Self::step`]: it has
    /// none, and nothing is carried that it would have to check or continue.
    #[inline(always)]
    pub fn skips(&self, bad: u64) -> bool {
        (bad | self.active) == 0
    }

    /// 1 when the byte before the next block is a CR outside quotes (its LF starts the block).
    #[inline(always)]
    pub fn cr_carry(&self) -> u64 {
        self.cr
    }

    /// Call before [`Self::step`] with the byte before the block (`None` at the range start):
    /// blocks that skipped the step did not keep `boundary`, which after them is just whether
    /// that byte is a delimiter or newline (it cannot be a closing quote: the state would
    /// then be active).
    #[inline(always)]
    pub fn resume(&mut self, before: Option<u8>, delimiter: u8) {
        if self.active == 0 {
            self.boundary = before.is_none_or(|b| b == delimiter || b == b'\n') as u64;
        }
    }

    /// Whether the range can end here: not inside quotes, not right after a lone CR.
    #[inline(always)]
    pub fn end(&self) -> Result<(), Rare> {
        if self.in_quote != 0 {
            Err(Rare::OpenQuote)
        } else if self.cr != 0 {
            Err(Rare::LoneCr)
        } else {
            Ok(())
        }
    }

    /// Applies quotes and CRs to a block's raw masks. `past_end` has the bits past the end of
    /// a short last block set (0 for a full block): the end of the range ends a field, so a
    /// closing quote may stand right before it.
    #[inline(always)]
    pub fn step(
        &mut self,
        nl: u64,
        dl: u64,
        qt: u64,
        cr: u64,
        past_end: u64,
        prefix_xor: impl Fn(u64) -> u64,
    ) -> Result<Structure, Rare> {
        if (qt | self.in_quote | self.closing) == 0 {
            // No quote in the block and none carried in: only CRs to check (every block of a
            // CRLF file without quotes), which is what the general step below reduces to with
            // no prefix XOR and no stray-quote checks.
            return self.step_crs(nl, dl, cr);
        }
        self.step_quoted(nl, dl, qt, cr, past_end, prefix_xor)
    }

    /// [`Self::step`] for any block: the prefix XOR and every rarity check.
    #[inline(always)]
    fn step_quoted(
        &mut self,
        nl: u64,
        dl: u64,
        qt: u64,
        cr: u64,
        past_end: u64,
        prefix_xor: impl Fn(u64) -> u64,
    ) -> Result<Structure, Rare> {
        // Bit i set: byte i is inside quotes, an opening quote included, a closing one not.
        let inq = prefix_xor(qt) ^ self.in_quote;
        let out = !inq;
        let opening = qt & inq;
        let closing = qt & out;
        let (nl_o, dl_o, cr_o) = (nl & out, dl & out, cr & out);
        let ends_field = dl_o | nl_o | closing;
        // A quote opens a field only at its start: after a field end (or a `""` pair).
        let mut stray = opening & !((ends_field << 1) | self.boundary);
        // A closing quote is followed by a delimiter, a line end or a reopening quote.
        let follows = dl_o | nl_o | cr_o | opening | past_end;
        stray |= closing & !(follows >> 1) & (u64::MAX >> 1);
        stray |= self.closing & !follows & 1;
        // A CR outside quotes is followed by a LF.
        let lone_cr = (cr_o & !(nl_o >> 1) & (u64::MAX >> 1)) | (self.cr & !nl_o & 1);
        if (stray | lone_cr) != 0 {
            return Err(if stray != 0 {
                Rare::StrayQuote
            } else {
                Rare::LoneCr
            });
        }
        self.in_quote = ((inq as i64) >> 63) as u64;
        self.boundary = ends_field >> 63;
        self.closing = closing >> 63;
        self.cr = cr_o >> 63;
        self.active = self.in_quote | self.closing | self.cr;
        Ok(Structure {
            nl: nl_o,
            dl: dl_o,
            cr: cr_o,
            quoted_nl: nl & inq,
            quotes: qt,
        })
    }
}

impl QuoteState {
    /// [`Self::step`] for a block with no quote, starting outside quotes and not right after a
    /// closing quote: each CR must be followed by a LF, and every byte is outside quotes.
    #[inline(always)]
    fn step_crs(&mut self, nl: u64, dl: u64, cr: u64) -> Result<Structure, Rare> {
        let lone_cr = (cr & !(nl >> 1) & (u64::MAX >> 1)) | (self.cr & !nl & 1);
        if lone_cr != 0 {
            return Err(Rare::LoneCr);
        }
        self.boundary = (dl | nl) >> 63;
        self.cr = cr >> 63;
        self.active = self.cr;
        Ok(Structure {
            nl,
            dl,
            cr,
            quoted_nl: 0,
            quotes: 0,
        })
    }
}

/// The `past_end` mask of [`QuoteState::step`] for a block of `len` bytes.
#[inline(always)]
pub fn past_end(len: usize) -> u64 {
    u64::MAX.checked_shl(len as u32).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The in-quote mask by walking the bytes one at a time.
    fn scalar_in_quote(data: &[u8]) -> Vec<bool> {
        let mut inside = false;
        data.iter()
            .map(|&b| {
                if b == b'"' {
                    inside = !inside;
                }
                inside
            })
            .collect()
    }

    fn quote_bits(block: &[u8]) -> u64 {
        block
            .iter()
            .enumerate()
            .fold(0, |m, (i, &b)| m | (((b == b'"') as u64) << i))
    }

    proptest! {
        #[test]
        fn prefix_xor_is_the_running_parity(bits in any::<u64>()) {
            let mut parity = false;
            let mut want = 0u64;
            for i in 0..64 {
                parity ^= bits >> i & 1 == 1;
                want |= (parity as u64) << i;
            }
            prop_assert_eq!(prefix_xor(bits), want);
            #[cfg(target_arch = "x86_64")]
            if crate::simd::cpu::clmul() {
                // SAFETY: the CPU has PCLMULQDQ (checked).
                prop_assert_eq!(unsafe { prefix_xor_clmul(bits) }, want);
            }
        }

        #[test]
        fn in_quote_masks_carry_across_blocks(
            data in proptest::collection::vec(prop_oneof![
                6 => Just(b'a'), 2 => Just(b'"'), 1 => Just(b','), 1 => Just(b'\n')
            ], 0..400),
        ) {
            // The step's in-quote state, block by block, against the byte walk: bit for bit,
            // read back from the quoted newlines and the outside delimiters it reports.
            let want = scalar_in_quote(&data);
            let mut in_quote = 0u64;
            for (b, block) in data.chunks(64).enumerate() {
                let qt = quote_bits(block);
                let inq = prefix_xor(qt) ^ in_quote;
                for (i, _) in block.iter().enumerate() {
                    prop_assert_eq!(inq >> i & 1 == 1, want[b * 64 + i], "byte {}", b * 64 + i);
                }
                in_quote = ((inq as i64) >> 63) as u64;
            }
        }

        #[test]
        fn the_step_masks_exactly_the_bytes_in_quotes(
            fields in proptest::collection::vec(
                (proptest::collection::vec(prop_oneof![
                    5 => Just(b'x'), 1 => Just(b','), 1 => Just(b'\n'), 1 => Just(b'"')
                ], 0..40), any::<bool>(), any::<bool>()), 1..40),
        ) {
            // Well-formed CSV (quoted fields with `""` escapes, CRLF or LF ends): the step
            // never fails, and its masks are the delimiters and newlines outside quotes.
            let mut data = Vec::new();
            for (i, (text, quoted, crlf)) in fields.iter().enumerate() {
                if *quoted {
                    fleet_fixtures::push_quoted(&mut data, text);
                } else {
                    data.extend(text.iter().filter(|&&c| c == b'x'));
                }
                if i % 3 == 2 {
                    data.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
                } else {
                    data.push(b',');
                }
            }
            let inside = scalar_in_quote(&data);
            let mut st = QuoteState::default();
            for (b, block) in data.chunks(64).enumerate() {
                let mask = |want: u8| block.iter().enumerate()
                    .fold(0u64, |m, (i, &c)| m | (((c == want) as u64) << i));
                let s = st.step(mask(b'\n'), mask(b','), mask(b'"'), mask(b'\r'), past_end(block.len()), prefix_xor);
                prop_assert!(s.is_ok(), "block {}", b);
                let s = s.unwrap_or_else(|_| unreachable!());
                for (i, &c) in block.iter().enumerate() {
                    let at = b * 64 + i;
                    prop_assert_eq!(s.nl >> i & 1 == 1, c == b'\n' && !inside[at]);
                    prop_assert_eq!(s.quoted_nl >> i & 1 == 1, c == b'\n' && inside[at]);
                    prop_assert_eq!(s.dl >> i & 1 == 1, c == b',' && !inside[at]);
                }
            }
            prop_assert!(st.end().is_ok());
        }
    }

    proptest! {
        #[test]
        fn the_cr_shortcut_equals_the_general_step(
            blocks in proptest::collection::vec(proptest::collection::vec(prop_oneof![
                6 => Just(b'x'), 2 => Just(b','), 2 => Just(b'\n'), 2 => Just(b'\r'), 1 => Just(b'"')
            ], 1..=64), 1..6),
        ) {
            // Block after block (CRs at block ends carried into the next, quotes now and then
            // so the state is sometimes in or after quotes): wherever the shortcut applies it
            // gives the general step's masks, rarity and carried state exactly.
            let mut st = QuoteState::default();
            for (b, block) in blocks.iter().enumerate() {
                let mask = |want: u8| block.iter().enumerate()
                    .fold(0u64, |m, (i, &c)| m | (((c == want) as u64) << i));
                let (nl, dl, qt, cr) = (mask(b'\n'), mask(b','), mask(b'"'), mask(b'\r'));
                let end = past_end(block.len());
                let mut general = st;
                let want = general.step_quoted(nl, dl, qt, cr, end, prefix_xor);
                if (qt | st.in_quote | st.closing) == 0 {
                    let mut shortcut = st;
                    let got = shortcut.step_crs(nl, dl, cr);
                    prop_assert_eq!(got, want, "block {}", b);
                    if want.is_ok() {
                        prop_assert_eq!(shortcut, general, "block {}", b);
                    }
                }
                let mut dispatched = st;
                prop_assert_eq!(dispatched.step(nl, dl, qt, cr, end, prefix_xor), want);
                if want.is_err() {
                    break;
                }
                prop_assert_eq!(dispatched, general);
                st = general;
            }
        }
    }

    fn run(data: &[u8]) -> Result<QuoteState, Rare> {
        let mut st = QuoteState::default();
        for block in data.chunks(64) {
            let mask = |want: u8| {
                block
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (i, &c)| m | (((c == want) as u64) << i))
            };
            st.step(
                mask(b'\n'),
                mask(b','),
                mask(b'"'),
                mask(b'\r'),
                past_end(block.len()),
                prefix_xor,
            )?;
        }
        Ok(st)
    }

    #[test]
    fn rarities_are_reported() {
        for bad in [
            &b"a\"b,c\n"[..],
            b"\"a\"b,c\n",
            b"a,b\rc\n",
            b"a,b\r",
            b"a,\"b\n",
            b"a, \"b\"\n",
        ] {
            let ok = run(bad).and_then(|st| st.end()).is_ok();
            assert!(!ok, "{:?}", String::from_utf8_lossy(bad));
        }
        for good in [
            &b"\"a\",\"b\"\r\n"[..],
            b"\"a\"\"b\",\"\"\n",
            b"\"a,\nb\",c\n",
            b"\"\"\"\",x",
        ] {
            let ok = run(good).and_then(|st| st.end()).is_ok();
            assert!(ok, "{:?}", String::from_utf8_lossy(good));
        }
        // Across a block boundary: a CR at byte 63 and its LF at 64, a closing quote at 63.
        let mut data = vec![b'x'; 63];
        data.extend_from_slice(b"\r\nx\n");
        assert!(run(&data).is_ok());
        let mut data = vec![b'x'; 63];
        data.extend_from_slice(b"\rx\n");
        assert!(run(&data).is_err());
        let mut data = b"\"".to_vec();
        data.extend(vec![b'x'; 62]);
        data.extend_from_slice(b"\"y\n");
        assert_eq!(data[63], b'"');
        assert!(run(&data).is_err());
    }
}
