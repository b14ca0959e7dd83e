//! Progress bars drawn by the coordinator from the shared counters: one line per worker (as
//! tqdm's `position=` gives one line per process) and a total with bytes, records, matches,
//! throughput and ETA. Drawn only from the coordinator's own loop (no ticker thread, so
//! forking stays safe), at most ~15 times a second, and only on a terminal unless asked.

use crate::args::human_count;
use clap::ValueEnum;
use fleet_engine::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::io::IsTerminal;
use std::io::Write;

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
    pub fn new(mode: ProgressMode, quiet: bool, total_bytes: u64, workers: usize) -> Option<Bars> {
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
        let total_style = ProgressStyle::with_template(
            "{bar:30.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let total = multi.add(ProgressBar::new(total_bytes).with_style(total_style));
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
            bar.set_message(format!(
                "{} records {} matches  {file}",
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
