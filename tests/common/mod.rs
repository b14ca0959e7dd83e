//! Helpers shared by the end-to-end tests: the `fleet` binary with no test knob inherited,
//! its output as text, and generated datasets.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test, without any fault or stall knob from the environment.
pub fn fleet() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleet"));
    cmd.env_remove("FLEET_TEST_FAULT")
        .env_remove("FLEET_TEST_COPY_STALL_AFTER");
    cmd
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A gps dataset (headerless, with fleet.toml) of `files` x `rows` in a fresh temp dir.
pub fn gps(files: usize, rows: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fleet_fixtures::generate(
        dir.path(),
        &fleet_fixtures::GenOptions {
            kind: fleet_fixtures::Kind::Gps,
            files,
            rows,
            seed: 7,
            plates: None,
            dialect: fleet_fixtures::Dialect::Plain,
        },
    )
    .unwrap();
    dir
}

/// The `*.csv` files directly in `dir`, in sorted path order (the order fleet scans them).
pub fn csv_files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    paths
}

/// Runs `cmd` to completion with stdout and stderr captured, failing the test (and killing the
/// process) if it takes longer than `secs`: a hang is a failure, not a stuck CI job.
pub fn output_within(cmd: &mut Command, secs: u64) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        out.read_to_end(&mut buf).unwrap();
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        err.read_to_end(&mut buf).unwrap();
        buf
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {secs} s");
        }
        // A watchdog poll, not synchronisation: the result does not depend on this interval.
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// The live (not zombie) child processes of `pid`, with their state letter from /proc.
pub fn children_states(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // Fields after the command name: state ppid ...
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let mut it = rest.split(' ');
        let state = it.next().unwrap().chars().next().unwrap();
        let ppid: u32 = it.next().unwrap().parse().unwrap();
        if ppid == pid && state != 'Z' && state != 'X' {
            out.push((p, state));
        }
    }
    out
}

/// Polls a condition (no fixed sleeps as synchronisation), failing after `secs`.
pub fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::yield_now();
    }
}

/// A spawned child killed when the test ends, even by a failed assertion.
pub struct KillOnDrop(pub std::process::Child);

impl KillOnDrop {
    /// Waits for the child and collects its piped stdout and stderr (as `wait_with_output`).
    pub fn wait_output(&mut self) -> Output {
        use std::io::Read;
        let out = self.0.stdout.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                pipe.read_to_end(&mut buf).unwrap();
                buf
            })
        });
        let mut stderr = Vec::new();
        if let Some(mut pipe) = self.0.stderr.take() {
            pipe.read_to_end(&mut stderr).unwrap();
        }
        let status = self.0.wait().unwrap();
        Output {
            status,
            stdout: out.map(|t| t.join().unwrap()).unwrap_or_default(),
            stderr,
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sets resource limits in the child before exec (for RLIMIT_FSIZE also ignores SIGXFSZ, so an
/// over-long write fails with EFBIG, as a full disk fails with ENOSPC, instead of killing it).
pub fn with_rlimit(cmd: &mut Command, resource: libc::__rlimit_resource_t, value: u64) {
    // SAFETY: pre_exec runs in the forked child before exec; setrlimit and signal are
    // async-signal-safe and affect only the child.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, move || {
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            if libc::setrlimit(resource, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if resource == libc::RLIMIT_FSIZE {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            }
            Ok(())
        });
    }
}
