//! A robust, process-shared mutex living inside the shared region.
//!
//! It is a `pthread_mutex_t` set up with `PTHREAD_PROCESS_SHARED` (usable by forked workers
//! through a `MAP_SHARED` mapping) and `PTHREAD_MUTEX_ROBUST`: when a worker dies holding it,
//! the next `lock` gets `EOWNERDEAD` instead of deadlocking. The guard then reports
//! `recovered()`, the caller repairs what the dead owner left half-done (see the journal in
//! `region.rs`), and the mutex is marked consistent. Hand-written because no maintained crate
//! offers a robust process-shared mutex (`raw_sync`'s is not robust).

use std::cell::UnsafeCell;
use std::io;
use std::marker::PhantomData;
use std::ops::Range;

#[repr(C)]
pub struct RobustMutex {
    inner: UnsafeCell<libc::pthread_mutex_t>,
    /// The addresses of the memory this mutex guards (its region), set once at `init`. A
    /// forked worker inherits the mapping at the same address, so the span holds there too.
    guards: UnsafeCell<(usize, usize)>,
}

// SAFETY: the pthread mutex is designed to be shared between threads and processes; all access
// goes through pthread calls.
unsafe impl Sync for RobustMutex {}

impl RobustMutex {
    /// Initialises a mutex in place.
    ///
    /// `guarded` is the address range of the memory the mutex protects: a guard of this
    /// mutex only gives access to values inside it (see [`LockGuard::check`]).
    ///
    /// # Safety
    /// `this` must point to writable memory for a `RobustMutex` that no thread or process is
    /// using yet, and must stay at that address for as long as it is used.
    pub unsafe fn init(this: *mut RobustMutex, guarded: Range<usize>) -> io::Result<()> {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        // SAFETY: attr is a local, initialised by pthread_mutexattr_init before any other use and
        // destroyed at the end; `this` is valid per the caller's contract.
        unsafe {
            check(libc::pthread_mutexattr_init(attr.as_mut_ptr()))?;
            let result = (|| {
                check(libc::pthread_mutexattr_setpshared(
                    attr.as_mut_ptr(),
                    libc::PTHREAD_PROCESS_SHARED,
                ))?;
                check(libc::pthread_mutexattr_setrobust(
                    attr.as_mut_ptr(),
                    libc::PTHREAD_MUTEX_ROBUST,
                ))?;
                check(libc::pthread_mutex_init((*this).inner.get(), attr.as_ptr()))
            })();
            libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
            *(*this).guards.get() = (guarded.start, guarded.end);
            result
        }
    }

    /// Locks, recovering from an owner that died while holding the lock.
    pub fn lock(&self) -> io::Result<LockGuard<'_>> {
        // SAFETY: the mutex was initialised by `init` (the region does so before sharing it).
        let rc = unsafe { libc::pthread_mutex_lock(self.inner.get()) };
        match rc {
            0 => Ok(LockGuard {
                mutex: self,
                recovered: false,
                not_send: PhantomData,
            }),
            libc::EOWNERDEAD => {
                // SAFETY: we hold the lock (EOWNERDEAD means it was acquired); marking it
                // consistent is the documented way to keep using it.
                check(unsafe { libc::pthread_mutex_consistent(self.inner.get()) })?;
                Ok(LockGuard {
                    mutex: self,
                    recovered: true,
                    not_send: PhantomData,
                })
            }
            err => Err(io::Error::from_raw_os_error(err)),
        }
    }
}

/// Proof that the region's lock is held; shared values take it to be read or written.
///
/// Not `Send`: a pthread mutex must be unlocked by the thread that locked it.
///
/// ```compile_fail
/// fn needs_send<T: Send>() {}
/// needs_send::<fleet_engine::shm::lock::LockGuard<'static>>();
/// ```
pub struct LockGuard<'a> {
    mutex: &'a RobustMutex,
    recovered: bool,
    not_send: PhantomData<*const ()>,
}

impl LockGuard<'_> {
    /// True when the previous owner died holding the lock: guarded state may be half-updated.
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// Panics unless `value` lies in the memory this guard's mutex protects: a guard taken on
    /// one region must never unlock access to another region's values (a bug, not bad input).
    pub fn check<T>(&self, value: *const T) {
        // SAFETY: `guards` is written once by `init`, before the mutex is shared, and only
        // read afterwards.
        let (start, end) = unsafe { *self.mutex.guards.get() };
        let at = value as usize;
        assert!(
            at >= start && at + std::mem::size_of::<T>() <= end,
            "a lock guard was used on a value outside the region its lock protects"
        );
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: this guard exists only while the lock is held by this thread.
        unsafe {
            libc::pthread_mutex_unlock(self.mutex.inner.get());
        }
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}
