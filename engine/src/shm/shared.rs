//! Typed accumulators in the shared region, in the spirit of Python multiprocessing's `Value`
//! and `Array`: plain data that every worker process sees, read and written only while the
//! region's robust lock is held (the `&LockGuard` argument is the proof). Progress counters
//! that are read without the lock are plain atomics instead and live in the worker slots.

use crate::shm::lock::LockGuard;
use std::cell::UnsafeCell;

/// One value of plain data (`Copy`, no pointers) shared by all workers.
#[repr(transparent)]
pub struct SharedValue<T: Copy>(UnsafeCell<T>);

// SAFETY: access to the inner value requires a `LockGuard`, so it is serialised by the lock.
unsafe impl<T: Copy + Send> Sync for SharedValue<T> {}

impl<T: Copy> SharedValue<T> {
    pub fn get(&self, guard: &LockGuard<'_>) -> T {
        guard.check(self);
        // SAFETY: the guard proves this value's lock is held, so no one writes concurrently.
        unsafe { *self.0.get() }
    }

    pub fn set(&self, guard: &LockGuard<'_>, value: T) {
        guard.check(self);
        // SAFETY: the guard proves this value's lock is held, so this is the only access.
        unsafe { *self.0.get() = value }
    }

    pub fn update(&self, guard: &LockGuard<'_>, f: impl FnOnce(T) -> T) {
        self.set(guard, f(self.get(guard)));
    }
}

/// A fixed-length array of plain data shared by all workers (e.g. per-key accumulators).
pub struct SharedArray<'r, T: Copy> {
    cells: &'r [SharedValue<T>],
}

impl<'r, T: Copy> SharedArray<'r, T> {
    pub fn new(cells: &'r [SharedValue<T>]) -> Self {
        SharedArray { cells }
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub fn get(&self, guard: &LockGuard<'_>, index: usize) -> Option<T> {
        self.cells.get(index).map(|c| c.get(guard))
    }

    /// Hands cells `range` to `f` as one mutable slice (for multi-word accumulators). The
    /// guard is borrowed mutably so no other access to any shared cell can overlap `f`.
    /// Returns false, without calling `f`, when `range` is out of bounds.
    pub fn with_mut(
        &self,
        guard: &mut LockGuard<'_>,
        range: std::ops::Range<usize>,
        f: impl FnOnce(&mut [T]),
    ) -> bool {
        let Some(cells) = self.cells.get(range) else {
            return false;
        };
        if let (Some(first), Some(last)) = (cells.first(), cells.last()) {
            guard.check(first);
            guard.check(last);
        }
        // SAFETY: SharedValue<T> is repr(transparent) over UnsafeCell<T>, so the cells are
        // contiguous Ts; the lock is held and the guard is mutably borrowed for the call, so
        // no other reference to any cell exists while `f` runs.
        let slice = unsafe {
            std::slice::from_raw_parts_mut(UnsafeCell::raw_get(cells.as_ptr().cast()), cells.len())
        };
        f(slice);
        true
    }

    pub fn update(&self, guard: &LockGuard<'_>, index: usize, f: impl FnOnce(T) -> T) -> bool {
        match self.cells.get(index) {
            Some(cell) => {
                cell.update(guard, f);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::shm::region::SharedRegion;

    #[test]
    fn array_cells_are_read_and_updated_under_the_lock() {
        let region = SharedRegion::create_with(1, &[0], 4, 0).unwrap();
        let array = region.accumulators();
        let guard = region.lock().unwrap();
        for i in 0..4 {
            assert!(array.update(&guard, i, |_| i as u64));
        }
        assert_eq!(array.len(), 4);
        assert!(array.update(&guard, 2, |v| v + 40));
        assert!(
            !array.update(&guard, 4, |v| v + 1),
            "out of range is refused, not a panic"
        );
        assert_eq!(array.get(&guard, 2), Some(42));
        assert_eq!(array.get(&guard, 4), None);
        assert_eq!(
            (0..4).map(|i| array.get(&guard, i).unwrap()).sum::<u64>(),
            46
        );
    }

    #[test]
    #[should_panic(expected = "outside the region its lock protects")]
    fn a_guard_of_one_region_does_not_open_another() {
        let ours = SharedRegion::create_with(1, &[0], 4, 0).unwrap();
        let theirs = SharedRegion::create_with(1, &[0], 4, 0).unwrap();
        let guard = ours.lock().unwrap();
        theirs.accumulators().get(&guard, 0);
    }

    #[test]
    #[should_panic(expected = "outside the region its lock protects")]
    fn a_value_outside_any_region_is_refused() {
        let region = SharedRegion::create(1, &[0]).unwrap();
        let heap = SharedValue(UnsafeCell::new(1u64));
        let guard = region.lock().unwrap();
        heap.get(&guard);
    }
}
