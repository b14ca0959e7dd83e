//! Where a command's results go: stdout, or a file that gets its name only when complete
//! (never one of the inputs), or a column file made from the CSV text when complete.

use crate::columnar::ColumnarSink;
use crate::output::open_output_file;
use crate::table::TableSink;
use anyhow::Context;
use fleet_engine::output::AtomicOutput;
use fleet_engine::Dataset;
use std::io::{self, Write};
use std::path::Path;

pub enum Sink {
    Stdout(io::BufWriter<RawStdout>),
    /// `--format table`: drawn on stdout at the end.
    Table(TableSink),
    File(AtomicOutput),
    Columns(Box<ColumnarSink>),
}

impl Sink {
    /// `-o FILE` (refused when it is one of the dataset's files) or stdout.
    pub fn open(output: Option<&Path>, ds: &Dataset) -> anyhow::Result<Sink> {
        let Some(path) = output else {
            return Ok(Sink::Stdout(io::BufWriter::with_capacity(
                1 << 20,
                RawStdout,
            )));
        };
        Ok(Sink::File(open_output_file(path, ds)?))
    }

    /// Flushes stdout (a closed pipe is fine) or gives the file its real name.
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(mut out) => out.flush().or_else(ignore_broken_pipe)?,
            Sink::Table(table) => {
                let mut out = io::BufWriter::with_capacity(1 << 20, RawStdout);
                table
                    .render(&mut out)
                    .and_then(|()| out.flush())
                    .or_else(ignore_broken_pipe)?;
            }
            Sink::File(out) => out.commit().context("cannot finish the output file")?,
            Sink::Columns(out) => out.finish()?,
        }
        Ok(())
    }
}

/// Standard output written with one `write(2)` per call, which gives up once the interrupt
/// flag is set. std's `Stdout` retries a write that a signal interrupted (`EINTR`), so a
/// process blocked on a full pipe whose reader never reads would never notice Ctrl-C; here
/// the blocked call returns (the handler is installed without `SA_RESTART`) and the next
/// one fails. Nothing else in fleet writes to stdout, so bypassing std's buffer loses nothing.
pub struct RawStdout;

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            if fleet_engine::job::interrupt::interrupted() {
                return Err(io::Error::other("interrupted"));
            }
            // SAFETY: writes from a valid buffer of `buf.len()` bytes to descriptor 1.
            let n = unsafe { libc::write(libc::STDOUT_FILENO, buf.as_ptr().cast(), buf.len()) };
            if let Ok(n) = usize::try_from(n) {
                return Ok(n);
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(out) => out.write(buf),
            Sink::Table(out) => out.write(buf),
            Sink::File(out) => out.write(buf),
            Sink::Columns(out) => out.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.write_all(buf),
            Sink::Table(out) => out.write_all(buf),
            Sink::File(out) => out.write_all(buf),
            Sink::Columns(out) => out.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush(),
            Sink::Table(out) => out.flush(),
            Sink::File(out) => out.flush(),
            Sink::Columns(out) => out.flush(),
        }
    }
}
