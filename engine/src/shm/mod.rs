//! The memory workers share: [`region`] is the one memfd mapping of a job (header, worker
//! slots, chunk slots, accumulators, undo log); [`lock`] the robust process-shared mutex that
//! guards it; [`shared`] the typed `Value`/`Array` views read and written under that lock.
pub mod lock;
pub mod region;
pub mod shared;
