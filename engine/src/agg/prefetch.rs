//! A cache hint for the aggregation paths that know an address a few records before they
//! use it: the dense cells ([`crate::agg::DenseDelta`]) and the hashed groups' slots and
//! states ([`crate::agg::pipeline`]).

/// Asks the CPU to start loading `items[at]` and `items[at + len - 1]` into cache (nothing
/// when out of bounds or on other architectures).
#[inline(always)]
pub(crate) fn prefetch<T>(items: &[T], at: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        if let (Some(first), Some(last)) = (items.get(at), items.get(at + len.max(1) - 1)) {
            // SAFETY: prefetching is only a hint and the addresses are in bounds; SSE is part
            // of the x86_64 baseline.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>((first as *const T).cast());
                _mm_prefetch::<_MM_HINT_T0>((last as *const T).cast());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (items, at, len);
}
