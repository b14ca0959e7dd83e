//! Errors of `fleet copy`: fatal ones ([`CopyError`]) that stop a copy before it starts, and
//! per-entry ones ([`EntryError`]) that are reported while the copy goes on with the rest.
//! Each displays as one line naming the path.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Why a copy could not start at all, or (`Stalled`) had to stop.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("cannot read source {}: {source}", path.display())]
    Source { path: PathBuf, source: io::Error },
    #[error("source {} is not a directory", path.display())]
    SourceNotDir { path: PathBuf },
    #[error("source and destination are the same directory ({}); refusing to copy", path.display())]
    Same { path: PathBuf },
    #[error("destination {} is inside source {}; refusing to copy", dst.display(), src.display())]
    Inside { src: PathBuf, dst: PathBuf },
    #[error("cannot create destination {}: {source}", path.display())]
    Destination { path: PathBuf, source: io::Error },
    #[error("{}={value:?} is not a number of bytes", super::STALL_ENV)]
    StallKnob { value: String },
    /// The caller's interrupt flag was set (Ctrl-C): the workers stopped and this run's
    /// temporaries are removed; files already renamed are complete.
    #[error("interrupted")]
    Interrupted,
    /// A thread held `path` (in SRC) without progress for `waited`, copying or verifying it.
    /// It cannot be stopped, so the copy stops; what was complete keeps its name, the rest is
    /// left to a later `--resume`.
    #[error(
        "cannot {} {}: no progress for {:.1} s (a read or write that does not return); the copy stops here, and `fleet copy --resume` finishes it (see --stall-timeout)",
        if *.verifying { "verify" } else { "copy" },
        .path.display(),
        .waited.as_secs_f64()
    )]
    Stalled {
        path: PathBuf,
        waited: Duration,
        verifying: bool,
    },
}

/// Why one entry (file, symlink, directory, hard link) was not copied or not verified.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} vanished before it could be copied", path.display())]
    Vanished { path: PathBuf },
    #[error("{} got shorter while being copied; not copied", path.display())]
    Shrunk { path: PathBuf },
    #[error("copying {} was interrupted; not copied", path.display())]
    Interrupted { path: PathBuf },
    #[error("{} is a {kind}; not copied", path.display())]
    Special { path: PathBuf, kind: &'static str },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot hard-link {} to {}: {source}", path.display(), target.display())]
    Link {
        path: PathBuf,
        target: PathBuf,
        source: io::Error,
    },
    #[error("cannot verify {}: {source}", path.display())]
    Verify { path: PathBuf, source: io::Error },
}

impl EntryError {
    /// A failure to read `path`, telling a file that disappeared from one that cannot be read.
    pub(super) fn read(path: PathBuf, source: io::Error) -> EntryError {
        if source.kind() == io::ErrorKind::NotFound {
            EntryError::Vanished { path }
        } else {
            EntryError::Read { path, source }
        }
    }

    pub(super) fn write(path: PathBuf, source: io::Error) -> EntryError {
        EntryError::Write { path, source }
    }
}
