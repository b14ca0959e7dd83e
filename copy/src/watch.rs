//! The stall watchdog of `fleet copy`: each copying (or verifying) thread works in a [`Lane`]
//! that names the file it is on and counts its steps (a task begun or ended, a piece copied or
//! hashed). The calling thread's [`Watchdog`] looks at the lanes at every progress tick; a lane
//! that holds a file and has not stepped for the timeout is stalled, and the copy ends naming
//! that file (a thread stuck in a read cannot be stopped, so it is abandoned).
//!
//! The timeout is `max(floor, STALL_MULTIPLE x the longest quiet spell seen so far)`, the rule
//! of the job engine's watchdog (`fleet-engine`'s `job/watchdog.rs`): a quiet spell is a time a
//! lane held a file without a step and then made one. Steps come at least every 8 MiB piece,
//! so the floor ([`DEFAULT_STALL_TIMEOUT`], `--stall-timeout`) only has to outlast one piece
//! on the slowest device in use, and the multiple covers a device slower than that. A time
//! when the calling thread itself did not tick is not held against the lanes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default floor: 120 s without one 8 MiB piece done (under 70 KB/s) is a read or write
/// that does not return (a hung network mount, a dead disk), not a slow device.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(120);

/// How many times the longest quiet spell seen so far a lane may stay quiet.
pub const STALL_MULTIPLE: u32 = 10;

/// A gap this long between two ticks means the calling thread did not run: forgiven.
const ABSENCE: Duration = Duration::from_secs(1);

/// One thread's work as the watchdog sees it.
#[derive(Default)]
pub(crate) struct Lane {
    /// The relative path of the file it is on.
    file: Mutex<Option<PathBuf>>,
    steps: AtomicU64,
}

impl Lane {
    pub(crate) fn begin(&self, rel: &Path) {
        *super::lock(&self.file) = Some(rel.to_path_buf());
        self.step();
    }

    pub(crate) fn end(&self) {
        *super::lock(&self.file) = None;
        self.step();
    }

    /// Some progress: a piece copied or hashed.
    pub(crate) fn step(&self) {
        self.steps.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn file(&self) -> Option<PathBuf> {
        super::lock(&self.file).clone()
    }
}

/// What a lane showed last, and since when.
struct Watch {
    steps: u64,
    file: Option<PathBuf>,
    since: Instant,
}

pub(crate) struct Watchdog {
    /// `None`: off (`--stall-timeout 0`).
    floor: Option<Duration>,
    watches: Vec<Option<Watch>>,
    longest_quiet: Duration,
    last_tick: Option<Instant>,
}

impl Watchdog {
    pub(crate) fn new(floor: Option<Duration>) -> Watchdog {
        Watchdog {
            floor: floor.filter(|f| !f.is_zero()),
            watches: Vec::new(),
            longest_quiet: Duration::ZERO,
            last_tick: None,
        }
    }

    /// How long a lane may now hold a file without a step; `None` when off.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.floor
            .map(|floor| floor.max(self.longest_quiet.saturating_mul(STALL_MULTIPLE)))
    }

    /// A new set of threads starts on `lanes`: each is watched from now.
    pub(crate) fn restart(&mut self, lanes: &[Lane], now: Instant) {
        self.watches = lanes
            .iter()
            .map(|lane| {
                Some(Watch {
                    steps: lane.steps.load(Ordering::Relaxed),
                    file: lane.file(),
                    since: now,
                })
            })
            .collect();
        self.last_tick = Some(now);
    }

    /// Looks at every lane; the file of one that is stalled and how long it waited.
    pub(crate) fn check(&mut self, lanes: &[Lane], now: Instant) -> Option<(PathBuf, Duration)> {
        if let Some(last) = self.last_tick {
            let gap = now.saturating_duration_since(last);
            if gap > ABSENCE {
                for watch in self.watches.iter_mut().flatten() {
                    watch.since += gap;
                }
            }
        }
        self.last_tick = Some(now);
        let timeout = self.timeout();
        let mut stalled = None;
        for (lane, watch) in lanes.iter().zip(self.watches.iter_mut()) {
            let Some(watch) = watch else {
                continue;
            };
            let steps = lane.steps.load(Ordering::Relaxed);
            if steps != watch.steps {
                if watch.file.is_some() {
                    let spell = now.saturating_duration_since(watch.since);
                    self.longest_quiet = self.longest_quiet.max(spell);
                }
                *watch = Watch {
                    steps,
                    file: lane.file(),
                    since: now,
                };
                continue;
            }
            let waited = now.saturating_duration_since(watch.since);
            if let (Some(file), Some(timeout)) = (&watch.file, timeout) {
                if waited >= timeout && stalled.is_none() {
                    stalled = Some((file.clone(), waited));
                }
            }
        }
        stalled
    }

    /// The file held longest without a step, and for how long (as of the last `check`).
    pub(crate) fn quietest(&self, now: Instant) -> Option<(PathBuf, Duration)> {
        self.watches
            .iter()
            .flatten()
            .filter_map(|w| Some((w.file.clone()?, now.saturating_duration_since(w.since))))
            .max_by_key(|(_, quiet)| *quiet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// Checks every 75 ms from `t0` until `until`, calling `act(t)` first; when it stalled.
    fn run(
        dog: &mut Watchdog,
        lanes: &[Lane],
        t0: Instant,
        until: Duration,
        act: impl Fn(Duration),
    ) -> Option<(PathBuf, Duration)> {
        let mut t = Duration::ZERO;
        while t <= until {
            act(t);
            if let Some(found) = dog.check(lanes, t0 + t) {
                return Some(found);
            }
            t += Duration::from_millis(75);
        }
        None
    }

    #[test]
    fn a_lane_on_a_file_without_steps_is_stalled_and_the_file_named() {
        let lanes = [Lane::default(), Lane::default()];
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(secs(2)));
        dog.restart(&lanes, t0);
        lanes[0].begin(Path::new("a/stuck.csv"));
        // Lane 1 steps at every tick, on file after file.
        let found = run(&mut dog, &lanes, t0, secs(10), |t| {
            lanes[1].begin(Path::new(&format!("f{}", t.as_millis())));
        });
        let (file, waited) = found.expect("lane 0 stalls");
        assert_eq!(file, Path::new("a/stuck.csv"));
        assert!(waited >= secs(2) && waited < secs(3), "{waited:?}");
        let (quiet_file, _) = dog.quietest(t0 + secs(3)).expect("a file is held");
        assert_eq!(quiet_file, Path::new("a/stuck.csv"));
    }

    #[test]
    fn idle_lanes_and_an_off_watchdog_never_stall() {
        let lanes = [Lane::default()];
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(secs(2)));
        dog.restart(&lanes, t0);
        assert_eq!(run(&mut dog, &lanes, t0, secs(10), |_| {}), None);
        assert_eq!(dog.quietest(t0 + secs(10)), None);
        let mut off = Watchdog::new(None);
        off.restart(&lanes, t0);
        lanes[0].begin(Path::new("x"));
        assert_eq!(run(&mut off, &lanes, t0, secs(10), |_| {}), None);
    }

    #[test]
    fn a_slow_piece_raises_the_timeout_and_the_calling_threads_absence_is_forgiven() {
        let lanes = [Lane::default()];
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(secs(2)));
        dog.restart(&lanes, t0);
        lanes[0].begin(Path::new("slow"));
        assert_eq!(dog.check(&lanes, t0), None);
        // One piece takes a second.
        lanes[0].step();
        assert_eq!(dog.check(&lanes, t0 + Duration::from_millis(1000)), None);
        assert_eq!(dog.timeout(), Some(secs(10)), "10 x the 1 s piece");
        // No tick for a minute: the calling thread was away.
        assert_eq!(dog.check(&lanes, t0 + secs(61)), None);
        let found = run(&mut dog, &lanes, t0 + secs(61), secs(20), |_| {});
        assert!(found.is_some_and(|(_, waited)| waited >= secs(10)));
    }
}
