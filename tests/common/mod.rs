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
