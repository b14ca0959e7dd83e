//! A phase's threads (the walk and the copying workers, or the verifying workers) run as a
//! crew on a thread of their own, so the calling thread stays free to report progress every
//! [`TICK`] and to watch the crew's lanes for a stall (`watch.rs`). When one stalls, the copy
//! returns [`CopyError::Stalled`] at once and leaves the crew behind: a thread stuck in a read
//! or write cannot be stopped or joined.

use super::watch::Watchdog;
use super::{Copier, CopyError, CopyProgress, Phase, TICK};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Instant;

/// The calling thread's side of a copy: progress reports and the stall watchdog.
pub(crate) struct Ticks<'t> {
    pub(crate) copier: &'t Arc<Copier>,
    watchdog: &'t mut Watchdog,
    failures_seen: &'t mut usize,
    progress: &'t dyn Fn(&CopyProgress),
}

impl<'t> Ticks<'t> {
    pub(crate) fn new(
        copier: &'t Arc<Copier>,
        watchdog: &'t mut Watchdog,
        failures_seen: &'t mut usize,
        progress: &'t dyn Fn(&CopyProgress),
    ) -> Ticks<'t> {
        Ticks {
            copier,
            watchdog,
            failures_seen,
            progress,
        }
    }

    pub(crate) fn report(&mut self, phase: Phase) {
        (self.progress)(
            &self
                .copier
                .snapshot(phase, self.failures_seen, self.watchdog),
        );
    }

    /// Runs `work(0..n)` on `n` threads, in a crew on a thread of its own, while the calling
    /// thread reports progress every [`TICK`] and watches the lanes, until all of them are
    /// done. A lane that holds a file without progress for the stall timeout ends the copy
    /// with [`CopyError::Stalled`]: the crew is told to stop and left behind, as a thread
    /// stuck in a read or write cannot be stopped (the program is expected to exit).
    pub(crate) fn run<T: Send + 'static>(
        &mut self,
        phase: Phase,
        n: usize,
        work: impl Fn(usize) -> T + Send + Sync + 'static,
    ) -> Result<Vec<T>, CopyError> {
        let (done_tx, done_rx) = mpsc::channel::<Vec<T>>();
        // Spawning panics if the OS refuses a thread, as rayon does: a copy with fewer
        // threads than planned could deadlock the bounded queue.
        let crew = std::thread::spawn(move || {
            let results = std::thread::scope(|s| {
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        let work = &work;
                        s.spawn(move || work(i))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
            let _ = done_tx.send(results);
        });
        self.watchdog.restart(&self.copier.lanes, Instant::now());
        loop {
            match done_rx.recv_timeout(TICK) {
                Ok(results) => {
                    let _ = crew.join();
                    return Ok(results);
                }
                Err(RecvTimeoutError::Disconnected) => match crew.join() {
                    Err(panic) => std::panic::resume_unwind(panic),
                    Ok(()) => return Ok(Vec::new()),
                },
                Err(RecvTimeoutError::Timeout) => {
                    let lanes = &self.copier.lanes;
                    if let Some((rel, waited)) = self.watchdog.check(lanes, Instant::now()) {
                        self.copier.stopped.store(true, Ordering::Relaxed);
                        return Err(CopyError::Stalled {
                            path: self.copier.src_root.join(rel),
                            waited,
                            verifying: phase == Phase::Verifying,
                        });
                    }
                    self.report(phase);
                }
            }
        }
    }
}
