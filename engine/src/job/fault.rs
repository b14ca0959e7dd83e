//! The test-only fault knob: `FLEET_TEST_FAULT=POINT:CHUNK` makes the worker that scans chunk
//! CHUNK die at POINT on its first attempt, so tests can prove every record is still counted
//! exactly once. POINT is `scan` (after claiming the chunk, before its result is committed),
//! `commit` (holding the lock, totals half-updated)
//! or `scan-always` (every attempt: the job must fail cleanly, naming the chunk). `stall:N`
//! makes every worker block forever when it reaches any chunk from N on, so tests can kill or
//! interrupt a job whose workers are provably all alive mid-scan, without guessing at timing.
//! `stall-once:N` makes only the worker that reaches chunk N on its first attempt block
//! forever (alive, making no progress), so the coordinator's stall watchdog must kill it and
//! re-run the chunk, and the result must stay exact; with `stall:N` the re-run blocks too and
//! the job must fail naming the chunk.
//! `pause:N` makes the worker that reaches chunk N on its first attempt stop itself with
//! SIGSTOP right after claiming it, before reading it (and before mapping its file, unless the
//! worker mapped it for an earlier chunk): a test sees the stopped
//! process in /proc, acts on it (kills it with a real signal, truncates its file), and
//! releases it with SIGCONT. Re-runs of chunk N are not paused.

use std::fmt;

pub const ENV: &str = "FLEET_TEST_FAULT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    Scan,
    Commit,
    Stall,
    Pause,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fault {
    at: Option<(FaultPoint, usize, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFault(String);

impl fmt::Display for BadFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ENV}={:?} is not scan:N, commit:N, scan-always:N, stall:N, stall-once:N or pause:N",
            self.0
        )
    }
}

impl std::error::Error for BadFault {}

impl Fault {
    pub fn none() -> Fault {
        Fault::default()
    }

    /// Reads the knob from the environment (once, in the coordinator, before any fork).
    pub fn from_env() -> Result<Fault, BadFault> {
        match std::env::var(ENV) {
            Ok(text) if !text.is_empty() => Fault::parse(&text),
            _ => Ok(Fault::none()),
        }
    }

    pub fn parse(text: &str) -> Result<Fault, BadFault> {
        let bad = || BadFault(text.to_string());
        let (point, chunk) = text.split_once(':').ok_or_else(bad)?;
        let chunk: usize = chunk.trim().parse().map_err(|_| bad())?;
        let (point, always) = match point.trim() {
            "scan" => (FaultPoint::Scan, false),
            "scan-always" => (FaultPoint::Scan, true),
            "commit" => (FaultPoint::Commit, false),
            "stall" => (FaultPoint::Stall, true),
            "stall-once" => (FaultPoint::Stall, false),
            "pause" => (FaultPoint::Pause, false),
            _ => return Err(bad()),
        };
        Ok(Fault {
            at: Some((point, chunk, always)),
        })
    }

    pub fn fires(&self, point: FaultPoint, chunk: usize, attempt: u32) -> bool {
        match self.at {
            Some((FaultPoint::Stall, from, true)) => point == FaultPoint::Stall && chunk >= from,
            Some((p, c, always)) => p == point && c == chunk && (always || attempt == 0),
            None => false,
        }
    }
}

impl Fault {
    /// Dies here if the test knob asks for it: a process aborts (as a crash would), a thread
    /// panics (the closest a thread can get without taking the whole job down).
    pub(crate) fn trigger(&self, point: FaultPoint, chunk: usize, attempt: u32, in_process: bool) {
        if self.fires(point, chunk, attempt) {
            if point == FaultPoint::Stall {
                loop {
                    std::thread::park();
                }
            }
            if point == FaultPoint::Pause {
                // SAFETY: raise has no preconditions; SIGSTOP stops this process (a worker, or
                // the whole job for the thread engine) until the test sends SIGCONT.
                unsafe { libc::raise(libc::SIGSTOP) };
                return;
            }
            if in_process {
                std::process::abort();
            }
            panic!("injected fault at chunk {chunk}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_fires_once_at_its_chunk() {
        let f = Fault::parse("pause:3").expect("parses");
        assert!(f.fires(FaultPoint::Pause, 3, 0));
        assert!(!f.fires(FaultPoint::Pause, 3, 1), "re-runs are not paused");
        assert!(!f.fires(FaultPoint::Pause, 4, 0));
        assert!(!f.fires(FaultPoint::Stall, 3, 0));
        assert!(Fault::parse("pause").is_err());
    }

    #[test]
    fn stall_blocks_every_chunk_from_n_and_stall_once_only_the_first_attempt_of_n() {
        let every = Fault::parse("stall:3").expect("parses");
        assert!(every.fires(FaultPoint::Stall, 3, 0));
        assert!(every.fires(FaultPoint::Stall, 3, 1), "re-runs stall too");
        assert!(every.fires(FaultPoint::Stall, 9, 0));
        assert!(!every.fires(FaultPoint::Stall, 2, 0));
        let once = Fault::parse("stall-once:3").expect("parses");
        assert!(once.fires(FaultPoint::Stall, 3, 0));
        assert!(
            !once.fires(FaultPoint::Stall, 3, 1),
            "the re-run goes through"
        );
        assert!(!once.fires(FaultPoint::Stall, 4, 0));
        assert!(!once.fires(FaultPoint::Scan, 3, 0));
        assert!(Fault::parse("stall-twice:3").is_err());
    }
}
