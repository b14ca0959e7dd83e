//! Security: `fleet copy` never writes outside DST (symlinks in SRC pointing out, symlinks
//! planted in DST before the copy, with and without --overwrite/--resume) and follows no
//! symlink out of SRC unless -L (and then survives a loop); `scan -o` / `agg -o` refuse to
//! overwrite an input however it is named (symlink, hard link, `.`/`..` spellings); and no
//! file name or field text is ever run: fleet starts no program at all.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Every entry below `root` with its bytes (files) or target (symlinks), not following links.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            let what = if m.file_type().is_symlink() {
                format!("-> {}", fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else {
                String::from_utf8_lossy(&fs::read(&p).unwrap()).into_owned()
            };
            out.insert(rel, what);
        }
    }
    out
}

fn copy(args: &[&str], src: &Path, dst: &Path) -> Output {
    let o = output_within(fleet().arg("copy").args(args).arg(src).arg(dst), 60);
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    o
}

/// SRC with links out of it (to a file, to a folder, a loop back up) and ordinary files;
/// OUTSIDE holds what must never be written to.
struct Trees {
    _tmp: tempfile::TempDir,
    src: PathBuf,
    outside: PathBuf,
    root: PathBuf,
}

fn trees() -> Trees {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let (src, outside) = (root.join("src"), root.join("outside"));
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret.txt"), "secret\n").unwrap();
    fs::write(src.join("top.csv"), "1,2\n").unwrap();
    fs::write(src.join("sub/f.csv"), "3,4\n").unwrap();
    fs::write(src.join("..dots..csv"), "5,6\n").unwrap();
    symlink("../outside/secret.txt", src.join("link_out")).unwrap();
    symlink(&outside, src.join("dirlink")).unwrap();
    symlink("..", src.join("sub/loop")).unwrap();
    Trees {
        _tmp: tmp,
        src,
        outside,
        root,
    }
}

#[test]
fn copy_keeps_symlinks_as_links_and_writes_only_inside_dst() {
    let t = trees();
    let outside_before = snapshot(&t.outside);
    let dst = t.root.join("dst");
    let o = copy(&["--quiet"], &t.src, &dst);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = snapshot(&dst);
    // Links are copied as links, byte for byte, not followed.
    assert_eq!(got, snapshot(&t.src));
    assert_eq!(
        got[Path::new("dirlink")],
        format!("-> {}", t.outside.display())
    );
    assert_eq!(snapshot(&t.outside), outside_before);
}

#[test]
fn copy_follows_links_only_with_dash_l_and_survives_a_loop() {
    let t = trees();
    let outside_before = snapshot(&t.outside);
    let dst = t.root.join("dst");
    let o = copy(&["--quiet", "-L"], &t.src, &dst);
    let err = stderr(&o);
    // The loop is named, the rest is copied with the links' contents, nothing hangs.
    assert!(!o.status.success());
    assert!(err.contains("loop") && err.contains("sub/loop"), "{err}");
    let got = snapshot(&dst);
    assert_eq!(got[Path::new("link_out")], "secret\n");
    assert_eq!(got[Path::new("dirlink/secret.txt")], "secret\n");
    assert_eq!(got[Path::new("sub/f.csv")], "3,4\n");
    assert!(!got.contains_key(Path::new("sub/loop")));
    assert_eq!(snapshot(&t.outside), outside_before);
}

#[test]
fn symlinks_planted_in_dst_are_never_written_through() {
    let t = trees();
    let outside_before = snapshot(&t.outside);
    for flags in [
        &[][..],
        &["--overwrite"],
        &["--resume"],
        &["--resume", "--verify"],
    ] {
        let dst = t.root.join(format!("dst{}", flags.join("")));
        fs::create_dir_all(&dst).unwrap();
        // DST/sub is a link to a folder outside; DST/top.csv a link to a file outside.
        symlink(&t.outside, dst.join("sub")).unwrap();
        symlink(t.outside.join("secret.txt"), dst.join("top.csv")).unwrap();
        let args: Vec<&str> = [&["--quiet"][..], flags].concat();
        let o = copy(&args, &t.src, &dst);
        let err = stderr(&o);
        assert_eq!(snapshot(&t.outside), outside_before, "{flags:?}: {err}");
        // Into a planted folder link nothing is copied: the entry fails, named.
        assert!(!o.status.success(), "{flags:?}");
        assert!(
            err.contains(&format!("{}", dst.join("sub").display())),
            "{flags:?}: {err}"
        );
        assert_eq!(
            fs::read_link(dst.join("sub")).unwrap(),
            t.outside,
            "{flags:?}"
        );
        // A planted file link is replaced (as a link, by rename) or kept, never written to.
        let top = fs::symlink_metadata(dst.join("top.csv")).unwrap();
        if top.file_type().is_symlink() {
            assert!(flags.is_empty() || flags == ["--resume"], "{flags:?}");
        } else {
            assert_eq!(fs::read(dst.join("top.csv")).unwrap(), b"1,2\n");
        }
    }
}

#[test]
fn copy_through_dot_dot_arguments_stays_inside_dst() {
    let t = trees();
    let outside_before = snapshot(&t.outside);
    let src = t.root.join("outside/../src/./sub/..");
    let dst = t.root.join("src/../dst/./x/..");
    fs::create_dir_all(t.root.join("dst/x")).unwrap();
    let o = copy(&["--quiet"], &src, &dst);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut want = snapshot(&t.src);
    want.insert(PathBuf::from("x"), "dir".to_string());
    assert_eq!(snapshot(&t.root.join("dst")), want);
    assert_eq!(snapshot(&t.outside), outside_before);
}

#[test]
fn output_never_overwrites_an_input_under_any_name() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("data")).unwrap();
    let input = d.join("data/in.csv");
    fs::write(&input, "1,a\n2,b\n").unwrap();
    symlink(&input, d.join("out-symlink.csv")).unwrap();
    fs::hard_link(&input, d.join("out-hardlink.csv")).unwrap();
    symlink(d.join("out-symlink.csv"), d.join("out-symlink2.csv")).unwrap();
    let names = [
        "out-symlink.csv",
        "out-symlink2.csv",
        "out-hardlink.csv",
        "data/./in.csv",
        "data/../data/in.csv",
    ];
    for name in names {
        for cmd in [&["scan"][..], &["agg", "--agg", "count"]] {
            for inputs in ["data", "data/in.csv"] {
                let o = output_within(
                    fleet().current_dir(d).args(cmd).args(["-o", name, inputs]),
                    60,
                );
                let err = stderr(&o);
                assert!(!o.status.success(), "{cmd:?} -o {name} {inputs}");
                assert!(
                    err.contains("is one of the inputs") && err.contains(name),
                    "{cmd:?} -o {name}: {err}"
                );
                assert_eq!(fs::read(&input).unwrap(), b"1,a\n2,b\n");
            }
        }
    }
    assert!(fs::symlink_metadata(d.join("out-symlink.csv"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn names_and_fields_are_data_never_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let data = d.join("data");
    fs::create_dir(&data).unwrap();
    // Relative, so it can be part of a file name; a shell run in d or data would create it.
    let payload = "PWNED";
    let names = [
        format!("$(touch {payload}).csv"),
        format!("`touch {payload}`.csv"),
        format!(";touch {payload};.csv"),
        "--where=1=1.csv".to_string(),
        "-o.csv".to_string(),
        "|sh.csv".to_string(),
    ];
    for (i, name) in names.iter().enumerate() {
        fs::write(
            data.join(name),
            format!("{i},\"$(touch {payload})\",`id`\n{i},;rm -rf /;,|sh\n"),
        )
        .unwrap();
    }
    let o = output_within(
        fleet()
            .current_dir(d)
            .args(["scan", "--no-header", "--where", "2~touch", "data"]),
        60,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), names.len());
    let o = output_within(
        fleet().current_dir(d).args([
            "agg",
            "--no-header",
            "--group-by",
            "3",
            "--agg",
            "count",
            "data",
        ]),
        60,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "3,count\n`id`,6\n|sh,6\n");
    let o = output_within(
        fleet().current_dir(d).args(["copy", "-q", "data", "copy"]),
        60,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(snapshot(&d.join("copy")), snapshot(&data));
    for dir in [d, &data, &d.join("copy")] {
        assert!(
            !dir.join(payload).exists(),
            "something ran a command from the data"
        );
    }

    // And structurally: no source file of the binary can start a program. The one crate
    // that does, the harness `fleet bench` times its runs with (benches/src), is left out:
    // it only ever starts fleet's own executable (std::env::current_exe) with arguments of
    // its own.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in ["engine/src", "copy/src", "cli/src", "fixtures/src"] {
        for (path, text) in snapshot(&root.join(dir)) {
            for call in [
                "Command::new",
                "libc::system",
                "execv",
                "posix_spawn",
                "popen(",
            ] {
                assert!(!text.contains(call), "{dir}/{} uses {call}", path.display());
            }
        }
    }
}
