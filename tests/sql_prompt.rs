//! `fleet sql`'s prompt at a terminal (feature `sql`): run on a pseudo-terminal, it edits
//! lines and keeps the statements typed in a history file that the next session recalls
//! with the up arrow.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

mod common;

/// A terminal for one `fleet sql` session: the child's stdin, stdout and stderr are the
/// pseudo-terminal's slave side; the test types into and reads from the master side.
struct Session {
    master: File,
    child: Child,
    seen: Vec<u8>,
}

impl Session {
    /// `None` where the system has no pseudo-terminals to give (said on stderr).
    fn start(table: &Path, history: &Path) -> Option<Session> {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two new descriptors into the out-pointers; name and
        // termios may be null, and `size` outlives the call.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        if rc != 0 {
            eprintln!(
                "SKIPPED: no pseudo-terminal here (openpty: {})",
                std::io::Error::last_os_error()
            );
            return None;
        }
        // SAFETY: both descriptors were just opened by openpty and are owned by nothing else.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
        let child = common::fleet()
            .args(["sql", "-q", "-j", "2", "-t"])
            .arg(format!("gps={}", table.display()))
            .env("TERM", "xterm")
            .env("FLEET_HISTORY", history)
            .stdin(stdio(&slave))
            .stdout(stdio(&slave))
            .stderr(stdio(&slave))
            .spawn()
            .unwrap();
        drop(slave);
        Some(Session {
            master,
            child,
            seen: Vec::new(),
        })
    }

    /// Reads the terminal until `text` has appeared since the last call, answering the
    /// editor's cursor-position queries as a terminal would. Fails after a minute.
    fn expect(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut answered = 0;
        loop {
            if let Some(i) = find(&self.seen, text.as_bytes()) {
                self.seen.drain(..i + text.len());
                return;
            }
            let queries = self.seen.windows(4).filter(|w| w == b"\x1b[6n").count();
            while answered < queries {
                self.master.write_all(b"\x1b[1;1R").unwrap();
                answered += 1;
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} on the terminal; it shows {:?}",
                String::from_utf8_lossy(&self.seen)
            );
            let mut pollfd = libc::pollfd {
                fd: std::os::fd::AsRawFd::as_raw_fd(&self.master),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let ready = unsafe { libc::poll(&mut pollfd, 1, 1000) };
            if ready > 0 {
                let mut buf = [0u8; 4096];
                match self.master.read(&mut buf) {
                    Ok(n) if n > 0 => self.seen.extend_from_slice(&buf[..n]),
                    // EIO once the child has closed its side.
                    _ => panic!(
                        "the terminal closed before {text:?}; it showed {:?}",
                        String::from_utf8_lossy(&self.seen)
                    ),
                }
            }
        }
    }

    fn typed(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
    }

    fn exit_code(mut self) -> Option<i32> {
        self.child.wait().unwrap().code()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn the_prompt_keeps_a_history_the_next_session_recalls() {
    let data = common::gps(1, 200);
    let home = tempfile::tempdir().unwrap();
    let history = home.path().join("history");

    // Typed, edited (a typo rubbed out with backspace), run; then \q.
    let Some(mut first) = Session::start(data.path(), &history) else {
        return;
    };
    first.expect("fleet> ");
    first.typed("SELECT 6 * 7 AS answerX\x7f, count(*) AS n FROM gps;\r");
    first.expect("42");
    first.expect("200");
    first.expect("fleet> ");
    first.typed("\\q\r");
    assert_eq!(first.exit_code(), Some(0));
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(
        saved.contains("SELECT 6 * 7 AS answer, count(*) AS n FROM gps;"),
        "{saved:?}"
    );

    // The next session: the up arrow, twice (past `\q`), brings the statement back; Ctrl-D
    // ends the prompt.
    let mut second = Session::start(data.path(), &history).unwrap();
    second.expect("fleet> ");
    second.typed("\x1b[A\x1b[A\r");
    second.expect("42");
    second.expect("200");
    second.expect("fleet> ");
    second.typed("\x04");
    assert_eq!(second.exit_code(), Some(0));

    // Ctrl-C at the prompt exits with 130, as everywhere in fleet.
    let mut third = Session::start(data.path(), &history).unwrap();
    third.expect("fleet> ");
    third.typed("\x03");
    assert_eq!(third.exit_code(), Some(130));
}
