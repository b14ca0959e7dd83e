//! Input file discovery: turns the command line's PATHs into the ordered list of files to scan.
//!
//! Directories are walked recursively in sorted order so that output order is stable from run
//! to run; files in them are picked by name pattern, and the ones passed over are counted by
//! reason ([`Skipped`]) so the CLI can say why a directory yielded nothing. Files that cannot be
//! read are collected rather than fatal ([`Unreadable`]): one bad file in a large dataset
//! should be reported, not stop the scan. A file named explicitly is trusted more (any name is
//! taken) but also checked more strictly (empty or binary is an error), because the user
//! asked for that file in particular.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use crate::input::descriptor;

/// How much of a file is looked at for a NUL byte before deciding it is binary.
const SNIFF_LEN: usize = 8 * 1024;

/// The default patterns as shown; each also takes its compressed form (`*.csv.gz`, `*.csv.zst`).
const DEFAULT_PATTERNS: &[&str] = &["*.csv", "*.txt", "*.tsv"];
const COMPRESSED_SUFFIXES: &[&str] = &["", ".gz", ".zst", ".zstd"];

#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// Replaces the default patterns. Matched against the file name, or against the path
    /// relative to the walked directory when it contains '/'. Case-insensitive, like the
    /// defaults.
    pub glob: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub size: u64,
    /// Named on the command line rather than found by walking a directory.
    pub explicit: bool,
}

/// Files passed over while walking directories, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    pub hidden: u64,
    pub not_matching: u64,
    pub binary: u64,
    pub empty: u64,
}

impl Skipped {
    pub fn total(&self) -> u64 {
        self.hidden + self.not_matching + self.binary + self.empty
    }
}

#[derive(Debug, Clone)]
pub struct Unreadable {
    pub path: PathBuf,
    /// The operating system's explanation, one line.
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub files: Vec<InputFile>,
    pub skipped: Skipped,
    pub unreadable: Vec<Unreadable>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("no such file or directory: {}", .0.display())]
    NotFound(PathBuf),
    #[error("{} is empty; nothing to scan", .0.display())]
    Empty(PathBuf),
    #[error("{} looks binary (NUL byte at offset {offset}); not a CSV file", .path.display())]
    Binary { path: PathBuf, offset: u64 },
    #[error("invalid --glob '{pattern}': {message}")]
    BadGlob { pattern: String, message: String },
    #[error("no input files in {} ({})", join_paths(.paths), skipped_text(.skipped, .patterns))]
    NoFiles {
        paths: Vec<PathBuf>,
        skipped: Skipped,
        /// The patterns in force, as shown to the user (`*.csv|*.txt|*.tsv`).
        patterns: String,
    },
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn skipped_text(s: &Skipped, patterns: &str) -> String {
    let mut parts = Vec::new();
    if s.hidden > 0 {
        parts.push(format!("{} hidden", s.hidden));
    }
    if s.not_matching > 0 {
        parts.push(format!("{} not matching {patterns}", s.not_matching));
    }
    if s.binary > 0 {
        parts.push(format!("{} binary", s.binary));
    }
    if s.empty > 0 {
        parts.push(format!("{} empty", s.empty));
    }
    if parts.is_empty() {
        "found no files".to_string()
    } else {
        format!("skipped: {}", parts.join(", "))
    }
}

/// Which walked files to take.
struct Matcher {
    set: GlobSet,
    /// Match the path relative to the walked directory instead of the file name.
    by_path: bool,
    shown: String,
}

impl Matcher {
    fn new(glob: Option<&str>) -> Result<Matcher, DiscoverError> {
        let defaults: Vec<String> = DEFAULT_PATTERNS
            .iter()
            .flat_map(|p| COMPRESSED_SUFFIXES.iter().map(move |s| format!("{p}{s}")))
            .collect();
        let (patterns, by_path): (Vec<&str>, bool) = match glob {
            None => (defaults.iter().map(String::as_str).collect(), false),
            Some(g) => {
                let g = g.strip_prefix("./").unwrap_or(g);
                (vec![g], g.contains('/'))
            }
        };
        let mut builder = GlobSetBuilder::new();
        for pattern in &patterns {
            let glob = GlobBuilder::new(pattern)
                .case_insensitive(true)
                // In path patterns `*` stays within one directory level; `**` crosses.
                .literal_separator(by_path)
                .build()
                .map_err(|e| DiscoverError::BadGlob {
                    pattern: crate::text::one_line(glob.unwrap_or(pattern)),
                    message: e.kind().to_string(),
                })?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| DiscoverError::BadGlob {
            pattern: crate::text::one_line(glob.unwrap_or_default()),
            message: e.to_string(),
        })?;
        Ok(Matcher {
            set,
            by_path,
            shown: match glob {
                None => DEFAULT_PATTERNS.join("|"),
                Some(_) => patterns.join("|"),
            },
        })
    }

    fn matches(&self, root: &Path, path: &Path) -> bool {
        if self.by_path {
            path.strip_prefix(root)
                .map(|rel| self.set.is_match(rel))
                .unwrap_or(false)
        } else {
            path.file_name().is_some_and(|n| self.set.is_match(n))
        }
    }
}

/// What the first bytes of a file say about it.
enum Sniff {
    Text,
    Binary(u64),
}

fn sniff(path: &Path) -> io::Result<Sniff> {
    // Compressed data holds NUL bytes; its content is checked when it is decompressed.
    if crate::input::compress::Compression::from_path(path).is_some() {
        return Ok(Sniff::Text);
    }
    let mut file = fs::File::open(path)?;
    let mut buf = [0u8; SNIFF_LEN];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(match memchr::memchr(0, &buf[..filled]) {
        Some(offset) => Sniff::Binary(offset as u64),
        None => Sniff::Text,
    })
}

fn unreadable(path: &Path, reason: impl ToString) -> Unreadable {
    Unreadable {
        path: path.to_path_buf(),
        reason: crate::text::one_line(&reason.to_string()),
    }
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.as_encoded_bytes().first() == Some(&b'.'))
}

/// Finds the input files for `paths`, in the order given; see the module docs.
pub fn discover(paths: &[PathBuf], opts: &DiscoverOptions) -> Result<Discovery, DiscoverError> {
    let matcher = Matcher::new(opts.glob.as_deref())?;
    let mut out = Discovery::default();
    for path in paths {
        if crate::input::stdin::is_stdin(path) {
            // Standard input: its size is unknown and it is read once, as a stream.
            out.files.push(InputFile {
                path: path.clone(),
                size: 0,
                explicit: true,
            });
            continue;
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &matcher, &mut out),
            Ok(meta) if meta.is_file() => explicit_file(path, meta.len(), &mut out)?,
            // Opening a FIFO or device would block or never end; the scanner needs a file.
            Ok(_) => out
                .unreadable
                .push(unreadable(path, "not a regular file or directory")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if fs::symlink_metadata(path).is_ok() {
                    out.unreadable
                        .push(unreadable(path, format!("broken symbolic link ({e})")));
                } else {
                    return Err(DiscoverError::NotFound(path.clone()));
                }
            }
            Err(e) => out.unreadable.push(unreadable(path, e)),
        }
    }
    if out.files.is_empty() && out.unreadable.is_empty() {
        return Err(DiscoverError::NoFiles {
            paths: paths.to_vec(),
            skipped: out.skipped,
            patterns: matcher.shown,
        });
    }
    Ok(out)
}

fn explicit_file(path: &Path, size: u64, out: &mut Discovery) -> Result<(), DiscoverError> {
    if size == 0 {
        return Err(DiscoverError::Empty(path.to_path_buf()));
    }
    match sniff(path) {
        Ok(Sniff::Binary(offset)) => Err(DiscoverError::Binary {
            path: path.to_path_buf(),
            offset,
        }),
        Ok(Sniff::Text) => {
            out.files.push(InputFile {
                path: path.to_path_buf(),
                size,
                explicit: true,
            });
            Ok(())
        }
        Err(e) => {
            out.unreadable.push(unreadable(path, e));
            Ok(())
        }
    }
}

fn walk(root: &Path, matcher: &Matcher, out: &mut Discovery) {
    let mut entries = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err.path().unwrap_or(root);
                if err.depth() > 0 && is_hidden(path) {
                    out.skipped.hidden += 1;
                } else {
                    let reason = match err.io_error() {
                        Some(io) => io.to_string(),
                        None => err.to_string(),
                    };
                    out.unreadable.push(unreadable(path, reason));
                }
                continue;
            }
        };
        // The root was named by the user, so it counts even if it is ".data" or ".".
        if entry.depth() > 0 && is_hidden(entry.path()) {
            out.skipped.hidden += 1;
            if entry.file_type().is_dir() {
                entries.skip_current_dir();
            }
            continue;
        }
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        if entry.file_name() == descriptor::FILE_NAME {
            continue;
        }
        if !file_type.is_file() || !matcher.matches(root, entry.path()) {
            out.skipped.not_matching += 1;
            continue;
        }
        let size = match entry.metadata() {
            Ok(meta) => meta.len(),
            Err(err) => {
                let reason = match err.io_error() {
                    Some(io) => io.to_string(),
                    None => err.to_string(),
                };
                out.unreadable.push(unreadable(entry.path(), reason));
                continue;
            }
        };
        if size == 0 {
            out.skipped.empty += 1;
            continue;
        }
        match sniff(entry.path()) {
            Ok(Sniff::Binary(_)) => out.skipped.binary += 1,
            Ok(Sniff::Text) => out.files.push(InputFile {
                path: entry.into_path(),
                size,
                explicit: false,
            }),
            Err(e) => out.unreadable.push(unreadable(entry.path(), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn put(root: &Path, rel: &str, content: &[u8]) -> PathBuf {
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, content).unwrap();
        p
    }

    fn rels(d: &Discovery, root: &Path) -> Vec<String> {
        d.files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    fn run(paths: &[PathBuf], glob: Option<&str>) -> Result<Discovery, DiscoverError> {
        discover(
            paths,
            &DiscoverOptions {
                glob: glob.map(String::from),
            },
        )
    }

    #[test]
    fn compressed_files_are_taken_beside_plain_ones_and_never_called_binary() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        // gzip headers hold NUL bytes: the content is checked once decompressed instead.
        put(root, "a.csv.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00");
        put(root, "b.csv", b"x\n");
        put(root, "c.tsv.ZST", b"\x28\xb5\x2f\xfd\x00");
        put(root, "d.gz", b"\x1f\x8b");
        put(root, "e.csv.bz2", b"BZh");
        let d = run(&[root.to_path_buf()], None).unwrap();
        assert_eq!(rels(&d, root), ["a.csv.gz", "b.csv", "c.tsv.ZST"]);
        assert_eq!(d.skipped.not_matching, 2);
        assert_eq!(d.skipped.binary, 0);
        let d = run(&[root.to_path_buf()], Some("*.gz")).unwrap();
        assert_eq!(rels(&d, root), ["a.csv.gz", "d.gz"]);
    }

    #[test]
    fn walks_nested_dirs_in_sorted_order() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        put(root, "b/2.csv", b"x\n");
        put(root, "b/1.csv", b"x\n");
        put(root, "a.csv", b"x\n");
        put(root, "c/d/e.TXT", b"x\n");
        put(root, "c/a.tsv", b"x\n");
        put(root, "z.csv", b"xyz\n");
        let d = run(&[root.to_path_buf()], None).unwrap();
        assert_eq!(
            rels(&d, root),
            [
                "a.csv",
                "b/1.csv",
                "b/2.csv",
                "c/a.tsv",
                "c/d/e.TXT",
                "z.csv"
            ]
        );
        assert!(d.files.iter().all(|f| !f.explicit));
        assert_eq!(d.files[5].size, 4);
        assert_eq!(d.skipped, Skipped::default());
        assert!(d.unreadable.is_empty());
    }

    #[test]
    fn paths_keep_command_line_order() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let z = put(root, "z.csv", b"1\n");
        put(root, "dir/a.csv", b"1\n");
        let d = run(&[z, root.join("dir")], None).unwrap();
        assert_eq!(rels(&d, root), ["z.csv", "dir/a.csv"]);
        assert!(d.files[0].explicit);
        assert!(!d.files[1].explicit);
    }

    #[test]
    fn counts_skipped_by_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        put(root, "ok.csv", b"1,2\n");
        put(root, ".hidden.csv", b"1\n");
        put(root, ".git/objects/x.csv", b"1\n");
        put(root, ".git/y.csv", b"1\n");
        put(root, "notes.md", b"hi\n");
        put(root, "data.parquet", b"PAR1");
        put(root, "fleet.toml", b"header = true\n");
        put(root, "empty.csv", b"");
        let mut bin = vec![b'a'; 100];
        bin.push(0);
        put(root, "blob.csv", &bin);
        let d = run(&[root.to_path_buf()], None).unwrap();
        assert_eq!(rels(&d, root), ["ok.csv"]);
        assert_eq!(
            d.skipped,
            Skipped {
                hidden: 2,
                not_matching: 2,
                binary: 1,
                empty: 1
            }
        );
        assert_eq!(d.skipped.total(), 6);
    }

    #[test]
    fn nul_beyond_sniff_window_is_not_binary() {
        let tmp = tempfile::tempdir().unwrap();
        let mut content = vec![b'a'; SNIFF_LEN];
        content.push(0);
        let p = put(tmp.path(), "late.csv", &content);
        let d = run(&[tmp.path().to_path_buf()], None).unwrap();
        assert_eq!(d.files.len(), 1);
        assert!(run(&[p], None).is_ok());
    }

    #[test]
    fn hidden_root_is_walked() {
        let tmp = tempfile::tempdir().unwrap();
        put(tmp.path(), ".data/a.csv", b"1\n");
        let d = run(&[tmp.path().join(".data")], None).unwrap();
        assert_eq!(d.files.len(), 1);
        assert_eq!(d.skipped.hidden, 0);
    }

    #[test]
    fn glob_replaces_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        put(root, "a.csv", b"1\n");
        put(root, "b.dat", b"1\n");
        put(root, "sub/c.DAT", b"1\n");
        let d = run(&[root.to_path_buf()], Some("*.dat")).unwrap();
        assert_eq!(rels(&d, root), ["b.dat", "sub/c.DAT"]);
        assert_eq!(d.skipped.not_matching, 1);
        let d = run(&[root.to_path_buf()], Some("*.{csv,dat}")).unwrap();
        assert_eq!(d.files.len(), 3);
    }

    #[test]
    fn glob_with_slash_matches_relative_path() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        put(root, "2015/01/a.csv", b"1\n");
        put(root, "2015/b.csv", b"1\n");
        put(root, "2016/c.csv", b"1\n");
        let d = run(&[root.to_path_buf()], Some("2015/*.csv")).unwrap();
        assert_eq!(rels(&d, root), ["2015/b.csv"]);
        let d = run(&[root.to_path_buf()], Some("2015/**/*.csv")).unwrap();
        assert_eq!(rels(&d, root), ["2015/01/a.csv", "2015/b.csv"]);
        let d = run(&[root.to_path_buf()], Some("./2016/*.csv")).unwrap();
        assert_eq!(rels(&d, root), ["2016/c.csv"]);
    }

    #[test]
    fn bad_glob() {
        let tmp = tempfile::tempdir().unwrap();
        let e = run(&[tmp.path().to_path_buf()], Some("a[")).unwrap_err();
        assert!(
            matches!(&e, DiscoverError::BadGlob { pattern, .. } if pattern == "a["),
            "{e:?}"
        );
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn explicit_file_with_any_name_is_taken() {
        let tmp = tempfile::tempdir().unwrap();
        let p = put(tmp.path(), "trips.log", b"1,2\n");
        let d = run(std::slice::from_ref(&p), Some("*.csv")).unwrap();
        assert_eq!(d.files.len(), 1);
        assert_eq!(d.files[0].path, p);
        assert_eq!(d.files[0].size, 4);
        assert!(d.files[0].explicit);
    }

    #[test]
    fn explicit_empty_and_binary_are_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = put(tmp.path(), "e.csv", b"");
        let e = run(std::slice::from_ref(&empty), None).unwrap_err();
        assert!(matches!(&e, DiscoverError::Empty(p) if *p == empty));
        let bin = put(tmp.path(), "b.csv", b"abc\0def");
        let e = run(std::slice::from_ref(&bin), None).unwrap_err();
        assert!(
            matches!(e, DiscoverError::Binary { offset: 3, .. }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "{} looks binary (NUL byte at offset 3); not a CSV file",
                bin.display()
            )
        );
    }

    #[test]
    fn missing_path_is_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        let ok = put(tmp.path(), "a.csv", b"1\n");
        let missing = tmp.path().join("missing");
        let e = run(&[ok, missing.clone()], None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("no such file or directory: {}", missing.display())
        );
    }

    #[test]
    fn no_files_explains_what_was_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        put(root, ".a.csv", b"1\n");
        put(root, ".b", b"1\n");
        put(root, "x.md", b"1\n");
        put(root, "y.md", b"1\n");
        put(root, "z.json", b"1\n");
        put(root, "e.csv", b"");
        let e = run(&[root.to_path_buf()], None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "no input files in {} (skipped: 2 hidden, 3 not matching *.csv|*.txt|*.tsv, 1 empty)",
                root.display()
            )
        );
        let empty_dir = root.join("nothing");
        fs::create_dir(&empty_dir).unwrap();
        let e = run(std::slice::from_ref(&empty_dir), None).unwrap_err();
        assert!(e.to_string().ends_with("(found no files)"), "{e}");
        let e = run(&[empty_dir], Some("*.dat")).unwrap_err();
        assert!(matches!(e, DiscoverError::NoFiles { ref patterns, .. } if patterns == "*.dat"));
    }

    #[cfg(unix)]
    #[test]
    fn dangling_symlink_is_unreadable_not_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        put(root, "a.csv", b"1\n");
        std::os::unix::fs::symlink(root.join("gone.csv"), root.join("link.csv")).unwrap();
        let d = run(&[root.to_path_buf()], None).unwrap();
        assert_eq!(rels(&d, root), ["a.csv"]);
        assert_eq!(d.unreadable.len(), 1);
        assert_eq!(d.unreadable[0].path, root.join("link.csv"));
        assert!(!d.unreadable[0].reason.is_empty());

        // Named directly, it is reported the same way rather than as "no such file".
        let d = run(&[root.join("link.csv")], None).unwrap();
        assert!(d.files.is_empty());
        assert_eq!(d.unreadable.len(), 1);
        assert!(d.unreadable[0].reason.contains("broken symbolic link"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let other = tmp.path().join("other");
        put(&other, "x.csv", b"1\n");
        fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&other, root.join("linked")).unwrap();
        let d = run(std::slice::from_ref(&root), None).unwrap();
        assert_eq!(rels(&d, &root), ["linked/x.csv"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loop_is_unreadable() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        put(root, "sub/a.csv", b"1\n");
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        let d = run(&[root.to_path_buf()], None).unwrap();
        assert_eq!(rels(&d, root), ["sub/a.csv"]);
        assert_eq!(d.unreadable.len(), 1, "{:?}", d.unreadable);
    }

    #[cfg(unix)]
    #[test]
    fn permission_denied_is_unreadable() {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            // Root reads everything, so there is nothing to deny.
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        put(root, "a.csv", b"1\n");
        let locked = put(root, "locked.csv", b"1\n");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        let d = run(&[root.to_path_buf()], None).unwrap();
        assert_eq!(rels(&d, root), ["a.csv"]);
        assert_eq!(d.unreadable.len(), 1);
        assert_eq!(d.unreadable[0].path, locked);
        let d = run(std::slice::from_ref(&locked), None).unwrap();
        assert!(d.files.is_empty());
        assert_eq!(d.unreadable.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn fifo_is_not_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("pipe.csv");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        put(tmp.path(), "a.csv", b"1\n");
        // Would hang if the FIFO were opened for sniffing.
        let d = run(&[tmp.path().to_path_buf()], None).unwrap();
        assert_eq!(d.files.len(), 1);
        assert_eq!(d.skipped.not_matching, 1);
        let d = run(&[fifo], None).unwrap();
        assert_eq!(d.unreadable.len(), 1);
    }
}
