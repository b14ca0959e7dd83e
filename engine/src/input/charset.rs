//! Text encodings of the input (`--encoding`, `encoding` in `fleet.toml`), with encoding_rs.
//!
//! Every supported encoding is ASCII-compatible, and in each of them the bytes that CSV
//! structure depends on — `"`, CR, LF and the usual delimiters — never occur inside a
//! multibyte character, so the files are scanned as they are and only what is written out is
//! decoded. The exceptions are per encoding: the trail byte of a GBK or Big5 character can be
//! any byte in 0x40..=0x7E (which holds `|`, `\`, `^`, `~`, letters), and GB18030's
//! four-byte characters also hold digits 0x30..=0x39 in their second and fourth byte. With
//! such a delimiter a raw scan would split characters, so the files are transcoded to UTF-8
//! first ([`Transcoder`], streamed like a compressed file).
//!
//! `latin1` means windows-1252, as everywhere on the web (encoding_rs follows the WHATWG
//! Encoding Standard, where the label `latin1` is windows-1252).

pub use encoding_rs::Encoding;
use encoding_rs::{DecoderResult, BIG5, GB18030, GBK, WINDOWS_1252};
use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::Rc;

/// How many invalid sequences are located by line.
pub const REPORTED_INVALID: usize = crate::scan::outcome::REPORTED_MALFORMED;

/// An encoding name fleet does not read; the message lists the ones it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown encoding '{}' (supported: utf-8, gbk, gb2312, gb18030, big5, latin1)",
    crate::text::one_line(.0)
)]
pub struct UnknownEncoding(pub String);

/// The encoding named by `label`: `None` for UTF-8 (nothing to decode).
pub fn parse_encoding(label: &str) -> Result<Option<&'static Encoding>, UnknownEncoding> {
    let l = label.trim().to_ascii_lowercase();
    Ok(Some(match l.as_str() {
        "utf-8" | "utf8" | "ascii" => return Ok(None),
        "gbk" | "gb2312" | "cp936" => GBK,
        "gb18030" => GB18030,
        "big5" => BIG5,
        "latin1" | "latin-1" | "iso-8859-1" | "windows-1252" | "cp1252" => WINDOWS_1252,
        _ => return Err(UnknownEncoding(label.to_string())),
    }))
}

/// Whether `byte` can occur inside a multibyte character of `encoding` (so it cannot be
/// scanned for as a delimiter in the raw bytes).
pub fn inside_characters(encoding: &'static Encoding, byte: u8) -> bool {
    if encoding == GBK || encoding == BIG5 {
        (0x40..=0x7e).contains(&byte)
    } else if encoding == GB18030 {
        (0x40..=0x7e).contains(&byte) || byte.is_ascii_digit()
    } else {
        false
    }
}

/// Appends `bytes` decoded to UTF-8 to `out`, each invalid sequence replaced by U+FFFD.
/// Returns the number of invalid sequences.
pub fn decode_into(encoding: &'static Encoding, bytes: &[u8], out: &mut Vec<u8>) -> u64 {
    if bytes.is_ascii() {
        out.extend_from_slice(bytes);
        return 0;
    }
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut invalid = 0;
    let mut src = bytes;
    loop {
        let at = out.len();
        let room = decoder
            .max_utf8_buffer_length_without_replacement(src.len())
            .unwrap_or(src.len() * 3 + 16);
        out.resize(at + room.max(4), 0);
        let (result, read, written) =
            decoder.decode_to_utf8_without_replacement(src, &mut out[at..], true);
        out.truncate(at + written);
        src = &src[read..];
        match result {
            DecoderResult::InputEmpty => return invalid,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(_, _) => {
                invalid += 1;
                out.extend_from_slice("\u{fffd}".as_bytes());
            }
        }
    }
}

/// `text` in `encoding`, or `None` when some character has no representation in it.
pub fn encode(encoding: &'static Encoding, text: &str) -> Option<Vec<u8>> {
    let (bytes, _, unmappable) = encoding.encode(text);
    (!unmappable).then(|| bytes.into_owned())
}

/// Decodes a whole file to UTF-8 while it streams, counting invalid sequences by line.
#[derive(Debug)]
pub struct Transcoder {
    encoding: &'static Encoding,
    invalid: Cell<u64>,
    /// 1-based lines (in the file) of the first invalid sequences.
    invalid_lines: RefCell<Vec<u64>>,
}

impl Transcoder {
    pub fn new(encoding: &'static Encoding) -> Transcoder {
        Transcoder {
            encoding,
            invalid: Cell::new(0),
            invalid_lines: RefCell::new(Vec::new()),
        }
    }

    pub fn invalid(&self) -> u64 {
        self.invalid.get()
    }

    pub fn invalid_lines(&self) -> Vec<u64> {
        self.invalid_lines.borrow().clone()
    }

    pub fn reader<R: Read>(self: &Rc<Self>, inner: R) -> TranscodeReader<R> {
        TranscodeReader {
            inner,
            counts: Rc::clone(self),
            decoder: self.encoding.new_decoder_without_bom_handling(),
            input: vec![0; 64 << 10],
            in_pos: 0,
            in_len: 0,
            eof: false,
            done: false,
            output: Vec::new(),
            out_pos: 0,
            lines: 0,
        }
    }
}

/// A [`Read`] of `inner`'s bytes decoded to UTF-8 (see [`Transcoder`]).
pub struct TranscodeReader<R> {
    inner: R,
    counts: Rc<Transcoder>,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_pos: usize,
    in_len: usize,
    eof: bool,
    done: bool,
    output: Vec<u8>,
    out_pos: usize,
    /// Newlines written out before `output`.
    lines: u64,
}

impl<R: Read> Read for TranscodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_pos < self.output.len() {
                let n = buf.len().min(self.output.len() - self.out_pos);
                buf[..n].copy_from_slice(&self.output[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            self.output.clear();
            self.out_pos = 0;
            if self.in_pos == self.in_len && !self.eof {
                self.in_pos = 0;
                self.in_len = self.inner.read(&mut self.input)?;
                self.eof = self.in_len == 0;
            }
            let src = &self.input[self.in_pos..self.in_len];
            let room = self
                .decoder
                .max_utf8_buffer_length_without_replacement(src.len())
                .unwrap_or(src.len() * 3 + 16)
                .max(16);
            self.output.resize(room, 0);
            let (result, read, written) =
                self.decoder
                    .decode_to_utf8_without_replacement(src, &mut self.output, self.eof);
            self.in_pos += read;
            self.output.truncate(written);
            match result {
                DecoderResult::InputEmpty => self.done = self.eof,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(_, _) => {
                    let line = self.lines + 1 + bytecount::count(&self.output, b'\n') as u64;
                    self.counts.invalid.set(self.counts.invalid.get() + 1);
                    let mut lines = self.counts.invalid_lines.borrow_mut();
                    if lines.len() < REPORTED_INVALID {
                        lines.push(line);
                    }
                    self.output.extend_from_slice("\u{fffd}".as_bytes());
                }
            }
            self.lines += bytecount::count(&self.output, b'\n') as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(parse_encoding("GB2312").unwrap(), Some(GBK));
        assert_eq!(parse_encoding("utf-8").unwrap(), None);
        assert_eq!(parse_encoding("latin1").unwrap(), Some(WINDOWS_1252));
        assert!(parse_encoding("ebcdic")
            .unwrap_err()
            .to_string()
            .contains("supported"));
    }

    #[test]
    fn structural_bytes_never_occur_inside_characters() {
        // Check the claim the raw scan rests on, exhaustively over every two-byte sequence
        // (and GB18030's four-byte ones): decoding never swallows `,` `"` CR LF TAB `;`.
        for enc in [GBK, GB18030, BIG5, WINDOWS_1252] {
            for safe in [b',', b'"', b'\n', b'\r', b'\t', b';'] {
                assert!(!inside_characters(enc, safe));
                for lead in 0x80..=0xffu8 {
                    let mut out = Vec::new();
                    decode_into(enc, &[lead, safe], &mut out);
                    assert_eq!(out.last(), Some(&safe), "{} {lead:x} {safe:x}", enc.name());
                    if enc == GB18030 {
                        let mut out = Vec::new();
                        decode_into(enc, &[lead, b'1', lead, safe], &mut out);
                        assert_eq!(out.last(), Some(&safe));
                    }
                }
            }
        }
        // And the unsafe ones really are unsafe: `|` is the second byte of a GBK character.
        assert!(inside_characters(GBK, b'|'));
        let (text, _, _) = GBK.decode(b"\x81|");
        assert!(!text.contains('|'));
        assert!(inside_characters(GB18030, b'5'));
    }

    #[test]
    fn transcoding_counts_invalid_sequences_by_line() {
        let (gbk, _, _) = GBK.encode("粤B12345,x\n京A1,y\n");
        let mut bytes = gbk.into_owned();
        bytes.extend_from_slice(b"ok\n\xff,bad\n");
        let t = Rc::new(Transcoder::new(GBK));
        let mut out = String::new();
        t.reader(&bytes[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, "粤B12345,x\n京A1,y\nok\n\u{fffd},bad\n");
        assert_eq!(t.invalid(), 1);
        assert_eq!(t.invalid_lines(), vec![4]);
        let mut direct = Vec::new();
        assert_eq!(decode_into(GBK, &bytes, &mut direct), 1);
        assert_eq!(direct, out.as_bytes());
    }
}
