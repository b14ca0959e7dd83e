//! End-to-end tests of `fleet copy`: the binary on generated trees (large files split into
//! ranges, thousands of small nested files, a mixed tree of every entry kind), compared entry
//! by entry with the source; kill -9 mid-copy and --resume; and each error the copy reports.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs::{self, File, FileTimes};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

const STALL_ENV: &str = "FLEET_TEST_COPY_STALL_AFTER";
const MIB: usize = 1 << 20;

mod common;

use common::{fleet, stderr, stdout};

fn copy(args: &[&str], src: &Path, dst: &Path) -> Output {
    fleet()
        .arg("copy")
        .args(args)
        .arg(src)
        .arg(dst)
        .output()
        .unwrap()
}

/// Pseudo-random bytes (xorshift64*): incompressible and different for every seed.
fn random_file(path: &Path, len: usize, seed: u64) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut file = File::create(path).unwrap();
    let mut buf = vec![0u8; MIB.min(len.max(1))];
    let mut left = len;
    while left > 0 {
        for chunk in buf.chunks_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let v = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        let n = left.min(buf.len());
        file.write_all(&buf[..n]).unwrap();
        left -= n;
    }
}

/// 3 x 80 MiB (each split into 32 MiB ranges) plus a small file, shared by the tests that
/// only read it.
fn big_tree() -> &'static Path {
    static TREE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..3 {
            random_file(&dir.path().join(format!("big-{i}.bin")), 80 * MIB, i + 1);
        }
        random_file(&dir.path().join("small.bin"), 1000, 99);
        dir
    })
    .path()
}

/// 2,000 files of 0..6 KiB in 50 nested folders.
fn small_tree(root: &Path) {
    for i in 0..2000u64 {
        let dir = root.join(format!("d{:02}/e{}", i % 10, (i / 10) % 5));
        fs::create_dir_all(&dir).unwrap();
        random_file(
            &dir.join(format!("f{i}.dat")),
            ((i * 37) % 6000) as usize,
            i,
        );
    }
}

fn set_mtime(path: &Path, secs: u64, nanos: u32) {
    let t = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
    File::open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap();
}

/// Every kind of entry the copy must keep: symlinks inside, outside and dangling, an empty
/// directory and file, a 0600 file, odd names, a hard link pair, a read-only directory.
fn mixed_tree(root: &Path, outside: &Path) {
    fs::create_dir_all(root.join("sub/deeper")).unwrap();
    fs::create_dir_all(root.join("empty dir")).unwrap();
    fs::create_dir_all(root.join("locked")).unwrap();
    fs::write(root.join("sub/deeper/file.txt"), "inside\n").unwrap();
    fs::write(root.join("数据 文件.csv"), "id,名字\n1,北京\n").unwrap();
    fs::write(root.join("locked/inner.txt"), "in a read-only dir\n").unwrap();
    File::create(root.join("empty")).unwrap();
    fs::write(root.join("secret"), "0600\n").unwrap();
    fs::set_permissions(root.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(root.join("script.sh"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(root.join("script.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(outside, "outside the tree\n").unwrap();
    std::os::unix::fs::symlink("sub/deeper/file.txt", root.join("link in")).unwrap();
    std::os::unix::fs::symlink(outside, root.join("link out")).unwrap();
    std::os::unix::fs::symlink("no/such/target", root.join("dangling")).unwrap();
    fs::write(root.join("sub/linked-a"), "shared inode\n").unwrap();
    fs::hard_link(root.join("sub/linked-a"), root.join("linked-b")).unwrap();
    set_mtime(&root.join("secret"), 1_000_000_000, 123_456_789);
    set_mtime(&root.join("数据 文件.csv"), 1_200_000_000, 5);
    set_mtime(&root.join("sub/deeper"), 1_300_000_000, 7);
    set_mtime(&root.join("empty dir"), 1_400_000_000, 0);
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o555)).unwrap();
}

#[derive(Debug, PartialEq)]
enum Entry {
    File {
        bytes: Vec<u8>,
        mode: u32,
        mtime: (i64, i64),
    },
    Dir {
        mode: u32,
        mtime: (i64, i64),
    },
    Link(PathBuf),
}

/// Every entry below `root` by relative path (the root itself as "").
fn entries(root: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let m = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let mtime = (m.mtime(), m.mtime_nsec());
            if m.file_type().is_symlink() {
                out.insert(rel, Entry::Link(fs::read_link(&path).unwrap()));
            } else if m.is_dir() {
                walk(root, &path, out);
                out.insert(
                    rel,
                    Entry::Dir {
                        mode: m.mode(),
                        mtime,
                    },
                );
            } else {
                out.insert(
                    rel,
                    Entry::File {
                        bytes: fs::read(&path).unwrap(),
                        mode: m.mode(),
                        mtime,
                    },
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Same relative paths, kinds, bytes, modes, mtimes (to the nanosecond) and link targets.
fn assert_same_tree(src: &Path, dst: &Path) {
    let a = entries(src);
    let b = entries(dst);
    let names_a: Vec<_> = a.keys().collect();
    let names_b: Vec<_> = b.keys().collect();
    assert_eq!(names_a, names_b, "different entries");
    for (rel, entry) in &a {
        // Compared one by one so a failure names the entry and does not print megabytes.
        assert!(&b[rel] == entry, "{} differs", rel.display());
    }
    let root_a = fs::metadata(src).unwrap();
    let root_b = fs::metadata(dst).unwrap();
    assert_eq!(root_a.mode(), root_b.mode());
    assert_eq!(root_a.mtime(), root_b.mtime());
}

/// Kills a spawned copy even when the test fails, so no stalled process outlives it.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Temporary names directly in `root`, tolerating a tree that changes while it is read.
fn temp_names(root: &Path) -> Vec<PathBuf> {
    fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".fleet-copy-"))
        })
        .collect()
}

fn temp_files(root: &Path) -> Vec<PathBuf> {
    entries(root)
        .into_keys()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".fleet-copy-"))
        })
        .collect()
}

#[test]
fn large_files_are_copied_in_parallel_ranges_and_verified() {
    let src = big_tree();
    let out = tempfile::tempdir().unwrap();
    let dst = out.path().join("copy");
    let o = copy(&["--workers", "4", "--verify"], src, &dst);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_tree(src, &dst);
    let err = stderr(&o);
    assert!(err.contains("copied 4 files (240.0 MiB)"), "{err}");
    assert!(err.contains("verified 4 files"), "{err}");
    assert!(err.contains(": 0 mismatches"), "{err}");
}

#[test]
fn thousands_of_small_nested_files() {
    let src = tempfile::tempdir().unwrap();
    small_tree(src.path());
    let out = tempfile::tempdir().unwrap();
    let dst = out.path().join("a/new/dst");
    let o = copy(&[], src.path(), &dst);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_tree(src.path(), &dst);
    assert!(stderr(&o).contains("copied 2,000 files"), "{}", stderr(&o));
    // A second run skips everything and changes nothing.
    let o = copy(&[], src.path(), &dst);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("copied 0 files"), "{}", stderr(&o));
    assert_same_tree(src.path(), &dst);
}

#[test]
fn every_kind_of_entry_is_copied_faithfully() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    mixed_tree(&src, &tmp.path().join("outside.txt"));
    let dst = tmp.path().join("dst");
    for workers in ["1", "8"] {
        let _ = fs::remove_dir_all(&dst);
        if dst.exists() {
            fs::set_permissions(dst.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
            fs::remove_dir_all(&dst).unwrap();
        }
        let o = copy(&["--workers", workers], &src, &dst);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_same_tree(&src, &dst);
        let a = fs::metadata(dst.join("sub/linked-a")).unwrap();
        let b = fs::metadata(dst.join("linked-b")).unwrap();
        assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()), "hard link lost");
        assert_eq!(a.nlink(), 2);
        assert!(stderr(&o).contains("1 hard links"), "{}", stderr(&o));
    }
}

#[test]
fn kill_mid_copy_leaves_no_partial_file_and_resume_completes() {
    let src = big_tree();
    let out = tempfile::tempdir().unwrap();
    let dst = out.path().join("dst");
    let child = fleet()
        .env(STALL_ENV, (100 * MIB).to_string())
        .args(["copy", "--workers", "3", "--quiet"])
        .arg(src)
        .arg(&dst)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while temp_names(&dst).is_empty() {
        assert!(Instant::now() < deadline, "no temporary file appeared");
        assert!(child.0.try_wait().unwrap().is_none(), "copy ended early");
        std::thread::yield_now();
    }
    // The stall knob holds every worker past 100 MiB of 240: the copy cannot have finished.
    assert!(child.0.try_wait().unwrap().is_none());
    child.0.kill().unwrap();
    child.0.wait().unwrap();

    let copied = entries(&dst);
    for (rel, entry) in &copied {
        if let Entry::File { bytes, .. } = entry {
            if !temp_files(&dst).contains(rel) {
                assert!(
                    *bytes == fs::read(src.join(rel)).unwrap(),
                    "{} is partial",
                    rel.display()
                );
            }
        }
    }
    assert!(!temp_files(&dst).is_empty(), "the kill left no temporary");

    let o = copy(&["--resume"], src, &dst);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_tree(src, &dst);
    assert!(temp_files(&dst).is_empty(), "stale temporaries remain");
}

#[test]
fn resume_with_verify_recopies_a_file_whose_content_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a"), "aaaa").unwrap();
    fs::write(src.join("b"), "bbbb").unwrap();
    let dst = tmp.path().join("dst");
    assert!(copy(&[], &src, &dst).status.success());
    // Same size and mtime, other bytes: only --verify can tell.
    fs::write(dst.join("a"), "AAAA").unwrap();
    let m = fs::metadata(src.join("a")).unwrap();
    set_mtime(&dst.join("a"), m.mtime() as u64, m.mtime_nsec() as u32);
    assert!(copy(&["--resume"], &src, &dst).status.success());
    assert_eq!(fs::read(dst.join("a")).unwrap(), b"AAAA");
    let o = copy(&["--resume", "--verify"], &src, &dst);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(dst.join("a")).unwrap(), b"aaaa");
    assert_same_tree(&src, &dst);
}

#[test]
fn unreadable_entries_are_reported_and_the_rest_is_copied() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/good.txt"), "good\n").unwrap();
    fs::write(src.join("z.txt"), "last\n").unwrap();
    let fifo = src.join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::symlink("missing", src.join("dangling")).unwrap();

    let dst = tmp.path().join("dst");
    let o = copy(&["--dereference"], &src, &dst);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{} is a FIFO", fifo.display())),
        "{err}"
    );
    assert!(
        err.contains(&src.join("dangling").display().to_string()),
        "{err}"
    );
    assert!(err.contains("2 failed"), "{err}");
    assert_eq!(fs::read(dst.join("d/good.txt")).unwrap(), b"good\n");
    assert_eq!(fs::read(dst.join("z.txt")).unwrap(), b"last\n");
    assert!(!dst.join("pipe").exists() && !dst.join("dangling").exists());
    assert!(temp_files(&dst).is_empty());
}

#[test]
fn unwritable_destinations_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("sub/in.txt"), "x").unwrap();
    fs::write(src.join("top.txt"), "top").unwrap();

    // Root ignores directory permissions; /proc refuses everyone.
    let o = copy(&[], &src, Path::new("/proc/fleet-copy-test/dst"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot create destination /proc/fleet-copy-test/dst"),
        "{}",
        stderr(&o)
    );

    // A file where the copy needs a directory: that subtree fails, the rest is copied.
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    fs::write(dst.join("sub"), "in the way").unwrap();
    let o = copy(&[], &src, &dst);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("cannot write {}", dst.join("sub").display())),
        "{err}"
    );
    assert_eq!(fs::read(dst.join("top.txt")).unwrap(), b"top");
    assert_eq!(fs::read(dst.join("sub")).unwrap(), b"in the way");
}

#[test]
fn refuses_to_copy_a_tree_into_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("f"), "f").unwrap();
    let o = copy(&[], &src, &src.join("inner/dst"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is inside source"), "{}", stderr(&o));
    assert!(!src.join("inner").exists());
    let o = copy(&[], &src, &tmp.path().join("src/../src/."));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("same directory"), "{}", stderr(&o));
    assert_eq!(fs::read_dir(&src).unwrap().count(), 1);
}

#[test]
fn existing_files_are_kept_unless_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a"), "new").unwrap();
    fs::write(src.join("b"), "bee").unwrap();
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    fs::write(dst.join("a"), "old contents").unwrap();
    let o = copy(&[], &src, &dst);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 existing"), "{}", stderr(&o));
    assert_eq!(fs::read(dst.join("a")).unwrap(), b"old contents");
    assert_eq!(fs::read(dst.join("b")).unwrap(), b"bee");
    let o = copy(&["--overwrite"], &src, &dst);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_tree(&src, &dst);
}

#[test]
fn dry_run_lists_and_copies_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    mixed_tree(&src, &tmp.path().join("outside.txt"));
    let dst = tmp.path().join("dst");
    let o = copy(&["--dry-run"], &src, &dst);
    assert!(o.status.success(), "{}", stderr(&o));
    let listed = stdout(&o);
    for name in [
        "数据 文件.csv",
        "sub/deeper/file.txt",
        "link out",
        "empty dir",
        "linked-b",
    ] {
        assert!(listed.lines().any(|l| l == name), "{name} not in {listed}");
    }
    assert!(!dst.exists());
}

/// Temporary copies the run left behind anywhere under `root`.
fn temporaries(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if e.file_name().to_string_lossy().starts_with(".fleet-copy-") {
                found.push(p);
            }
        }
    }
    found
}

#[test]
fn a_full_disk_fails_those_files_only_and_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let dst = dir.path().join("dst");
    fs::create_dir_all(src.join("sub")).unwrap();
    random_file(&src.join("small-1.csv"), 4 << 10, 1);
    random_file(&src.join("sub/small-2.csv"), 8 << 10, 2);
    random_file(&src.join("big-1.csv"), 3 << 20, 3);
    random_file(&src.join("sub/big-2.csv"), 2 << 20, 4);
    let mut cmd = fleet();
    cmd.args(["copy", "--quiet", "--workers", "2"])
        .arg(&src)
        .arg(&dst);
    // No file may grow past 1 MiB: writes beyond fail with EFBIG, as they fail with ENOSPC on a
    // full disk. SIGXFSZ is ignored so the write fails instead of killing the process, and the
    // ignored disposition survives exec.
    // SAFETY: pre_exec runs in the forked child before exec; setrlimit and signal are
    // async-signal-safe and touch only the child.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            let limit = libc::rlimit {
                rlim_cur: 1 << 20,
                rlim_max: 1 << 20,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert!(!o.status.success(), "a failed file must fail the run");
    let err = stderr(&o);
    assert!(
        err.contains("big-1.csv") && err.contains("big-2.csv"),
        "{err}"
    );
    assert!(!err.contains("small-"), "{err}");
    for small in ["small-1.csv", "sub/small-2.csv"] {
        assert_eq!(
            fs::read(src.join(small)).unwrap(),
            fs::read(dst.join(small)).unwrap()
        );
    }
    assert!(!dst.join("big-1.csv").exists() && !dst.join("sub/big-2.csv").exists());
    assert_eq!(temporaries(&dst), Vec::<PathBuf>::new());
}

#[test]
fn a_file_that_vanishes_before_its_turn_is_reported_and_the_rest_copied() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst, go) = (
        dir.path().join("src"),
        dir.path().join("dst"),
        dir.path().join("go"),
    );
    fs::create_dir_all(src.join("zz")).unwrap();
    fs::create_dir_all(src.join("zzz")).unwrap();
    random_file(&src.join("a.csv"), 64 << 10, 1);
    random_file(&src.join("zz/d.csv"), 4 << 10, 2);
    random_file(&src.join("zzz/e.csv"), 4 << 10, 3);
    // One worker stalls inside a.csv until `go` exists; the walk goes on.
    let mut child = KillOnDrop(
        fleet()
            .args(["copy", "--quiet", "--workers", "1"])
            .arg(&src)
            .arg(&dst)
            .env("FLEET_TEST_COPY_STALL_AFTER", format!("1:{}", go.display()))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The walk is sorted and depth-first: once it has made DST/zzz, zz/d.csv is queued.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dst.join("zzz").exists() {
        assert!(Instant::now() < deadline, "the walk never reached zzz");
        std::thread::yield_now();
    }
    fs::remove_file(src.join("zz/d.csv")).unwrap();
    File::create(&go).unwrap();
    let status = child.0.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "a vanished file makes the run fail");
    assert!(err.contains("d.csv") && err.contains("vanished"), "{err}");
    for kept in ["a.csv", "zzz/e.csv"] {
        assert_eq!(
            fs::read(src.join(kept)).unwrap(),
            fs::read(dst.join(kept)).unwrap()
        );
    }
    assert!(!dst.join("zz/d.csv").exists());
    assert_eq!(temporaries(&dst), Vec::<PathBuf>::new());
}
