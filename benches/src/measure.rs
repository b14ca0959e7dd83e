//! One timed run of a command, as a user would run it: a child process whose wall time
//! includes its start, whose peak private memory is sampled while it runs
//! ([`super::memory`]), and whose result (stdout, an output file or a copied tree) is reduced
//! to a BLAKE3 digest after the clock stops, so that every run can be checked against the
//! first ([`Consistency`]).

use super::memory::PeakSampler;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use walkdir::WalkDir;

/// How often peak memory is sampled: often enough to catch a short-lived peak in a run of a
/// fraction of a second, rarely enough that reading a few `/proc` files costs well under 1%
/// of a core.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// Where a command leaves its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Produces {
    Stdout,
    /// A file, removed before and after the run.
    File(PathBuf),
    /// A directory tree, removed before and after the run.
    Tree(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub produces: Produces,
    /// Exit status 1 is a result too (a scan that matched nothing, as with grep), not a
    /// failure.
    pub one_is_no_match: bool,
}

impl Invocation {
    /// The command line, for messages.
    pub fn display(&self) -> String {
        let mut text = self.program.display().to_string();
        for a in &self.args {
            text.push(' ');
            let a = a.to_string_lossy();
            if a.contains([' ', '>', '<', '(', '\'']) {
                text.push_str(&format!("'{a}'"));
            } else {
                text.push_str(&a);
            }
        }
        text
    }
}

#[derive(Debug, Clone)]
pub struct Measured {
    pub wall: Duration,
    /// Peak private bytes of the command's process tree (see [`super::memory`]).
    pub peak_private: u64,
    pub digest: blake3::Hash,
    /// The command's standard output (small: result files are not read into memory).
    pub stdout: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot run {command}: {source}")]
    Spawn { command: String, source: io::Error },
    #[error("{command} failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{command} did not produce {path}")]
    NoOutput { command: String, path: PathBuf },
    #[error(
        "wrong result: {workload} gave a different result in {this} than in {first} \
         (digest {this_digest} vs {first_digest}); the benchmark is void"
    )]
    Mismatch {
        workload: String,
        first: String,
        this: String,
        first_digest: String,
        this_digest: String,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BenchError + '_ {
    move |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs `inv` once and measures it. A non-zero exit is an error carrying the command's
/// stderr; so is a missing result.
pub fn measure(inv: &Invocation) -> Result<Measured, BenchError> {
    let command = inv.display();
    remove_result(&inv.produces)?;
    // Files rather than pipes: nothing has to drain them while the clock runs.
    let mut out = tempfile::tempfile().map_err(io_at(Path::new("stdout temp file")))?;
    let mut err = tempfile::tempfile().map_err(io_at(Path::new("stderr temp file")))?;
    let stdout = out
        .try_clone()
        .map_err(io_at(Path::new("stdout temp file")))?;
    let stderr = err
        .try_clone()
        .map_err(io_at(Path::new("stderr temp file")))?;
    let started = Instant::now();
    let mut child = Command::new(&inv.program)
        .args(&inv.args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|source| BenchError::Spawn {
            command: command.clone(),
            source,
        })?;
    let sampler = PeakSampler::start(child.id(), SAMPLE_EVERY);
    let status = child.wait();
    let wall = started.elapsed();
    let peak_private = sampler.finish();
    let status = status.map_err(|source| BenchError::Spawn {
        command: command.clone(),
        source,
    })?;
    let stdout = read_back(&mut out)?;
    let no_match = inv.one_is_no_match && status.code() == Some(1);
    if !status.success() && !no_match {
        let stderr = String::from_utf8_lossy(&read_back(&mut err)?)
            .trim()
            .replace('\n', " ");
        return Err(BenchError::Failed {
            command,
            status: status.to_string(),
            stderr,
        });
    }
    let digest = match &inv.produces {
        Produces::Stdout => blake3::hash(&stdout),
        Produces::File(path) => {
            if !path.is_file() {
                return Err(BenchError::NoOutput {
                    command,
                    path: path.clone(),
                });
            }
            file_digest(path)?
        }
        Produces::Tree(path) => {
            if !path.is_dir() {
                return Err(BenchError::NoOutput {
                    command,
                    path: path.clone(),
                });
            }
            tree_digest(path)?
        }
    };
    remove_result(&inv.produces)?;
    Ok(Measured {
        wall,
        peak_private,
        digest,
        stdout,
    })
}

fn read_back(file: &mut File) -> Result<Vec<u8>, BenchError> {
    let mut bytes = Vec::new();
    file.rewind()
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(io_at(Path::new("captured output")))?;
    Ok(bytes)
}

fn remove_result(produces: &Produces) -> Result<(), BenchError> {
    let (path, result) = match produces {
        Produces::Stdout => return Ok(()),
        Produces::File(p) => (p, fs::remove_file(p)),
        Produces::Tree(p) => (p, fs::remove_dir_all(p)),
    };
    match result {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_at(path)(e)),
        _ => Ok(()),
    }
}

/// The BLAKE3 digest of a file's content.
pub fn file_digest(path: &Path) -> Result<blake3::Hash, BenchError> {
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(File::open(path).map_err(io_at(path))?)
        .map_err(io_at(path))?;
    Ok(hasher.finalize())
}

/// A digest of a tree's names, kinds, file contents and link targets (not of times or
/// modes): equal for a faithful copy of the tree.
pub fn tree_digest(root: &Path) -> Result<blake3::Hash, BenchError> {
    let mut hasher = blake3::Hasher::new();
    for entry in WalkDir::new(root).sort_by_file_name().min_depth(1) {
        let entry = entry.map_err(|e| BenchError::Io {
            path: root.to_path_buf(),
            source: e.into(),
        })?;
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        hasher.update(rel.as_os_str().as_encoded_bytes());
        hasher.update(b"\0");
        let kind = entry.file_type();
        if kind.is_symlink() {
            let target = fs::read_link(entry.path()).map_err(io_at(entry.path()))?;
            hasher.update(b"l");
            hasher.update(target.as_os_str().as_encoded_bytes());
        } else if kind.is_dir() {
            hasher.update(b"d");
        } else {
            hasher.update(b"f");
            hasher.update(file_digest(entry.path())?.as_bytes());
        }
        hasher.update(b"\0");
    }
    Ok(hasher.finalize())
}

/// The first result seen for each workload, against which every later run is checked: a
/// benchmark of a wrong answer is worthless, and a run that differs from the first (another
/// engine, worker count or repetition) proves one of them wrong.
#[derive(Debug, Default)]
pub struct Consistency {
    first: HashMap<String, (String, blake3::Hash)>,
}

impl Consistency {
    /// Sets the expected result of `workload` up front (e.g. the source tree for a copy).
    pub fn expect(&mut self, workload: &str, label: &str, digest: blake3::Hash) {
        self.first
            .insert(workload.to_string(), (label.to_string(), digest));
    }

    /// Records `digest` as the result of run `label` of `workload`; fails if the workload
    /// already has a different one.
    pub fn check(
        &mut self,
        workload: &str,
        label: &str,
        digest: blake3::Hash,
    ) -> Result<(), BenchError> {
        match self.first.get(workload) {
            Some((first, expected)) if *expected != digest => Err(BenchError::Mismatch {
                workload: workload.to_string(),
                first: first.clone(),
                this: label.to_string(),
                first_digest: expected.to_hex().to_string(),
                this_digest: digest.to_hex().to_string(),
            }),
            Some(_) => Ok(()),
            None => {
                self.expect(workload, label, digest);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sh(script: &str, produces: Produces) -> Invocation {
        Invocation {
            one_is_no_match: false,
            program: PathBuf::from("/bin/sh"),
            args: vec!["-c".into(), script.into()],
            produces,
        }
    }

    #[test]
    fn stdout_is_captured_and_digested() {
        let m = measure(&sh("echo 42", Produces::Stdout)).unwrap();
        assert_eq!(m.stdout, b"42\n");
        assert_eq!(m.digest, blake3::hash(b"42\n"));
        assert!(m.wall > Duration::ZERO);
    }

    #[test]
    fn a_failing_command_is_an_error_with_its_stderr() {
        let e = measure(&sh("echo boom >&2; exit 3", Produces::Stdout)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("boom") && text.contains('3'), "{text}");
    }

    #[test]
    fn output_file_is_digested_then_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        fs::write(&path, "stale").unwrap();
        let script = format!("test ! -e '{0}' && printf 'a,b\\n' > '{0}'", path.display());
        let m = measure(&sh(&script, Produces::File(path.clone()))).unwrap();
        assert_eq!(m.digest, blake3::hash(b"a,b\n"));
        assert!(!path.exists());
        let missing = measure(&sh("true", Produces::File(path.clone())));
        assert!(matches!(missing, Err(BenchError::NoOutput { .. })));
    }

    #[test]
    fn tree_digest_sees_content_and_names_not_times() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for d in [a.path(), b.path()] {
            fs::create_dir(d.join("sub")).unwrap();
            fs::write(d.join("sub/x.csv"), "1,2\n").unwrap();
            fs::write(d.join("y.csv"), "3\n").unwrap();
        }
        assert_eq!(
            tree_digest(a.path()).unwrap(),
            tree_digest(b.path()).unwrap()
        );
        fs::write(b.path().join("sub/x.csv"), "1,3\n").unwrap();
        assert_ne!(
            tree_digest(a.path()).unwrap(),
            tree_digest(b.path()).unwrap()
        );
        fs::write(b.path().join("sub/x.csv"), "1,2\n").unwrap();
        fs::rename(b.path().join("y.csv"), b.path().join("z.csv")).unwrap();
        assert_ne!(
            tree_digest(a.path()).unwrap(),
            tree_digest(b.path()).unwrap()
        );
    }

    #[test]
    fn a_differing_run_is_caught() {
        let mut c = Consistency::default();
        let good = blake3::hash(b"11865,...\n");
        c.check("scan", "processes/1 run 1", good).unwrap();
        c.check("scan", "threads/2 run 3", good).unwrap();
        c.check("agg", "processes/1 run 1", blake3::hash(b"other"))
            .unwrap();
        let e = c
            .check("scan", "threads/2 run 4", blake3::hash(b"11865,..."))
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("threads/2 run 4") && text.contains("processes/1 run 1"));
    }

    #[test]
    fn a_command_whose_output_changes_between_runs_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let counter = dir.path().join("n");
        let script = format!("echo x >> '{0}'; wc -l < '{0}'", counter.display());
        let inv = sh(&script, Produces::Stdout);
        let mut c = Consistency::default();
        let first = measure(&inv).unwrap();
        c.check("count", "run 1", first.digest).unwrap();
        let second = measure(&inv).unwrap();
        assert!(c.check("count", "run 2", second.digest).is_err());
    }
}
