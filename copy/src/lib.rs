//! `fleet copy`: a parallel, faithful, interruption-safe copy of one directory tree into another
//! (as `cp -a SRC/. DST`).
//!
//! One thread walks SRC ([`plan`]), creating directories in DST as it goes and feeding a
//! bounded queue; workers take files and symlinks from it and copy them ([`file`]), each into
//! a hidden temporary name in its destination folder that is renamed only when complete, so an
//! interrupted copy never leaves a partial file under a real name. Files of 64 MiB and more
//! are split into ranges that several workers copy at once into the same pre-sized temporary.
//! When the queue is drained, hard links are made to their already complete first copies and
//! directory modes and times are set, deepest first ([`meta`]); `--verify` then hashes both
//! sides of every copied file ([`verify`]). The threads run as a crew on a thread of their
//! own ([`crew`]) while the calling thread reports progress and watches them ([`watch`]): a
//! thread that holds one file without progress for the stall timeout ends the copy with an
//! error naming that file.
//!
//! Preserved: contents, permission bits (including setuid/setgid/sticky), access and
//! modification times (to the nanosecond), symlinks (as links, same target text), hard links
//! within SRC, empty files and directories, and owner/group only when running as root.
//! Not preserved: extended attributes, ACLs, file flags, sparseness (holes are written out),
//! and owner/group when not root. Copies are not fsync'ed (as with `cp`).

mod crew;
mod error;
mod file;
mod meta;
mod plan;
mod temp;
mod verify;
mod watch;

use crew::Ticks;
pub use error::{CopyError, EntryError};
use watch::{Lane, Watchdog};
pub use watch::{DEFAULT_STALL_TIMEOUT, STALL_MULTIPLE};

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Test-only knob, `BYTES` or `BYTES:PATH`: copying blocks once this many bytes have been
/// copied in total, for good (so tests can kill a copy that is provably mid-way, or see the
/// stall watchdog name the file) or until PATH exists (so tests can change the source at a
/// known point, e.g. make a queued file vanish).
pub const STALL_ENV: &str = "FLEET_TEST_COPY_STALL_AFTER";

/// The parsed [`STALL_ENV`] knob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    pub after: u64,
    pub until_exists: Option<PathBuf>,
}

/// Files at least this large are split into ranges copied by several workers at once.
pub const DEFAULT_SPLIT_THRESHOLD: u64 = 64 << 20;
/// The size of those ranges.
pub const DEFAULT_RANGE_SIZE: u64 = 32 << 20;

/// How often the caller's progress callback runs (about 13 times a second).
const TICK: Duration = Duration::from_millis(75);
/// Queue depth between the walk and the workers: deep enough that the walk runs well ahead
/// (so totals and ETA settle early), bounded so a huge tree does not sit in memory.
const QUEUE: usize = 65_536;

#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub workers: usize,
    /// Copy what symlinks point to instead of the links.
    pub dereference: bool,
    /// Replace files that exist in DST (otherwise they are skipped).
    pub overwrite: bool,
    /// Skip files whose size and mtime (and with `verify`, content) match; replace others.
    pub resume: bool,
    /// Hash source and destination of every copied file afterwards.
    pub verify: bool,
    /// Walk and list what would be copied; write nothing.
    pub dry_run: bool,
    pub split_threshold: u64,
    pub range_size: u64,
    /// See [`STALL_ENV`].
    pub stall_after: Option<Stall>,
    /// Set asynchronously (Ctrl-C): workers stop between pieces, remove their temporaries,
    /// and the copy returns [`CopyError::Interrupted`].
    pub interrupt: Option<&'static AtomicBool>,
    /// The least time a thread may hold a file without progress before the copy ends naming
    /// it (longer when pieces are slow: see `watch.rs`); `None` never.
    pub stall_timeout: Option<Duration>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            workers: default_workers(),
            dereference: false,
            overwrite: false,
            resume: false,
            verify: false,
            dry_run: false,
            split_threshold: DEFAULT_SPLIT_THRESHOLD,
            range_size: DEFAULT_RANGE_SIZE,
            stall_after: None,
            interrupt: None,
            stall_timeout: Some(DEFAULT_STALL_TIMEOUT),
        }
    }
}

/// Copying is bound by I/O latency and per-file syscalls (open, create, rename, chmod,
/// utimens), not by CPU: on SSDs more requests in flight than cores keeps the device queue
/// full while some threads wait in the kernel, hence twice the cores and never fewer than 4.
pub fn default_workers() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (2 * cores).max(4)
}

/// Reads [`STALL_ENV`].
pub fn stall_after_from_env() -> Result<Option<Stall>, CopyError> {
    let Ok(value) = std::env::var(STALL_ENV) else {
        return Ok(None);
    };
    let (bytes, until) = match value.split_once(':') {
        Some((b, p)) => (b, Some(PathBuf::from(p))),
        None => (value.as_str(), None),
    };
    match bytes.trim().parse() {
        Ok(after) => Ok(Some(Stall {
            after,
            until_exists: until,
        })),
        Err(_) => Err(CopyError::StallKnob { value }),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    #[default]
    Copying,
    Verifying,
}

/// A snapshot for progress display, taken by the calling thread ~13 times a second.
#[derive(Debug, Clone, Default)]
pub struct CopyProgress {
    pub phase: Phase,
    pub bytes_done: u64,
    /// Grows while the walk is running (see `walk_done`).
    pub bytes_total: u64,
    pub files_done: u64,
    pub files_total: u64,
    pub walk_done: bool,
    /// Relative paths being copied right now.
    pub in_flight: Vec<PathBuf>,
    /// The file held longest without progress (relative path) and for how long.
    pub quietest: Option<(PathBuf, Duration)>,
    /// How long a file may now be held without progress before the copy ends.
    pub stall_timeout: Option<Duration>,
    /// Failures since the previous snapshot, one line each.
    pub new_failures: Vec<String>,
    pub verify_bytes_done: u64,
    pub verify_bytes_total: u64,
}

#[derive(Debug, Default)]
pub struct CopyReport {
    /// Regular files copied (hard links not included).
    pub files: u64,
    pub bytes: u64,
    /// Directories below DST's root created or updated.
    pub dirs: u64,
    pub symlinks: u64,
    pub hard_links: u64,
    /// Entries that existed in DST and were left alone (no `--overwrite`).
    pub skipped_existing: u64,
    /// Entries that already matched (`--resume`).
    pub unchanged: u64,
    pub failures: Vec<EntryError>,
    /// Copied files whose content differs from the source after copying (`--verify`).
    pub mismatches: Vec<PathBuf>,
    pub verified_files: u64,
    pub verified_bytes: u64,
    /// `--dry-run`: relative paths that would be copied, in walk order.
    pub would_copy: Vec<PathBuf>,
    pub copy_time: Duration,
    pub verify_time: Duration,
}

/// What happened to one entry that did not fail.
pub(crate) enum Done {
    Copied,
    Symlink,
    Skipped,
    Unchanged,
}

/// The work the walk hands to workers.
pub(crate) enum Task {
    File(PathBuf),
    Symlink(PathBuf),
    Range {
        big: Arc<file::BigFile>,
        offset: u64,
        len: u64,
    },
}

/// State shared by the walk, the workers and the calling thread.
pub(crate) struct Copier {
    opts: CopyOptions,
    src_root: PathBuf,
    dst_root: PathBuf,
    as_root: bool,
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
    files_done: AtomicU64,
    files_total: AtomicU64,
    walk_done: AtomicBool,
    symlinks: AtomicU64,
    skipped: AtomicU64,
    unchanged: AtomicU64,
    verify_done: AtomicU64,
    verify_total: AtomicU64,
    temp_seq: AtomicU64,
    /// Set after the first failed FICLONE so later files do not pay for the attempt.
    no_reflink: AtomicBool,
    /// One per copying (or verifying) thread.
    lanes: Vec<Lane>,
    /// The walk's own work (large files it prepares); not watched.
    walk_lane: Lane,
    /// Set when the copy gives up (a stall): the walk and the workers stop taking work.
    stopped: AtomicBool,
    /// Large files prepared and not yet complete, and its wake-up for the walk.
    big_open: Mutex<usize>,
    big_freed: Condvar,
    failures: Mutex<Vec<EntryError>>,
    /// Relative paths of the regular files copied in this run, for `--verify`.
    copied: Mutex<Vec<PathBuf>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Copier {
    fn new(opts: &CopyOptions, src_root: PathBuf, dst_root: PathBuf) -> Self {
        Copier {
            opts: opts.clone(),
            src_root,
            dst_root,
            // SAFETY: geteuid has no preconditions and cannot fail.
            as_root: unsafe { libc::geteuid() } == 0,
            bytes_done: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            files_done: AtomicU64::new(0),
            files_total: AtomicU64::new(0),
            walk_done: AtomicBool::new(false),
            symlinks: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            unchanged: AtomicU64::new(0),
            verify_done: AtomicU64::new(0),
            verify_total: AtomicU64::new(0),
            temp_seq: AtomicU64::new(0),
            no_reflink: AtomicBool::new(false),
            lanes: (0..opts.workers.max(1)).map(|_| Lane::default()).collect(),
            walk_lane: Lane::default(),
            stopped: AtomicBool::new(false),
            big_open: Mutex::new(0),
            big_freed: Condvar::new(),
            failures: Mutex::new(Vec::new()),
            copied: Mutex::new(Vec::new()),
        }
    }

    fn big_limit(&self) -> usize {
        2 * self.opts.workers.max(1) + 1
    }

    pub(crate) fn try_acquire_big(&self) -> bool {
        let mut open = lock(&self.big_open);
        if *open < self.big_limit() {
            *open += 1;
            return true;
        }
        false
    }

    pub(crate) fn acquire_big(&self) {
        let mut open = lock(&self.big_open);
        // After Ctrl-C the files that would free a place may never finish: stop waiting.
        while *open >= self.big_limit() && !self.stopped() {
            open = self
                .big_freed
                .wait_timeout(open, TICK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *open += 1;
    }

    pub(crate) fn release_big(&self) {
        let mut open = lock(&self.big_open);
        *open = open.saturating_sub(1);
        self.big_freed.notify_one();
    }

    /// The caller asked the copy to stop (Ctrl-C).
    pub(crate) fn interrupted(&self) -> bool {
        self.opts
            .interrupt
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    pub(crate) fn fail(&self, err: EntryError) {
        lock(&self.failures).push(err);
    }

    /// The walk and the workers stop taking work: the copy gave up on a stall, or Ctrl-C.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed) || self.interrupted()
    }

    /// Counts bytes copied by `lane`'s thread; with the stall knob, blocks the thread past the
    /// limit (for good, or until the knob's file exists).
    pub(crate) fn add_bytes(&self, lane: &Lane, n: u64) {
        lane.step();
        let total = self.bytes_done.fetch_add(n, Ordering::Relaxed) + n;
        let Some(stall) = self.opts.stall_after.as_ref().filter(|s| total >= s.after) else {
            return;
        };
        // Test-only: polling is fine for a knob no user sets. Ctrl-C still ends the wait.
        while !self.stopped() {
            match &stall.until_exists {
                Some(path) if path.exists() => return,
                _ => std::thread::park_timeout(std::time::Duration::from_millis(5)),
            }
        }
    }

    pub(crate) fn record(&self, rel: &Path, result: Result<Done, EntryError>) {
        match result {
            Ok(Done::Copied) => {
                self.files_done.fetch_add(1, Ordering::Relaxed);
                lock(&self.copied).push(rel.to_path_buf());
            }
            Ok(Done::Symlink) => {
                self.symlinks.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Done::Skipped) => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Done::Unchanged) => {
                self.unchanged.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self.fail(e),
        }
    }

    fn snapshot(
        &self,
        phase: Phase,
        failures_seen: &mut usize,
        watchdog: &Watchdog,
    ) -> CopyProgress {
        let mut in_flight: Vec<PathBuf> = self.lanes.iter().filter_map(Lane::file).collect();
        in_flight.dedup();
        let failures = lock(&self.failures);
        let new_failures = failures[(*failures_seen).min(failures.len())..]
            .iter()
            .map(ToString::to_string)
            .collect();
        *failures_seen = failures.len();
        drop(failures);
        let bytes_done = self.bytes_done.load(Ordering::Relaxed);
        CopyProgress {
            phase,
            bytes_done,
            bytes_total: self.bytes_total.load(Ordering::Relaxed).max(bytes_done),
            files_done: self.files_done.load(Ordering::Relaxed),
            files_total: self.files_total.load(Ordering::Relaxed),
            walk_done: self.walk_done.load(Ordering::Relaxed),
            in_flight,
            quietest: watchdog.quietest(Instant::now()),
            stall_timeout: watchdog.timeout(),
            new_failures,
            verify_bytes_done: self.verify_done.load(Ordering::Relaxed),
            verify_bytes_total: self.verify_total.load(Ordering::Relaxed),
        }
    }
}

/// Copies the contents of `src` into `dst`. Refusals, an uncreatable `dst` and a stall are
/// `Err`; everything that goes wrong with single entries is in the report's `failures`.
pub fn run_copy(
    src: &Path,
    dst: &Path,
    opts: &CopyOptions,
    progress: &dyn Fn(&CopyProgress),
) -> Result<CopyReport, CopyError> {
    let started = Instant::now();
    let (src_root, dst_root) = plan::roots(src, dst, opts.dry_run)?;
    let copier = Arc::new(Copier::new(opts, src_root, dst_root));
    let mut watchdog = Watchdog::new(opts.stall_timeout);
    let mut failures_seen = 0;
    if opts.dry_run {
        let mut would_copy = Vec::new();
        plan::walk(&copier, &|_| true, Some(&mut would_copy));
        progress(&copier.snapshot(Phase::Copying, &mut failures_seen, &watchdog));
        return Ok(CopyReport {
            would_copy,
            failures: std::mem::take(&mut *lock(&copier.failures)),
            copy_time: started.elapsed(),
            ..CopyReport::default()
        });
    }

    let (tx, rx) = mpsc::sync_channel::<Task>(QUEUE);
    let rx = Mutex::new(rx);
    // The walk takes the only sender: the queue closes when the walk ends.
    let tx = Mutex::new(Some(tx));
    let crew = Arc::clone(&copier);
    let mut ticks = Ticks::new(&copier, &mut watchdog, &mut failures_seen, progress);
    let walked = ticks.run(
        Phase::Copying,
        // The walk's thread plus the workers.
        opts.workers.max(1) + 1,
        move |i| {
            if i == 0 {
                let tx = lock(&tx).take();
                let send =
                    |task| !crew.stopped() && tx.as_ref().is_some_and(|tx| tx.send(task).is_ok());
                let walked = plan::walk(&crew, &send, None);
                crew.walk_done.store(true, Ordering::Relaxed);
                Some(walked)
            } else {
                worker(&crew, &rx, i - 1);
                None
            }
        },
    )?;
    let walked = walked.into_iter().flatten().next().unwrap_or_default();
    if copier.interrupted() {
        // Every temporary was removed by its guard as its worker gave up.
        return Err(CopyError::Interrupted);
    }

    let mut hard_links = 0;
    for (rel, first) in &walked.links {
        match meta::hard_link(&copier, rel, first) {
            Ok(Done::Copied) => hard_links += 1,
            other => copier.record(rel, other),
        }
    }
    for (rel, m) in walked.dirs.iter().rev() {
        if let Err(e) = meta::apply_to_dir(&copier.dst_root.join(rel), m, copier.as_root) {
            copier.fail(EntryError::write(copier.dst_root.join(rel), e));
        }
    }
    let copy_time = started.elapsed();
    ticks.report(Phase::Copying);

    let copied = std::mem::take(&mut *lock(&copier.copied));
    let mut report = CopyReport {
        files: copied.len() as u64,
        bytes: copier.bytes_done.load(Ordering::Relaxed),
        dirs: walked.dirs.len().saturating_sub(1) as u64,
        symlinks: copier.symlinks.load(Ordering::Relaxed),
        hard_links,
        skipped_existing: copier.skipped.load(Ordering::Relaxed),
        unchanged: copier.unchanged.load(Ordering::Relaxed),
        copy_time,
        ..CopyReport::default()
    };
    if opts.verify && !copied.is_empty() {
        let verify_started = Instant::now();
        let outcome = verify::verify_all(&mut ticks, copied)?;
        report.mismatches = outcome.mismatches;
        report.verified_files = outcome.files;
        report.verified_bytes = outcome.bytes;
        for e in outcome.errors {
            copier.fail(e);
        }
        report.verify_time = verify_started.elapsed();
        ticks.report(Phase::Verifying);
        if copier.interrupted() {
            return Err(CopyError::Interrupted);
        }
    }
    report.failures = std::mem::take(&mut *lock(&copier.failures));
    Ok(report)
}

fn worker(copier: &Copier, rx: &Mutex<Receiver<Task>>, lane: usize) {
    let lane = &copier.lanes[lane.min(copier.lanes.len() - 1)];
    loop {
        let task = match lock(rx).recv() {
            Ok(task) => task,
            Err(_) => return,
        };
        if copier.stopped() && !matches!(task, Task::Range { .. }) {
            // Drained, not done: the walk stops sending, and the queue must empty. A range
            // still goes through `copy_big_range`, which gives up at once but lets the last
            // range of its file remove the temporary and free the file's place.
            continue;
        }
        match task {
            Task::File(rel) => {
                lane.begin(&rel);
                let result = file::copy_file(copier, &rel, lane);
                copier.record(&rel, result);
            }
            Task::Symlink(rel) => {
                lane.begin(&rel);
                let result = meta::copy_symlink(copier, &rel);
                copier.record(&rel, result);
            }
            Task::Range { big, offset, len } => {
                lane.begin(&big.rel);
                file::copy_big_range(copier, &big, offset, len, lane);
            }
        }
        lane.end();
    }
}

/// Opens a file for reading, naming it in the error.
pub(crate) fn open_source(path: &Path) -> Result<File, EntryError> {
    File::open(path).map_err(|e| EntryError::read(path.to_path_buf(), e))
}
