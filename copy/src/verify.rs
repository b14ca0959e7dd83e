//! `--verify`: BLAKE3 of source and copy of every file copied in this run, files hashed in
//! parallel, each read once from its start (so a mismatch anywhere, holes included, is seen).

use super::{lock, CopyError, EntryError, Phase, Ticks};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const BUFFER: usize = 1 << 20;

pub(crate) fn hash_file(path: &Path, on_bytes: &dyn Fn(u64)) -> io::Result<blake3::Hash> {
    let mut file = File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        on_bytes(n as u64);
    }
    Ok(hasher.finalize())
}

#[derive(Default)]
pub(crate) struct Verified {
    pub(crate) mismatches: Vec<PathBuf>,
    pub(crate) errors: Vec<EntryError>,
    pub(crate) files: u64,
    pub(crate) bytes: u64,
}

/// Hashes both sides of every relative path in `files` on `workers` threads, each in its
/// lane so the watchdog sees a hash that stops moving.
pub(crate) fn verify_all(
    ticks: &mut Ticks<'_>,
    files: Vec<PathBuf>,
) -> Result<Verified, CopyError> {
    let copier = Arc::clone(ticks.copier);
    copier.verify_total.store(
        2 * copier.bytes_done.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    let shared = Arc::new((AtomicUsize::new(0), Mutex::new(Verified::default())));
    let crew = Arc::clone(&shared);
    let workers = copier.opts.workers.max(1);
    ticks.run(Phase::Verifying, workers, move |w| {
        let (next, out) = &*crew;
        let lane = &copier.lanes[w.min(copier.lanes.len() - 1)];
        let count = |n: u64| {
            copier.verify_done.fetch_add(n, Ordering::Relaxed);
            lane.step();
        };
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(rel) = files.get(i).filter(|_| !copier.stopped()) else {
                return;
            };
            if copier.stopped() {
                return;
            }
            lane.begin(rel);
            let src = copier.src_root.join(rel);
            let dst = copier.dst_root.join(rel);
            let a = hash_file(&src, &count).map_err(|e| EntryError::Verify {
                path: src,
                source: e,
            });
            let b = hash_file(&dst, &count).map_err(|e| EntryError::Verify {
                path: dst.clone(),
                source: e,
            });
            lane.end();
            let mut out = lock(out);
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    out.files += 1;
                    if a != b {
                        out.mismatches.push(dst);
                    }
                }
                (Err(e), _) | (_, Err(e)) => out.errors.push(e),
            }
        }
    })?;
    let mut out = std::mem::take(&mut *lock(&shared.1));
    out.bytes = ticks.copier.verify_done.load(Ordering::Relaxed) / 2;
    Ok(out)
}
