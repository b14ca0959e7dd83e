//! How a matching record is written out: as it was (`Raw`), as selected CSV fields, or as a
//! JSON object ([`Emit`]); the CSV quoting follows the `csv` crate's writer, JSON strings are
//! always valid UTF-8.

/// What to write for each matching record.
#[derive(Debug, Clone)]
pub enum Emit {
    /// Nothing (`--count`).
    Nothing,
    /// The record's bytes exactly as in the input, terminator included.
    Raw,
    /// The given fields (0-based), CSV-escaped, joined by `delimiter`, ending in `\n`.
    Csv { columns: Vec<usize>, delimiter: u8 },
    /// One JSON object per record: `keys[i]` (already JSON-escaped, quotes included) maps to
    /// field `columns[i]` as a JSON string.
    Jsonl {
        columns: Vec<usize>,
        keys: Vec<String>,
    },
}

#[inline]
pub(crate) fn format_record<'f>(
    how: &Emit,
    decode: Option<&'static encoding_rs::Encoding>,
    raw: &[u8],
    field: &dyn Fn(usize) -> &'f [u8],
    out: &mut Vec<u8>,
) -> u64 {
    let mut invalid = 0;
    match how {
        Emit::Nothing => {}
        Emit::Raw => {
            out.extend_from_slice(raw);
            if !matches!(raw.last(), Some(b'\n' | b'\r')) {
                out.push(b'\n');
            }
        }
        Emit::Csv { columns, delimiter } => {
            for (i, &c) in columns.iter().enumerate() {
                if i > 0 {
                    out.push(*delimiter);
                }
                write_csv_field(out, field(c), *delimiter, columns.len() == 1);
            }
            out.push(b'\n');
        }
        Emit::Jsonl { columns, keys } => {
            out.push(b'{');
            for (i, (&c, key)) in columns.iter().zip(keys).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(key.as_bytes());
                out.push(b':');
                match decode {
                    Some(encoding) if !field(c).is_ascii() => {
                        let mut text = Vec::new();
                        invalid +=
                            crate::input::charset::decode_into(encoding, field(c), &mut text);
                        write_json_string(out, &text);
                    }
                    _ => write_json_string(out, field(c)),
                }
            }
            out.extend_from_slice(b"}\n");
        }
    }
    invalid
}

/// Writes one field with the quoting the `csv` crate's writer would use: quoted when it holds
/// the delimiter, a quote, CR or LF; an empty sole field is written `""` so the record is not
/// read back as an empty line.
pub fn write_csv_field(out: &mut Vec<u8>, field: &[u8], delimiter: u8, sole: bool) {
    let needs_quotes = (sole && field.is_empty())
        || field
            .iter()
            .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r');
    if !needs_quotes {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Writes `bytes` as a JSON string; invalid UTF-8 becomes U+FFFD (JSON text must be UTF-8).
pub fn write_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    out.push(b'"');
    for ch in text.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}
