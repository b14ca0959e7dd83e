//! How a chunk's result travels from a worker to the scan's stream: a sequence of frames,
//! each a tag byte, a u64 LE length and the payload. A frame is an Arrow IPC stream holding
//! record batches, or an error message (a value that does not fit its column's type).
//! Frames concatenate, so a streamed file's pieces simply append theirs.

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use std::io::Cursor;

const BATCHES: u8 = 0;
const ERROR: u8 = 1;

/// Appends a frame holding `batch`.
pub fn write_batch(out: &mut Vec<u8>, batch: &RecordBatch) -> Result<(), String> {
    let at = begin(out, BATCHES);
    let mut writer =
        StreamWriter::try_new(&mut *out, &batch.schema()).map_err(|e| e.to_string())?;
    writer.write(batch).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    drop(writer);
    end(out, at);
    Ok(())
}

/// Appends a frame holding an error message.
pub fn write_error(out: &mut Vec<u8>, message: &str) {
    let at = begin(out, ERROR);
    out.extend_from_slice(message.as_bytes());
    end(out, at);
}

fn begin(out: &mut Vec<u8>, tag: u8) -> usize {
    out.push(tag);
    let at = out.len();
    out.extend_from_slice(&[0; 8]);
    at
}

fn end(out: &mut [u8], at: usize) {
    let len = (out.len() - at - 8) as u64;
    out[at..at + 8].copy_from_slice(&len.to_le_bytes());
}

/// What a frame holds.
pub enum Frame {
    Batches(Vec<RecordBatch>),
    Error(String),
}

/// Reads every frame of a chunk's result.
pub fn read_frames(mut bytes: &[u8]) -> Result<Vec<Frame>, String> {
    let mut frames = Vec::new();
    while let Some((&tag, rest)) = bytes.split_first() {
        let (len, rest) = rest
            .split_first_chunk::<8>()
            .ok_or("a frame header is cut short")?;
        let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|e| e.to_string())?;
        if rest.len() < len {
            return Err("a frame is cut short".into());
        }
        let (payload, rest) = rest.split_at(len);
        bytes = rest;
        frames.push(match tag {
            BATCHES => Frame::Batches(
                StreamReader::try_new(Cursor::new(payload), None)
                    .map_err(|e| e.to_string())?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())?,
            ),
            ERROR => Frame::Error(String::from_utf8_lossy(payload).into_owned()),
            other => return Err(format!("unknown frame tag {other}")),
        });
    }
    Ok(frames)
}
