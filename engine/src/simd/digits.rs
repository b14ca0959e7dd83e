//! Short runs of ASCII digits (taxi ids, speeds, counts) read eight bytes at a time.
//!
//! Aggregation parses a key and a value in every record, and a byte-at-a-time loop over a
//! field of varying length costs a mispredicted branch or two per field, more than the rest of
//! the update. Here a field of up to 8 bytes is read as one little-endian word, its digits
//! checked and combined with a few multiplications (the SWAR method), with no branch on its
//! length. The word is read from the record's line that holds the field, so that the 8 bytes
//! are known to be there; fields that do not lie inside that line (the full parser unescapes
//! them into a buffer) take the scalar route, as do longer ones.

/// `value`'s digits as a number, when `value` is 1 to 8 ASCII digits; `None` otherwise.
/// `line` is any slice expected to hold `value` (the record's line): when it does, with 8
/// bytes of room before the value's end or after its start, the word is read from it in one
/// go. The answer never depends on `line`, only the speed.
#[inline(always)]
pub fn short_digits(line: &[u8], value: &[u8]) -> Option<u64> {
    let len = value.len();
    if !(1..=8).contains(&len) {
        return None;
    }
    match aligned_word(line, value) {
        Some(word) => digits_of_word(word, len),
        None => scalar(value),
    }
}

/// The number formed by the 1 to 7 ASCII digits at `data[start..]` when the byte after them
/// is `stop`: a record's first field, ended by the delimiter, read from the line's start as
/// one word with no search for the delimiter. `None` when fewer than 8 bytes follow `start`
/// or the bytes are anything else (another character, no digit, 8 digits or more): the
/// caller then splits the field and reads it the general way.
#[inline(always)]
pub fn leading_digits(data: &[u8], start: usize, stop: u8) -> Option<u64> {
    let word = u64::from_le_bytes(data.get(start..start.checked_add(8)?)?.try_into().ok()?);
    // Digits become 0..=9; a byte is not a digit when that is 10 or more, which adding 0x76
    // to its low 7 bits carries into bit 7 (with no carry out of the byte), or when its own
    // bit 7 is set.
    let x = word ^ 0x3030_3030_3030_3030;
    let not_digit =
        (((x & 0x7F7F_7F7F_7F7F_7F7F) + 0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080;
    let len = not_digit.trailing_zeros() / 8;
    if len == 0 || len == 8 || (word >> (8 * len)) as u8 != stop {
        return None;
    }
    // The digits' values moved to the top bytes, zeros (leading zero digits) below.
    Some(combine(x << (64 - 8 * len)))
}

/// The 8 bytes holding `value` with its last byte at the top of the word (the bytes below
/// its digits are arbitrary), read from `line` when `value` lies in it.
#[inline(always)]
fn aligned_word(line: &[u8], value: &[u8]) -> Option<u64> {
    // Comparing addresses only locates `value` in `line`; every read below is a bounds-checked
    // slice of `line`.
    let start = (value.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    let end = start.checked_add(value.len())?;
    if end > line.len() {
        return None;
    }
    if end >= 8 {
        let bytes: [u8; 8] = line[end - 8..end].try_into().ok()?;
        return Some(u64::from_le_bytes(bytes));
    }
    if start + 8 <= line.len() {
        let bytes: [u8; 8] = line[start..start + 8].try_into().ok()?;
        // Shift the value's bytes to the top (its length is 1..=8, so the shift is 0..=56).
        return Some(u64::from_le_bytes(bytes) << (64 - 8 * value.len()));
    }
    None
}

/// The number in the top `len` bytes (1..=8) of `word` (first digit lowest), if they are all
/// ASCII digits.
#[inline(always)]
fn digits_of_word(word: u64, len: usize) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    // The low 8 - len bytes are not the value's: make them '0' digits. For len = 8 the mask
    // is empty (shifting in two steps keeps the shift below 64).
    let pad = (u64::MAX >> (8 * len - 1)) >> 1;
    let w = (word & !pad) | (ZEROS & pad);
    // Every byte is in 0x30..=0x39: its high nibble is 3, and adding 6 does not carry out.
    if w & HIGH != ZEROS || w.wrapping_add(0x0606_0606_0606_0606) & HIGH != ZEROS {
        return None;
    }
    Some(combine(w - ZEROS))
}

/// The number whose digits' values (0..=9) are the bytes of `d`, the first digit lowest.
#[inline(always)]
fn combine(d: u64) -> u64 {
    // Pairs, then quads, then the eight: the lower address holds the more significant digit.
    let d = ((d & 0x000F_000F_000F_000F) * 10) + ((d & 0x0F00_0F00_0F00_0F00) >> 8);
    let d = ((d & 0x0000_00FF_0000_00FF) * 100) + ((d & 0x00FF_0000_00FF_0000) >> 16);
    ((d & 0x0000_0000_0000_FFFF) * 10000) + ((d & 0x0000_FFFF_0000_0000) >> 32)
}

/// The byte-at-a-time version, for values not inside `line` and as the test oracle. Always
/// inlined: a short field (a 2-digit speed) is read here on every record of a numeric
/// `--where`, and a call costs more than the parse (the compiler stopped inlining it once
/// the kernel had a CRLF copy of its loops: +5% instructions on `--count --where speed>100`).
#[inline(always)]
fn scalar(value: &[u8]) -> Option<u64> {
    if !(1..=8).contains(&value.len()) || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0, |v, &b| v * 10 + u64::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_length_and_digit_reads_back() {
        for len in 1..=8usize {
            for d in 0..=9u64 {
                // Digits d, d+1, ... (mod 10), leading zeros included, from a known number.
                let expect = (0..len as u64).fold(0, |v, k| v * 10 + (d + k) % 10);
                let text = format!("{expect:0len$}").into_bytes();
                let line = [b"xxxxxxxx,".as_slice(), &text, b",yyyyyyyy"].concat();
                let at = 9;
                assert_eq!(short_digits(&line, &line[at..at + len]), Some(expect));
                // At the very start of a line (read forward, shifted).
                let line = [text.as_slice(), b",yyyyyyyy"].concat();
                assert_eq!(short_digits(&line, &line[..len]), Some(expect));
            }
        }
    }

    #[test]
    fn non_digits_and_bad_lengths_are_refused() {
        for bad in [
            &b""[..],
            b"1a",
            b"/",
            b":",
            b" 1",
            b"-1",
            b"1.5",
            b"123456789",
            b"\x0012",
        ] {
            let line = [b"12345678,".as_slice(), bad, b",87654321"].concat();
            assert_eq!(
                short_digits(&line, &line[9..9 + bad.len()]),
                None,
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn leading_digits_are_the_field_before_the_stop(
            data in proptest::collection::vec(prop_oneof![
                6 => b'0'..=b'9', 2 => Just(b','), 1 => Just(b'.'), 1 => Just(b'\n'), 1 => any::<u8>()
            ], 0..20),
            start in 0usize..20,
        ) {
            let start = start.min(data.len());
            let field_len = data[start..].iter().position(|&b| b == b',');
            // The plain reading: a field of 1 to 7 digits, a comma, and 8 bytes to read.
            let want = field_len
                .filter(|&n| (1..=7).contains(&n) && data.len() >= start + 8)
                .and_then(|n| scalar(&data[start..start + n]));
            prop_assert_eq!(leading_digits(&data, start, b','), want);
        }

        #[test]
        fn agrees_with_the_scalar_parse(
            line in proptest::collection::vec(prop_oneof![
                6 => b'0'..=b'9', 1 => Just(b','), 1 => Just(b'/'), 1 => Just(b':'), 1 => any::<u8>()
            ], 0..24),
            start in 0usize..24,
            len in 0usize..10,
        ) {
            let start = start.min(line.len());
            let end = (start + len).min(line.len());
            let value = &line[start..end];
            prop_assert_eq!(short_digits(&line, value), scalar(value));
            // A value outside `line` (a copy) takes the scalar route with the same answer.
            let copy = value.to_vec();
            prop_assert_eq!(short_digits(&line, &copy), scalar(value));
        }
    }
}
