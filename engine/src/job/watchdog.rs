//! The stall watchdog: the coordinator's judgement of whether each live worker is getting
//! anywhere. A worker's [`Signature`] is what its slot in the shared region shows: the chunk it
//! holds and its progress counters (bytes, records, matches). A worker that holds a chunk and
//! whose signature has not changed for the timeout is *stalled*; the coordinator then kills it
//! and re-runs its chunk once (process engine) or ends the job (thread engine).
//!
//! The timeout is `max(floor, STALL_MULTIPLE x the longest quiet spell seen so far)`, where a
//! quiet spell is a time a worker held a chunk without visible progress and then made some. A
//! mapped chunk bumps its worker's counters only when it ends, so its quiet spell is its whole
//! scan time; a streamed (`.gz`) unit bumps them at every piece it reads. The floor (default
//! [`DEFAULT_STALL_TIMEOUT`], `--stall-timeout`) is what a job gets before any chunk has
//! finished; the multiple protects chunks that are slow for a legitimate reason (a slow disk,
//! an expensive regex, a big `--chunk-size`): once one such chunk has taken 30 s, the others
//! get 300 s. Every time is taken on the coordinator's clock, so the rule is the same for both
//! engines; a time when the coordinator itself did not run (a `Ctrl-Z`, a blocked write to
//! `| less`) is not held against the workers.

use crate::shm::region::{WorkerSlot, NO_CHUNK};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The default floor. A chunk at the default sizes (8 MiB for scan, 64 MiB for agg) takes well
/// under a second at fleet's speeds, so 120 s without progress means a read that does not
/// come back (a hung network mount) or a loop that does not end, not a slow disk: even 64 MiB
/// in 120 s is half a megabyte a second. It is generous on purpose: a false alarm costs a
/// re-run, a second one the job.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(120);

/// How many times the longest quiet spell seen so far a worker may stay quiet.
pub const STALL_MULTIPLE: u32 = 10;

/// A gap this long between two coordinator ticks means the coordinator itself was not
/// running (stopped, or blocked writing its output): that time is forgiven to every worker.
const ABSENCE: Duration = Duration::from_secs(1);

/// What a worker's slot shows of its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Signature {
    /// The chunk it holds, or `NO_CHUNK`.
    pub chunk: u64,
    pub bytes: u64,
    pub records: u64,
    pub matches: u64,
}

impl Signature {
    pub fn of(slot: &WorkerSlot) -> Signature {
        Signature {
            chunk: slot.current.load(Ordering::Acquire),
            bytes: slot.bytes.load(Ordering::Relaxed),
            records: slot.records.load(Ordering::Relaxed),
            matches: slot.matches.load(Ordering::Relaxed),
        }
    }

    fn holds_chunk(&self) -> bool {
        self.chunk != NO_CHUNK
    }
}

/// One live worker: what it showed last, and since when.
struct Watch {
    seen: Signature,
    since: Instant,
}

pub(super) struct Watchdog {
    /// `None`: the watchdog is off (`--stall-timeout 0`).
    floor: Option<Duration>,
    watches: Vec<Option<Watch>>,
    longest_quiet: Duration,
    last_tick: Option<Instant>,
}

impl Watchdog {
    pub fn new(floor: Option<Duration>, slots: usize) -> Watchdog {
        Watchdog {
            floor: floor.filter(|f| !f.is_zero()),
            watches: (0..slots).map(|_| None).collect(),
            longest_quiet: Duration::ZERO,
            last_tick: None,
        }
    }

    /// How long a worker may now hold a chunk without progress; `None` when off.
    pub fn timeout(&self) -> Option<Duration> {
        self.floor
            .map(|floor| floor.max(self.longest_quiet.saturating_mul(STALL_MULTIPLE)))
    }

    /// Called once per coordinator loop, before any `observe`: a long gap since the previous
    /// tick was the coordinator's absence, not the workers' silence.
    pub fn tick(&mut self, now: Instant) {
        if let Some(last) = self.last_tick {
            let gap = now.saturating_duration_since(last);
            if gap > ABSENCE {
                for watch in self.watches.iter_mut().flatten() {
                    watch.since += gap;
                }
            }
        }
        self.last_tick = Some(now);
    }

    /// A worker was started in `slot`, which shows `sig` (possibly its predecessor's chunk):
    /// its quiet time counts from now.
    pub fn start(&mut self, slot: usize, sig: Signature, now: Instant) {
        self.watches[slot] = Some(Watch {
            seen: sig,
            since: now,
        });
    }

    /// The worker in `slot` is gone.
    pub fn stop(&mut self, slot: usize) {
        self.watches[slot] = None;
    }

    /// Notes what `slot` shows now; `Some(waited)` when its worker is stalled: it holds a
    /// chunk and has shown nothing new for the timeout.
    pub fn observe(&mut self, slot: usize, sig: Signature, now: Instant) -> Option<Duration> {
        let watch = self.watches[slot].as_mut()?;
        if sig != watch.seen {
            if watch.seen.holds_chunk() {
                let spell = now.saturating_duration_since(watch.since);
                self.longest_quiet = self.longest_quiet.max(spell);
            }
            *watch = Watch {
                seen: sig,
                since: now,
            };
            return None;
        }
        let waited = now.saturating_duration_since(watch.since);
        let timeout = self.timeout()?;
        (sig.holds_chunk() && waited >= timeout).then_some(waited)
    }

    /// How long the worker in `slot` has held its chunk without progress (zero without one).
    pub fn quiet(&self, slot: usize, now: Instant) -> Duration {
        match &self.watches[slot] {
            Some(w) if w.seen.holds_chunk() => now.saturating_duration_since(w.since),
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(chunk: u64, bytes: u64) -> Signature {
        Signature {
            chunk,
            bytes,
            records: 0,
            matches: 0,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// A watchdog whose coordinator ticks every 20 ms from `t0` to `t0 + until`, with the
    /// worker in slot 0 showing `show(t)` at each tick; returns when it was first stalled.
    fn run(
        dog: &mut Watchdog,
        t0: Instant,
        until: Duration,
        show: impl Fn(Duration) -> Signature,
    ) -> Option<Duration> {
        let step = Duration::from_millis(20);
        let mut t = Duration::ZERO;
        while t <= until {
            dog.tick(t0 + t);
            if dog.observe(0, show(t), t0 + t).is_some() {
                return Some(t);
            }
            t += step;
        }
        None
    }

    #[test]
    fn a_worker_holding_a_chunk_without_progress_is_stalled_at_the_floor() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(secs(2)), 1);
        dog.start(0, sig(NO_CHUNK, 0), t0);
        assert_eq!(run(&mut dog, t0, secs(10), |_| sig(3, 0)), Some(secs(2)));
        assert_eq!(dog.quiet(0, t0 + secs(3)), secs(3));
    }

    #[test]
    fn an_idle_worker_or_a_moving_one_is_never_stalled() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(secs(2)), 1);
        dog.start(0, sig(NO_CHUNK, 0), t0);
        assert_eq!(run(&mut dog, t0, secs(10), |_| sig(NO_CHUNK, 0)), None);
        assert_eq!(dog.quiet(0, t0 + secs(10)), Duration::ZERO);
        // Bytes move every second (a streamed unit): never quiet for 2 s.
        assert_eq!(run(&mut dog, t0, secs(10), |t| sig(3, t.as_secs())), None);
        let mut off = Watchdog::new(None, 1);
        off.start(0, sig(3, 0), t0);
        assert_eq!(run(&mut off, t0, secs(10), |_| sig(3, 0)), None);
        assert_eq!(off.timeout(), None);
        assert_eq!(Watchdog::new(Some(Duration::ZERO), 1).timeout(), None);
    }

    #[test]
    fn a_slow_chunk_that_finished_raises_the_timeout_to_its_multiple() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(secs(2)), 1);
        dog.start(0, sig(NO_CHUNK, 0), t0);
        // Chunk 1 takes 4 s, then chunk 2 never moves.
        let show = |t: Duration| {
            if t < secs(4) {
                sig(1, 0)
            } else {
                sig(2, 100)
            }
        };
        // Chunk 1 itself is caught at the floor: nothing had finished yet.
        assert_eq!(run(&mut dog, t0, secs(10), show), Some(secs(2)));
        let mut dog = Watchdog::new(Some(secs(5)), 1);
        dog.start(0, sig(NO_CHUNK, 0), t0);
        let stalled = run(&mut dog, t0, secs(60), show).expect("chunk 2 stalls");
        assert_eq!(dog.timeout(), Some(secs(40)), "10 x the 4 s chunk 1 took");
        assert_eq!(stalled, secs(4 + 40));
    }

    #[test]
    fn a_fresh_worker_in_a_slot_showing_its_predecessors_chunk_starts_from_zero() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(secs(2)), 1);
        dog.start(0, sig(5, 7), t0);
        assert_eq!(dog.observe(0, sig(5, 7), t0 + secs(3)), Some(secs(3)));
        dog.stop(0);
        assert_eq!(dog.observe(0, sig(5, 7), t0 + secs(9)), None, "not watched");
        dog.start(0, sig(5, 7), t0 + secs(9));
        assert_eq!(dog.observe(0, sig(5, 7), t0 + secs(10)), None);
        assert_eq!(dog.quiet(0, t0 + secs(10)), secs(1));
    }

    #[test]
    fn time_the_coordinator_did_not_run_is_not_held_against_workers() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(secs(2)), 1);
        dog.tick(t0);
        dog.start(0, sig(3, 0), t0);
        // The coordinator was stopped for a minute (Ctrl-Z, then fg).
        dog.tick(t0 + secs(60));
        assert_eq!(dog.observe(0, sig(3, 0), t0 + secs(60)), None);
        assert_eq!(dog.quiet(0, t0 + secs(60)), Duration::ZERO);
        dog.tick(t0 + secs(61));
        assert_eq!(dog.observe(0, sig(3, 0), t0 + secs(61)), None);
        // Ticking normally again, the worker is caught 2 s after the coordinator came back.
        let mut t = secs(61);
        while t < secs(62) {
            t += Duration::from_millis(20);
            dog.tick(t0 + t);
        }
        assert_eq!(dog.observe(0, sig(3, 0), t0 + t), Some(t - secs(60)));
    }
}
