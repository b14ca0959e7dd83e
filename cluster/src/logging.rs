//! Ballista's own log lines (job queued, task failed, executor lost...) on stderr, at the
//! levels `RUST_LOG` names: `RUST_LOG=info`, `RUST_LOG=warn,ballista_scheduler=debug`.
//! Nothing is printed when it is unset. A logger crate would need `log`'s `std` feature,
//! which Ballista and DataFusion do not turn on: it would rebuild all of them, so this is
//! the few lines it takes on `log::set_logger` with a static logger.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;
use std::sync::OnceLock;

/// `(target prefix, level)`; an empty prefix is the default level.
static RULES: OnceLock<Vec<(String, LevelFilter)>> = OnceLock::new();

struct StderrLog;

static LOGGER: StderrLog = StderrLog;

/// The rules of a `RUST_LOG` value: `LEVEL` and `TARGET=LEVEL` items, comma-separated;
/// items that do not parse are ignored.
fn parse(spec: &str) -> Vec<(String, LevelFilter)> {
    spec.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .filter_map(|item| {
            let (target, level) = match item.split_once('=') {
                Some((t, l)) => (t.trim(), l.trim()),
                None => match item.parse::<LevelFilter>() {
                    Ok(_) => ("", item),
                    Err(_) => (item, "trace"),
                },
            };
            Some((target.to_string(), level.parse().ok()?))
        })
        .collect()
}

/// The level for `target`: the rule with the longest matching prefix (module paths).
fn level_for(rules: &[(String, LevelFilter)], target: &str) -> LevelFilter {
    rules
        .iter()
        .filter(|(prefix, _)| target.starts_with(prefix.as_str()))
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or(LevelFilter::Off, |(_, level)| *level)
}

impl Log for StderrLog {
    fn enabled(&self, metadata: &Metadata) -> bool {
        RULES
            .get()
            .is_some_and(|rules| metadata.level() <= level_for(rules, metadata.target()))
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        let _ = writeln!(
            std::io::stderr().lock(),
            "[{level} {}] {}",
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Installs the logger if `RUST_LOG` is set (once per process; later calls do nothing).
pub fn init_logging() {
    let Some(spec) = std::env::var_os("RUST_LOG") else {
        return;
    };
    let rules = parse(&spec.to_string_lossy());
    let max = rules
        .iter()
        .map(|(_, l)| *l)
        .max()
        .unwrap_or(LevelFilter::Off);
    if RULES.set(rules).is_ok() && log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(max);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_rules() {
        let rules = parse("warn,ballista_scheduler=debug, ballista_scheduler::state=off,bogus=x");
        assert_eq!(
            level_for(&rules, "ballista_core::client"),
            LevelFilter::Warn
        );
        assert_eq!(
            level_for(&rules, "ballista_scheduler::scheduler_server"),
            LevelFilter::Debug
        );
        assert_eq!(
            level_for(&rules, "ballista_scheduler::state::task_manager"),
            LevelFilter::Off
        );
        assert_eq!(level_for(&parse(""), "x"), LevelFilter::Off);
        assert_eq!(level_for(&parse("h2"), "h2::codec"), LevelFilter::Trace);
    }
}
