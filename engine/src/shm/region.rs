//! The one shared-memory region of a job: created by the coordinator before any worker
//! starts, inherited by forked workers (and simply shared by threads).
//!
//! It is a memfd mapped `MAP_SHARED`: anonymous, so nothing is named in `/dev/shm` and nothing
//! can leak when the coordinator is killed (the kernel frees it with the last mapping).
//!
//! Layout (every part 64-byte aligned, all zero at creation):
//!
//! | part | type | who writes | guarded by |
//! |---|---|---|---|
//! | header | [`RegionHeader`]: lock, commit journal, chunk cursor, stop flag, totals | workers at claim/commit, coordinator | lock (stop: atomic) |
//! | slots | [`WorkerSlot`] × slots: progress counters, current chunk, spill length | its worker; coordinator reads | atomics; spill length by lock |
//! | chunks | [`ChunkSlot`] × chunks: state, owner, start, attempts, outcome, output place | worker at claim/commit, coordinator for re-runs | lock (state also atomic for lock-free polling) |
//! | accumulators | `u64` words laid out by the job's task (agg: one cell per dense group key) | worker at commit, coordinator to undo a wrong start | lock |
//! | undo log | `u64` words: entries `[first word, length, old words...]` | worker at commit | lock |
//!
//! Commit protocol (exactly once, even if a worker dies in the middle): under the lock the
//! worker writes the journal (chunk + old totals), updates the totals, folds its chunk into
//! the accumulators (saving each range's old words to the undo log, and only then bumping the
//! journal's log length, before changing them), writes the chunk's outcome and output place,
//! sets the chunk `DONE`, clears the journal. Whoever next takes the lock after a death
//! (`EOWNERDEAD`) rolls back a journal whose chunk is not `DONE`: old totals, and every logged
//! range's old words.

use crate::scan::outcome::ChunkOutcome;
use crate::shm::lock::{LockGuard, RobustMutex};
use crate::shm::shared::{SharedArray, SharedValue};
use memmap2::MmapMut;
use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

pub const CHUNK_PENDING: u32 = 0;
pub const CHUNK_RUNNING: u32 = 1;
pub const CHUNK_DONE: u32 = 2;
/// The worker could not read the chunk's file; `ChunkSlot::failure` says why.
pub const CHUNK_FAILED: u32 = 3;

/// "No chunk" in `WorkerSlot::current`.
pub const NO_CHUNK: u64 = u64::MAX;

/// Totals of all committed chunks: the job-wide `Value`s.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub records: u64,
    pub matches: u64,
    pub malformed: u64,
}

impl Totals {
    pub fn plus(self, o: &ChunkOutcome) -> Totals {
        Totals {
            records: self.records + o.records,
            matches: self.matches + o.matches,
            malformed: self.malformed + o.malformed,
        }
    }

    pub fn minus(self, o: &ChunkOutcome) -> Totals {
        Totals {
            records: self.records - o.records,
            matches: self.matches - o.matches,
            malformed: self.malformed - o.malformed,
        }
    }
}

/// Undo record for one commit in progress.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Journal {
    pub active: bool,
    pub chunk: u64,
    pub old_totals: Totals,
    /// Words of the undo log written by this commit.
    pub undo_len: u64,
}

#[repr(C, align(64))]
pub struct RegionHeader {
    pub lock: RobustMutex,
    pub journal: SharedValue<Journal>,
    /// Next chunk never handed out yet.
    pub cursor: SharedValue<u64>,
    pub totals: SharedValue<Totals>,
    /// Set by the coordinator to make workers stop claiming (limit reached, error, Ctrl-C).
    pub stop: AtomicU32,
    /// Set by a worker that could not write its spill file (e.g. the temporary folder's disk
    /// is full): the errno, so the job reports that rather than blaming the input.
    pub spill_errno: AtomicI32,
}

#[repr(C, align(64))]
pub struct WorkerSlot {
    pub pid: AtomicI32,
    /// Chunk being scanned, or `NO_CHUNK`.
    pub current: AtomicU64,
    pub bytes: AtomicU64,
    pub records: AtomicU64,
    pub matches: AtomicU64,
    /// Committed length of this slot's spill file.
    pub spill_len: SharedValue<u64>,
}

#[repr(C, align(64))]
pub struct ChunkSlot {
    pub state: AtomicU32,
    /// Slot index of the worker that claimed it.
    pub worker: AtomicU32,
    /// Failed attempts so far (a crash re-run is allowed once).
    pub attempts: AtomicU32,
    /// Why the chunk failed (`CHUNK_FAILED`): a `job::ChunkFailure` as one word.
    pub failure: AtomicU64,
    /// Where scanning starts: the planned start, or the true record start after a re-plan.
    pub start: AtomicU64,
    pub outcome: SharedValue<ChunkOutcome>,
    /// The chunk's formatted output: `out_len` bytes at `out_offset` of slot `out_slot`'s spill.
    pub out_slot: SharedValue<u32>,
    pub out_offset: SharedValue<u64>,
}

pub struct SharedRegion {
    map: MmapMut,
    slots: usize,
    chunks: usize,
    slots_at: usize,
    chunks_at: usize,
    acc_at: usize,
    acc_words: usize,
    undo_at: usize,
    undo_words: usize,
}

// SAFETY: every field reachable through the region is an atomic, a robust mutex, or a
// SharedValue that requires the lock guard; the mapping itself never moves.
unsafe impl Sync for SharedRegion {}
// SAFETY: as above; the mapping is owned and may be dropped from any thread.
unsafe impl Send for SharedRegion {}

fn align64(n: usize) -> usize {
    n.div_ceil(64) * 64
}

impl SharedRegion {
    /// Creates the region for `slots` worker slots and `chunks` chunks, with `chunk_starts[i]`
    /// as the initial start of chunk `i`, and no accumulators.
    pub fn create(slots: usize, chunk_starts: &[u64]) -> io::Result<SharedRegion> {
        SharedRegion::create_with(slots, chunk_starts, 0, 0)
    }

    /// As [`SharedRegion::create`], plus `acc_words` zeroed accumulator words and an undo log
    /// of `undo_words` (room for every range one commit may change, plus two words each).
    pub fn create_with(
        slots: usize,
        chunk_starts: &[u64],
        acc_words: usize,
        undo_words: usize,
    ) -> io::Result<SharedRegion> {
        let chunks = chunk_starts.len();
        let slots_at = align64(std::mem::size_of::<RegionHeader>());
        let chunks_at = slots_at + align64(slots * std::mem::size_of::<WorkerSlot>());
        let acc_at = chunks_at + align64(chunks.max(1) * std::mem::size_of::<ChunkSlot>());
        let undo_at = acc_at + align64(acc_words * 8);
        let len = undo_at + undo_words * 8 + 8;
        // SAFETY: memfd_create with a static NUL-terminated name; the fd is checked below and
        // owned by the File from then on.
        let fd = unsafe { libc::memfd_create(c"fleet-region".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(len as u64)?;
        // SAFETY: the memfd is private to this job: no one else can truncate or write it
        // except through this mapping (and the forked copies of it).
        let mut map = unsafe { MmapMut::map_mut(&file)? };
        // SAFETY: the header sits at offset 0 of a fresh, zeroed, page-aligned mapping that is
        // large enough; no other thread or process can see it yet.
        let guarded = map.as_ptr() as usize..map.as_ptr() as usize + map.len();
        // SAFETY: as above.
        unsafe { RobustMutex::init(map.as_mut_ptr() as *mut RobustMutex, guarded)? };
        let region = SharedRegion {
            map,
            slots,
            chunks,
            slots_at,
            chunks_at,
            acc_at,
            acc_words,
            undo_at,
            undo_words,
        };
        for k in 0..slots {
            region.slot(k).current.store(NO_CHUNK, Ordering::Relaxed);
        }
        for (i, &start) in chunk_starts.iter().enumerate() {
            region.chunk(i).start.store(start, Ordering::Relaxed);
        }
        Ok(region)
    }

    pub fn header(&self) -> &RegionHeader {
        // SAFETY: offset 0 holds a RegionHeader (laid out by `create`, zero-initialised and
        // with its mutex initialised); zero is a valid value for every other field.
        unsafe { &*(self.map.as_ptr() as *const RegionHeader) }
    }

    pub fn slot_count(&self) -> usize {
        self.slots
    }

    pub fn chunk_count(&self) -> usize {
        self.chunks
    }

    pub fn slot(&self, k: usize) -> &WorkerSlot {
        assert!(k < self.slots, "worker slot {k} out of range");
        // SAFETY: in bounds (checked), 64-byte aligned, and all-zero bytes are a valid WorkerSlot.
        unsafe {
            &*(self
                .map
                .as_ptr()
                .add(self.slots_at + k * std::mem::size_of::<WorkerSlot>())
                as *const WorkerSlot)
        }
    }

    pub fn chunk(&self, i: usize) -> &ChunkSlot {
        assert!(i < self.chunks, "chunk {i} out of range");
        // SAFETY: in bounds (checked), 64-byte aligned; ChunkSlot's atomics are valid when
        // zero and its outcome is only read after a commit wrote it.
        unsafe {
            &*(self
                .map
                .as_ptr()
                .add(self.chunks_at + i * std::mem::size_of::<ChunkSlot>())
                as *const ChunkSlot)
        }
    }

    /// The task's accumulator words.
    pub fn accumulators(&self) -> SharedArray<'_, u64> {
        self.words(self.acc_at, self.acc_words)
    }

    fn undo_log(&self) -> SharedArray<'_, u64> {
        self.words(self.undo_at, self.undo_words)
    }

    fn words(&self, at: usize, len: usize) -> SharedArray<'_, u64> {
        // SAFETY: `create_with` sized the mapping for `len` words at the 64-byte aligned
        // offset `at`; SharedValue<u64> is repr(transparent) over UnsafeCell<u64>, all-zero
        // bytes are valid, and every access goes through SharedArray, which needs the lock.
        let cells = unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(at) as *const SharedValue<u64>, len)
        };
        SharedArray::new(cells)
    }

    /// A committing worker's view of the accumulators: every change is logged for undo.
    pub fn commit_view<'r, 'g>(&'r self, guard: &'r mut LockGuard<'g>) -> Accumulators<'r, 'g> {
        Accumulators {
            region: self,
            guard,
            logged: true,
        }
    }

    /// The coordinator's view: changes are not logged (its death ends the job anyway).
    pub fn plain_view<'r, 'g>(&'r self, guard: &'r mut LockGuard<'g>) -> Accumulators<'r, 'g> {
        Accumulators {
            region: self,
            guard,
            logged: false,
        }
    }

    /// Puts back every range the journal's commit logged, newest first.
    fn roll_back_accumulators(&self, guard: &mut LockGuard<'_>, undo_len: u64) {
        let log = self.undo_log();
        let acc = self.accumulators();
        let mut entries = Vec::new();
        let mut at = 0usize;
        while (at as u64) + 2 <= undo_len {
            let (Some(first), Some(len)) = (log.get(guard, at), log.get(guard, at + 1)) else {
                break;
            };
            entries.push((at + 2, first as usize, len as usize));
            at += 2 + len as usize;
        }
        for (from, first, len) in entries.into_iter().rev() {
            let mut old = vec![0u64; len];
            log.with_mut(guard, from..from + len, |w| old.copy_from_slice(w));
            acc.with_mut(guard, first..first + len, |w| w.copy_from_slice(&old));
        }
    }

    /// Takes the lock; if its previous owner died (or, on a thread, panicked) mid-commit, rolls
    /// that commit back first. A commit clears the journal before unlocking, so an active
    /// journal seen on entry always belongs to an interrupted commit.
    pub fn lock(&self) -> io::Result<LockGuard<'_>> {
        let header = self.header();
        let mut guard = header.lock.lock()?;
        let journal = header.journal.get(&guard);
        if journal.active {
            let chunk = self.chunk(journal.chunk as usize);
            if chunk.state.load(Ordering::Acquire) != CHUNK_DONE {
                header.totals.set(&guard, journal.old_totals);
                self.roll_back_accumulators(&mut guard, journal.undo_len);
            }
            header.journal.set(&guard, Journal::default());
        }
        Ok(guard)
    }
}

/// The accumulator words seen through the held lock; a committing worker's view logs the old
/// value of every range before changing it (see the commit protocol above).
pub struct Accumulators<'r, 'g> {
    region: &'r SharedRegion,
    guard: &'r mut LockGuard<'g>,
    logged: bool,
}

impl Accumulators<'_, '_> {
    pub fn len(&self) -> usize {
        self.region.acc_words
    }

    pub fn is_empty(&self) -> bool {
        self.region.acc_words == 0
    }

    /// Copies words `first..first + out.len()` into `out`; false when out of range.
    pub fn read(&mut self, first: usize, out: &mut [u64]) -> bool {
        self.region
            .accumulators()
            .with_mut(self.guard, first..first + out.len(), |w| {
                out.copy_from_slice(w)
            })
    }

    /// Changes words `first..first + len` in place with `f`, after logging their old values
    /// when this view is a commit's. False (and nothing changed) when out of range or when
    /// the undo log is full, which a task that sized its log correctly never sees.
    pub fn modify(&mut self, first: usize, len: usize, f: impl FnOnce(&mut [u64])) -> bool {
        let acc = self.region.accumulators();
        if first + len > acc.len() {
            return false;
        }
        if self.logged {
            let header = self.region.header();
            let mut journal = header.journal.get(self.guard);
            let at = journal.undo_len as usize;
            let log = self.region.undo_log();
            let mut old = vec![0u64; len];
            acc.with_mut(self.guard, first..first + len, |w| old.copy_from_slice(w));
            let saved = log.with_mut(self.guard, at..at + 2 + len, |entry| {
                entry[0] = first as u64;
                entry[1] = len as u64;
                entry[2..].copy_from_slice(&old);
            });
            if !saved {
                return false;
            }
            // Only a complete entry counts: a death before this line leaves the range unchanged.
            journal.undo_len = (at + 2 + len) as u64;
            header.journal.set(self.guard, journal);
        }
        acc.with_mut(self.guard, first..first + len, f)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Runs `child` in a forked process and returns its exit status.
    fn in_child(child: impl FnOnce() -> i32) -> i32 {
        // SAFETY: the child only touches the shared region and then `_exit`s.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = child();
            // SAFETY: leave the child without running the test harness's destructors.
            unsafe { libc::_exit(code) }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child with a valid status pointer.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        status
    }

    #[test]
    fn forked_workers_share_values_under_the_lock() {
        let region = SharedRegion::create(1, &[0]).unwrap();
        let pids: Vec<_> = (0..4)
            .map(|_| {
                // SAFETY: as in `in_child`; parents collect the children below.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    for _ in 0..1000 {
                        let guard = region.lock().unwrap();
                        region.header().totals.update(&guard, |t| Totals {
                            records: t.records + 1,
                            ..t
                        });
                    }
                    // SAFETY: child exit without destructors.
                    unsafe { libc::_exit(0) }
                }
                pid
            })
            .collect();
        for pid in pids {
            // SAFETY: our own children.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        }
        let guard = region.lock().unwrap();
        assert_eq!(region.header().totals.get(&guard).records, 4000);
    }

    #[test]
    fn a_dead_owner_is_recovered_and_its_half_commit_rolled_back() {
        let region = SharedRegion::create(1, &[0]).unwrap();
        {
            let guard = region.lock().unwrap();
            region.header().totals.set(
                &guard,
                Totals {
                    records: 10,
                    matches: 1,
                    malformed: 0,
                },
            );
        }
        let status = in_child(|| {
            let guard = region.lock().unwrap();
            let header = region.header();
            let old = header.totals.get(&guard);
            header.journal.set(
                &guard,
                Journal {
                    active: true,
                    chunk: 0,
                    old_totals: old,
                    ..Journal::default()
                },
            );
            header.totals.set(&guard, Totals { records: 99, ..old });
            // Die holding the lock, commit half done.
            std::mem::forget(guard);
            0
        });
        assert!(libc::WIFEXITED(status));
        let guard = region.lock().unwrap();
        assert!(guard.recovered(), "the lock must report its dead owner");
        assert_eq!(
            region.header().totals.get(&guard).records,
            10,
            "rolled back"
        );
        assert!(!region.header().journal.get(&guard).active);
    }

    #[test]
    fn a_death_mid_commit_restores_every_logged_accumulator_range() {
        let region = SharedRegion::create_with(1, &[0], 6, 6 + 2 * 3).unwrap();
        {
            let mut guard = region.lock().unwrap();
            let mut acc = region.plain_view(&mut guard);
            assert!(acc.modify(0, 6, |w| w.copy_from_slice(&[1, 2, 3, 4, 5, 6])));
        }
        let status = in_child(|| {
            let mut guard = region.lock().unwrap();
            let header = region.header();
            header.journal.set(
                &guard,
                Journal {
                    active: true,
                    chunk: 0,
                    ..Journal::default()
                },
            );
            let mut acc = region.commit_view(&mut guard);
            assert!(acc.modify(0, 2, |w| w[0] += 100));
            assert!(acc.modify(4, 2, |w| w[1] = 0));
            assert!(!acc.modify(5, 2, |_| {}), "out of range is refused");
            std::mem::forget(guard);
            0
        });
        assert!(libc::WIFEXITED(status));
        let mut guard = region.lock().unwrap();
        assert!(guard.recovered());
        let mut words = [0u64; 6];
        assert!(region.plain_view(&mut guard).read(0, &mut words));
        assert_eq!(words, [1, 2, 3, 4, 5, 6], "every change rolled back");
    }
}
