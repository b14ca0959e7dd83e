//! The one CPU-feature check of the block passes: which instruction set their loops are
//! compiled for at run time. Each level names every feature its `#[target_feature]` functions
//! enable, so a pass picked by [`level`] never runs an instruction the CPU lacks.

use std::sync::OnceLock;

/// The instruction sets the passes have loops for, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Plain Rust (SSE2 on x86_64, whatever the compiler makes of it elsewhere).
    Portable,
    /// AVX2 with BMI1 and POPCNT.
    Avx2,
    /// AVX-512F and AVX-512BW with BMI1, BMI2 and POPCNT (every AVX-512 CPU has them).
    Avx512,
}

/// The best level this CPU runs, detected once per process.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(detect)
}

/// Whether the CPU has PCLMULQDQ (the carry-less multiply of the in-quote masks, see
/// [`crate::simd::quotes`]). Apart from [`Level`], so the plain passes' choice of loop does not
/// depend on a feature they never use.
pub fn clmul() -> bool {
    static CLMUL: OnceLock<bool> = OnceLock::new();
    #[cfg(target_arch = "x86_64")]
    return *CLMUL.get_or_init(|| is_x86_feature_detected!("pclmulqdq"));
    #[cfg(not(target_arch = "x86_64"))]
    return *CLMUL.get_or_init(|| false);
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Level {
    let avx2 = is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("bmi1")
        && is_x86_feature_detected!("popcnt");
    if avx2
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("bmi2")
    {
        Level::Avx512
    } else if avx2 {
        Level::Avx2
    } else {
        Level::Portable
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Level {
    Level::Portable
}
