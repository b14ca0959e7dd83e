//! Peak private memory of a process tree (a `fleet` command: its coordinator and its forked
//! workers), sampled from `/proc` while the command runs.
//!
//! Why not `getrusage(RUSAGE_CHILDREN).ru_maxrss` or `VmHWM`: both count resident *file*
//! pages, and fleet maps its inputs, so a scan of 2 GiB of page-cached data would report
//! about 2 GiB per process although that memory is the shared page cache, owned by the
//! kernel, there before the command and after it. What a user pays for running fleet is its
//! private memory: `RssAnon` (heap, stacks, private buffers) of every process, plus the one
//! shared-memory region (`RssShmem`: the memfd that coordinator and workers all map), counted
//! once rather than once per process. `RssAnon` is summed over processes, so pages a forked
//! worker still shares copy-on-write with the coordinator are counted twice: the figure is an
//! upper bound, never an under-estimate.
//!
//! Finding the workers: `/proc/PID/task/TID/children` when the kernel has it
//! (CONFIG_PROC_CHILDREN), else a scan of every `/proc/PID/stat` for parent ids, which costs
//! more, so the sampler then rescans the tree only every few samples.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The memory fields of one `/proc/PID/status`, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusMemory {
    pub anon: u64,
    pub shmem: u64,
}

/// Reads `RssAnon` and `RssShmem` (given in kB, i.e. KiB) from the text of a status file.
/// Missing fields (a zombie, a kernel thread) read as zero.
pub fn parse_status(text: &str) -> StatusMemory {
    let mut m = StatusMemory::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let target = match key {
            "RssAnon" => &mut m.anon,
            "RssShmem" => &mut m.shmem,
            _ => continue,
        };
        let kib = value
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok());
        *target = kib.unwrap_or(0) * 1024;
    }
    m
}

/// The parent pid in the text of a `/proc/PID/stat` file. The command name (field 2) may
/// contain spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_parent(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The private memory of a tree: the sum of `RssAnon` plus the largest `RssShmem`.
pub fn private_bytes(parts: &[StatusMemory]) -> u64 {
    let anon: u64 = parts.iter().map(|m| m.anon).sum();
    let shmem = parts.iter().map(|m| m.shmem).max().unwrap_or(0);
    anon + shmem
}

/// `root` and all its descendants that are alive now.
pub fn tree(root: u32) -> Vec<u32> {
    if has_children_files() {
        let mut out = vec![root];
        let mut i = 0;
        while i < out.len() {
            let pid = out[i];
            if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
                for task in tasks.flatten() {
                    let text = fs::read_to_string(task.path().join("children")).unwrap_or_default();
                    out.extend(
                        text.split_whitespace()
                            .filter_map(|c| c.parse::<u32>().ok()),
                    );
                }
            }
            i += 1;
        }
        return out;
    }
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parse_parent(&stat)?))
        })
        .collect();
    descendants(root, &parents)
}

/// `root` and every pid whose chain of parents in `parents` (pid, parent) leads to it.
pub fn descendants(root: u32, parents: &[(u32, u32)]) -> Vec<u32> {
    let mut out = vec![root];
    let mut seen: HashSet<u32> = out.iter().copied().collect();
    let mut i = 0;
    while i < out.len() {
        let pid = out[i];
        for &(child, parent) in parents {
            if parent == pid && seen.insert(child) {
                out.push(child);
            }
        }
        i += 1;
    }
    out
}

fn has_children_files() -> bool {
    let tid = std::process::id();
    Path::new(&format!("/proc/self/task/{tid}/children")).exists()
}

/// The current private memory of the given processes (vanished ones count zero).
pub fn sample(pids: &[u32]) -> u64 {
    let parts: Vec<StatusMemory> = pids
        .iter()
        .map(|pid| {
            fs::read_to_string(format!("/proc/{pid}/status"))
                .map(|t| parse_status(&t))
                .unwrap_or_default()
        })
        .collect();
    private_bytes(&parts)
}

/// Samples a process tree's private memory on a thread until [`PeakSampler::finish`].
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u64>,
}

impl PeakSampler {
    /// Starts sampling the tree under `root` every `every`.
    pub fn start(root: u32, every: Duration) -> PeakSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let rescan_every = if has_children_files() { 1 } else { 4 };
        let handle = std::thread::spawn(move || {
            let mut peak = 0;
            let mut pids = vec![root];
            let mut n = 0u64;
            while !flag.load(Ordering::Acquire) {
                if n.is_multiple_of(rescan_every) {
                    pids = tree(root);
                }
                n += 1;
                peak = peak.max(sample(&pids));
                std::thread::park_timeout(every);
            }
            peak
        });
        PeakSampler { stop, handle }
    }

    /// Stops sampling and returns the largest sample (0 if the tree was gone before the first).
    pub fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Release);
        self.handle.thread().unpark();
        self.handle.join().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_in_bytes() {
        let text = "Name:\tfleet\nVmRSS:\t 2100000 kB\nRssAnon:\t    5120 kB\n\
                    RssFile:\t 2094000 kB\nRssShmem:\t      64 kB\n";
        let m = parse_status(text);
        assert_eq!(m.anon, 5120 * 1024);
        assert_eq!(m.shmem, 64 * 1024);
        assert_eq!(
            parse_status("Name:\tzombie\nState:\tZ\n"),
            StatusMemory::default()
        );
    }

    #[test]
    fn shared_region_counts_once() {
        let coordinator = StatusMemory {
            anon: 10 << 20,
            shmem: 4 << 20,
        };
        let worker = StatusMemory {
            anon: 3 << 20,
            shmem: 4 << 20,
        };
        assert_eq!(
            private_bytes(&[coordinator, worker, worker]),
            (16 << 20) + (4 << 20)
        );
        assert_eq!(private_bytes(&[]), 0);
    }

    #[test]
    fn parent_after_a_name_with_parentheses() {
        assert_eq!(parse_parent("4270 (cat) R 4265 4265 1419 0"), Some(4265));
        assert_eq!(parse_parent("77 (a) b (c)) S 12 77 1"), Some(12));
        assert_eq!(parse_parent("garbage"), None);
    }

    #[test]
    fn descendants_follow_parent_chains() {
        let parents = [(2, 1), (3, 2), (4, 1), (5, 9), (6, 3)];
        let mut d = descendants(1, &parents);
        d.sort_unstable();
        assert_eq!(d, vec![1, 2, 3, 4, 6]);
    }

    #[test]
    fn a_live_tree_is_found_and_measured() {
        let me = std::process::id();
        assert!(tree(me).contains(&me));
        // This test process has a heap: its private memory cannot be zero.
        assert!(sample(&[me]) > 0);
    }
}
