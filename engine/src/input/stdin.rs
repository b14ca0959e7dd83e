//! Standard input as a dataset input (`-` as a path): one stream, read once, through the same
//! streaming path as a `.gz` file (one unit of work, scanned in pieces).
//!
//! The coordinator must see the first records (header detection, the compression, read from
//! its magic bytes) before any worker reads, but standard input cannot be read twice. So every
//! byte the coordinator reads from it is also kept here ([`head`]), and a worker's source
//! replays those bytes before it reads the rest from descriptor 0, which forked workers
//! inherit. The unit can therefore run once only: a worker that dies reading standard input
//! fails the job (a re-run would see the rest of the stream, not all of it).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The path that names standard input.
pub const PATH: &str = "-";

/// The bytes read from standard input so far by the coordinator.
static HEAD: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Whether reads are still recorded into `HEAD` (only while the coordinator reads the head).
static RECORDING: AtomicBool = AtomicBool::new(true);

/// True for the path that names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == PATH
}

/// Stops recording: from now on the bytes in [`head`] are all the coordinator took, and
/// everything else is read by the worker.
pub fn stop_recording() {
    RECORDING.store(false, Ordering::SeqCst);
}

fn head() -> Vec<u8> {
    HEAD.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Standard input: first the bytes already taken, then descriptor 0 (each read recorded
/// while the coordinator is reading the head).
pub fn reader() -> io::Result<impl Read> {
    let fd = io::stdin().as_fd().try_clone_to_owned()?;
    Ok(io::Cursor::new(head()).chain(Recording {
        file: File::from(fd),
    }))
}

/// The first `n` bytes of standard input (fewer if it ends sooner), which stay recorded for
/// the readers: enough to tell its compression by its magic bytes.
pub fn peek(n: usize) -> io::Result<Vec<u8>> {
    let mut first = head();
    let mut input = Recording {
        file: File::from(io::stdin().as_fd().try_clone_to_owned()?),
    };
    while first.len() < n {
        let mut buf = vec![0u8; n - first.len()];
        let got = input.read(&mut buf)?;
        if got == 0 {
            break;
        }
        first.extend_from_slice(&buf[..got]);
    }
    first.truncate(n);
    Ok(first)
}

struct Recording {
    file: File,
}

impl Read for Recording {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if RECORDING.load(Ordering::SeqCst) {
            HEAD.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}
