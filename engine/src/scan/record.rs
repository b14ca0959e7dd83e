//! Record boundaries and fields inside one chunk of a mapped file.
//!
//! - [`GeneralRecords`]: a full RFC 4180 parse with `csv_core` (quoted fields, `""` escapes,
//!   newlines inside quotes, CR/CRLF terminators), the `csv` crate's semantics exactly. It yields
//!   each record's raw byte range (without preceding empty lines, with its terminator) so
//!   matching records can be written out byte-identical to the input.
//! - [`split_quote_free`]: fields of a line known to hold no quote (see `structure.rs`);
//!   [`split_quoted`] and [`Unquoted`]: fields and values of a record the quoted pass
//!   (`simd/quoted.rs`) checked.
//! - [`quoted_record_ends`]: whether a record that entered `data[range]` inside a quoted field
//!   ends there, so a chunk in the middle of a huge record can be skipped without re-parsing
//!   the record from its start.

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};
use std::ops::Range;

/// One record found in a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord {
    /// Offset of the record's first byte (empty lines before it excluded).
    pub start: usize,
    /// Offset just past the record's terminator (or the end of the data at EOF).
    pub end: usize,
}

/// Splits a quote-free line into field ranges (relative to the data slice the line is in).
/// Stops after `max_fields` fields have been recorded but keeps counting the rest.
/// Returns the total number of fields.
#[inline]
pub fn split_quote_free(
    data: &[u8],
    line: Range<usize>,
    delimiter: u8,
    fields: &mut Vec<Range<usize>>,
    max_fields: usize,
) -> usize {
    fields.clear();
    let bytes = &data[line.clone()];
    let mut count = 0;
    let mut field_start = 0;
    for pos in memchr::memchr_iter(delimiter, bytes) {
        if count < max_fields {
            fields.push(line.start + field_start..line.start + pos);
        } else {
            // Only the count matters from here: a SIMD count is faster than iterating.
            return count + 1 + bytecount::count(&bytes[pos + 1..], delimiter) + 1;
        }
        count += 1;
        field_start = pos + 1;
    }
    if count < max_fields {
        fields.push(line.start + field_start..line.end);
    }
    count + 1
}

/// Splits a line of the fast path that holds quotes into field ranges (as
/// [`split_quote_free`]), quotes included: a delimiter counts only outside quotes. The line is
/// known to be well-formed CSV (the structural pass checked its quotes), so toggling on every
/// quote is the whole parse. Only for lines that must be split: the pass hands the others'
/// delimiters out from its masks.
pub fn split_quoted(
    data: &[u8],
    line: Range<usize>,
    delimiter: u8,
    fields: &mut Vec<Range<usize>>,
    max_fields: usize,
) -> usize {
    fields.clear();
    let mut count = 0;
    let mut field_start = line.start;
    let mut inside = false;
    for pos in line.clone() {
        let b = data[pos];
        if b == b'"' {
            inside = !inside;
        } else if b == delimiter && !inside {
            if count < max_fields {
                fields.push(field_start..pos);
            }
            count += 1;
            field_start = pos + 1;
        }
    }
    if count < max_fields {
        fields.push(field_start..line.end);
    }
    count + 1
}

/// Field values of a line that holds quotes: each field without its surrounding quotes, and
/// the few holding a `""` escape unescaped into a buffer, so a field `"11865"` compares equal to
/// 11865 as it does through csv-core. Reused across lines, so nothing is allocated per record.
#[derive(Debug, Default)]
pub struct Unquoted {
    /// Per field: whether its value is in `buf` (else in the data), and where.
    values: Vec<(bool, Range<usize>)>,
    buf: Vec<u8>,
}

impl Unquoted {
    /// Takes the fields at `bounds` (ranges in `data`, each a whole field of a line the
    /// structural pass checked: a quote only opens it and only closes it at its end).
    pub fn fill(&mut self, data: &[u8], bounds: impl Iterator<Item = Range<usize>>) {
        self.values.clear();
        self.buf.clear();
        for r in bounds {
            let raw = &data[r.clone()];
            if raw.len() < 2 || raw[0] != b'"' || raw[raw.len() - 1] != b'"' {
                self.values.push((false, r));
                continue;
            }
            let inner = r.start + 1..r.end - 1;
            let text = &data[inner.clone()];
            if memchr::memchr(b'"', text).is_none() {
                self.values.push((false, inner));
                continue;
            }
            // Quotes inside come in `""` pairs: keep the first of each.
            let from = self.buf.len();
            let mut i = 0;
            while i < text.len() {
                self.buf.push(text[i]);
                i += if text[i] == b'"' { 2 } else { 1 };
            }
            self.values.push((true, from..self.buf.len()));
        }
    }

    /// The value of field `i` (empty past the fields taken).
    #[inline]
    pub fn get<'a>(&'a self, data: &'a [u8], i: usize) -> &'a [u8] {
        match self.values.get(i) {
            Some((true, r)) => &self.buf[r.clone()],
            Some((false, r)) => &data[r.clone()],
            None => &[],
        }
    }
}

/// How a general parse of a range ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeEnd {
    /// The range ended exactly at a record boundary (or at end of file).
    Clean,
    /// The last record did not end inside the range; it starts at this offset.
    Partial(usize),
}

/// Full CSV parse of `data[range]` with csv-core, the reader semantics of the `csv` crate.
///
/// `at_eof` says whether `range.end` is the end of the file: only then is an unterminated last
/// record a record; otherwise it is reported through [`GeneralRecords::end_state`].
pub struct GeneralRecords<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
    at_eof: bool,
    reader: Reader,
    /// Unescaped field contents of the current record.
    pub fields: Vec<u8>,
    /// End offsets of each field in `fields`.
    pub ends: Vec<usize>,
    done: Option<RangeEnd>,
}

impl<'a> GeneralRecords<'a> {
    pub fn new(data: &'a [u8], range: Range<usize>, delimiter: u8, at_eof: bool) -> Self {
        let mut reader = ReaderBuilder::new().delimiter(delimiter).build();
        // csv-core strips a UTF-8 BOM on a reader's first read. Chunks never start at a BOM
        // (the planner skips it), so a first read of bytes EF BB BF inside a file must not
        // lose them: feeding an empty line first marks the reader as started, and an empty
        // line leaves its state at "start of record".
        let (res, _, _, _) = reader.read_record(b"\n", &mut [0; 8], &mut [0; 8]);
        debug_assert_eq!(res, ReadRecordResult::InputEmpty);
        GeneralRecords {
            data,
            pos: range.start,
            end: range.end,
            at_eof,
            reader,
            fields: vec![0; 1024],
            ends: vec![0; 64],
            done: None,
        }
    }

    /// How the range ended; `None` until [`Self::next_record`] has returned `None`.
    pub fn end_state(&self) -> Option<RangeEnd> {
        self.done
    }

    /// Field `i` of the current record.
    #[inline]
    pub fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.fields[start..self.ends[i]]
    }

    /// Parses the next record; the fields are then in `self.fields`/`self.ends[..n]`.
    /// Returns the record and its number of fields.
    pub fn next_record(&mut self) -> Option<(RawRecord, usize)> {
        if self.done.is_some() {
            return None;
        }
        let record_pos = self.pos;
        let mut nout = 0;
        let mut nend = 0;
        loop {
            let input = &self.data[self.pos..self.end];
            let (res, nin, o, e) =
                self.reader
                    .read_record(input, &mut self.fields[nout..], &mut self.ends[nend..]);
            self.pos += nin;
            nout += o;
            nend += e;
            match res {
                ReadRecordResult::InputEmpty => {
                    if self.pos < self.end {
                        continue;
                    }
                    if !self.at_eof {
                        // The range is used up: a record is complete only when the parser
                        // returned it; any non-terminator byte since then starts a partial one.
                        let pending = &self.data[record_pos..self.end];
                        self.done = Some(
                            match pending.iter().position(|&b| b != b'\n' && b != b'\r') {
                                None => RangeEnd::Clean,
                                Some(i) => RangeEnd::Partial(record_pos + i),
                            },
                        );
                        return None;
                    }
                    // At end of file an empty input tells csv-core to finish the last record.
                    let (res, _, o, e) = self.reader.read_record(
                        &[],
                        &mut self.fields[nout..],
                        &mut self.ends[nend..],
                    );
                    nout += o;
                    nend += e;
                    match res {
                        ReadRecordResult::Record => {
                            return Some((self.finish(record_pos, self.end), nend));
                        }
                        ReadRecordResult::OutputFull => self.grow_fields(),
                        ReadRecordResult::OutputEndsFull => self.grow_ends(),
                        ReadRecordResult::End | ReadRecordResult::InputEmpty => {
                            self.done = Some(RangeEnd::Clean);
                            return None;
                        }
                    }
                }
                ReadRecordResult::OutputFull => self.grow_fields(),
                ReadRecordResult::OutputEndsFull => self.grow_ends(),
                ReadRecordResult::Record => {
                    let mut end = self.pos;
                    // A CRLF terminator: csv-core ends the record at '\r' and skips the '\n'
                    // later; the raw record keeps both so output stays byte-identical.
                    if end > 0
                        && self.data[end - 1] == b'\r'
                        && end < self.end
                        && self.data[end] == b'\n'
                    {
                        end += 1;
                    }
                    return Some((self.finish(record_pos, end), nend));
                }
                ReadRecordResult::End => {
                    self.done = Some(RangeEnd::Clean);
                    return None;
                }
            }
        }
    }

    fn finish(&mut self, record_pos: usize, end: usize) -> RawRecord {
        let skipped = &self.data[record_pos..end];
        let lead = skipped
            .iter()
            .position(|&b| b != b'\n' && b != b'\r')
            .unwrap_or(skipped.len());
        RawRecord {
            start: record_pos + lead,
            end,
        }
    }

    fn grow_fields(&mut self) {
        let n = self.fields.len().max(1024) * 2;
        self.fields.resize(n, 0);
    }

    fn grow_ends(&mut self) {
        let n = self.ends.len().max(64) * 2;
        self.ends.resize(n, 0);
    }
}

/// For a range that starts just after a `\n` inside a quoted field of a record that began
/// earlier (the only way a record can cross a chunk's planned start): true when that record
/// ends inside the range (or the range ends the file). Only the quote state is followed; no
/// field is kept, so a chunk deep inside a record megabytes long costs one pass over itself,
/// not over the whole record.
pub fn quoted_record_ends(data: &[u8], range: Range<usize>, delimiter: u8, at_eof: bool) -> bool {
    let mut reader = ReaderBuilder::new().delimiter(delimiter).build();
    let mut out = [0u8; 4096];
    let mut ends = [0usize; 64];
    // An opening quote puts the parser where it is after a newline inside a quoted field.
    let (res, _, _, _) = reader.read_record(b"\"", &mut out, &mut ends);
    debug_assert_eq!(res, ReadRecordResult::InputEmpty);
    let mut input = &data[range];
    loop {
        let (res, nin, _, _) = reader.read_record(input, &mut out, &mut ends);
        input = &input[nin..];
        match res {
            ReadRecordResult::Record => return true,
            // The fields are not wanted: let the buffers be overwritten.
            ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => continue,
            // All input consumed without the record ending.
            ReadRecordResult::InputEmpty | ReadRecordResult::End => return at_eof,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_record_open_in_a_quote_is_followed_to_its_end() {
        // The range starts inside a quoted field (after `"a\n` of some earlier record).
        let data = b"x\nmore text, still quoted\n\"\" escaped\nend\",2\nnext,1\n";
        let from = 2;
        assert!(quoted_record_ends(data, from..data.len(), b',', false));
        let close = data.iter().position(|&b| b == b'2').unwrap();
        assert!(!quoted_record_ends(data, from..close - 3, b',', false));
        assert!(
            quoted_record_ends(data, from..close - 3, b',', true),
            "EOF ends it"
        );
        let no_close = b"x\nstill open\n\"\" only escapes\n";
        assert!(!quoted_record_ends(
            no_close,
            2..no_close.len(),
            b',',
            false
        ));
        // A big field overflows the parser's output buffers: still followed.
        let mut big = b"x\n".to_vec();
        big.extend(std::iter::repeat_n(b'z', 100_000));
        big.extend_from_slice(b"\",1\n");
        assert!(quoted_record_ends(&big, 2..big.len(), b',', false));
    }
}
