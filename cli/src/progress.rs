//! Progress bars drawn by the coordinator from the shared counters: one line per worker (as
//! tqdm's `position=` gives one line per process) and a total with bytes, records, matches,
//! throughput and ETA. Drawn only from the coordinator's own loop (no ticker thread, so
//! forking stays safe), at most ~15 times a second, and only on a terminal unless asked. A
//! worker that has held its chunk without progress for a while says so on its line, before
//! the stall watchdog acts on it.

use crate::args::human_count;
use clap::ValueEnum;
use fleet_engine::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::io::IsTerminal;
use std::io::Write;
use std::time::Duration;

/// A worker quiet this long is shown as such (sooner when the stall timeout is under twice
/// this): chunks normally end in well under a second, so a few seconds is worth a word.
const SHOW_QUIET: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// On when stderr is a terminal.
    #[default]
    Auto,
    /// Always, even into a file or pipe.
    Always,
    /// Never.
    Never,
}

/// Where progress is drawn, or `None` when it is not to be shown: on a terminal unless
/// quiet (`auto`), never, or always, even into a file or pipe.
pub fn draw_target(mode: ProgressMode, quiet: bool) -> Option<ProgressDrawTarget> {
    let terminal = std::io::stderr().is_terminal();
    let show = match mode {
        ProgressMode::Never => false,
        ProgressMode::Always => true,
        ProgressMode::Auto => !quiet && terminal,
    };
    if !show {
        return None;
    }
    Some(if terminal {
        ProgressDrawTarget::stderr_with_hz(15)
    } else {
        // indicatif hides bars on a non-terminal; `always` means always (e.g. into a log).
        ProgressDrawTarget::term_like_with_hz(Box::new(PlainStderr), 15)
    })
}

pub struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    workers: Vec<ProgressBar>,
}

impl Bars {
    /// Bars for `workers` workers, or `None` when progress is not to be shown.
    /// `total_bytes` is `None` when it is not known (standard input).
    pub fn new(
        mode: ProgressMode,
        quiet: bool,
        total_bytes: Option<u64>,
        workers: usize,
    ) -> Option<Bars> {
        let target = draw_target(mode, quiet)?;
        let multi = MultiProgress::with_draw_target(target);
        let worker_style = ProgressStyle::with_template("  worker {prefix:>2} {bytes:>10} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let workers = (0..workers)
            .map(|i| {
                let bar = multi.add(ProgressBar::new(0).with_style(worker_style.clone()));
                bar.set_prefix((i + 1).to_string());
                bar
            })
            .collect();
        let template = match total_bytes {
            Some(_) => {
                "{bar:30.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}"
            }
            None => "{spinner} {bytes} read {binary_bytes_per_sec} {msg}",
        };
        let total_style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let total = multi.add(ProgressBar::new(total_bytes.unwrap_or(0)).with_style(total_style));
        Some(Bars {
            multi,
            total,
            workers,
        })
    }

    pub fn update(&self, p: &Progress) {
        for (bar, w) in self.workers.iter().zip(&p.workers) {
            bar.set_position(w.bytes);
            let file = w
                .file
                .as_ref()
                .and_then(|f| f.file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "idle".to_string());
            let quiet = quiet_note(w.quiet, p.stall_timeout)
                .map(|note| format!("  {note}"))
                .unwrap_or_default();
            bar.set_message(format!(
                "{} records {} matches  {file}{quiet}",
                human_count(w.records),
                human_count(w.matches)
            ));
        }
        self.total.set_position(p.bytes);
        self.total.set_message(format!(
            "{} records, {} matches",
            human_count(p.records),
            human_count(p.matches)
        ));
    }

    pub fn finish(self) {
        for bar in &self.workers {
            bar.finish_and_clear();
        }
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }
}

/// What a worker's line says once it has held its chunk `quiet` without progress, e.g.
/// "no progress for 31 s (stall timeout 120 s)"; nothing before that is worth saying.
pub fn quiet_note(quiet: Duration, timeout: Option<Duration>) -> Option<String> {
    let shown_after = timeout.map_or(SHOW_QUIET, |t| SHOW_QUIET.min(t / 2));
    if quiet < shown_after.max(Duration::from_secs(1)) {
        return None;
    }
    let limit = match timeout {
        Some(t) => format!("stall timeout {}", seconds(t)),
        None => "no stall timeout".to_string(),
    };
    Some(format!("no progress for {} ({limit})", seconds(quiet)))
}

/// Whole seconds, or tenths below ten: "31 s", "1.5 s".
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 && d.subsec_millis() >= 100 {
        format!("{s:.1} s")
    } else {
        format!("{} s", d.as_secs())
    }
}

/// stderr as a terminal of fixed width, for `--progress always` when it is not one.
#[derive(Debug)]
struct PlainStderr;

impl TermLike for PlainStderr {
    fn width(&self) -> u16 {
        120
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        write!(std::io::stderr(), "\x1b[{n}A")
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        write!(std::io::stderr(), "\x1b[{n}B")
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        write!(std::io::stderr(), "\x1b[{n}C")
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        write!(std::io::stderr(), "\x1b[{n}D")
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        writeln!(std::io::stderr(), "{s}")
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        write!(std::io::stderr(), "{s}")
    }

    fn clear_line(&self) -> std::io::Result<()> {
        write!(std::io::stderr(), "\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_worker_is_named_before_its_timeout() {
        let s = Duration::from_secs;
        assert_eq!(quiet_note(Duration::from_millis(900), Some(s(120))), None);
        assert_eq!(quiet_note(s(2), Some(s(120))), None);
        assert_eq!(
            quiet_note(s(31), Some(s(120))).as_deref(),
            Some("no progress for 31 s (stall timeout 120 s)")
        );
        // A short timeout: shown from half of it on (but never under a second).
        assert_eq!(
            quiet_note(Duration::from_millis(1500), Some(s(2))).as_deref(),
            Some("no progress for 1.5 s (stall timeout 2 s)")
        );
        assert_eq!(quiet_note(Duration::from_millis(700), Some(s(1))), None);
        assert_eq!(
            quiet_note(s(4), None).as_deref(),
            Some("no progress for 4 s (no stall timeout)")
        );
    }
}
