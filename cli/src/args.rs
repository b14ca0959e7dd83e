//! Argument value parsers shared by subcommands.

use std::fmt;
use std::time::Duration;

/// Parses a byte size: `4096`, `64KiB`, `8MiB`, `1GiB` (also `K`/`M`/`G`, `KB`/`MB`/`GB` as
/// powers of 1024: sizes here are about memory, not marketing).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 8MiB, 65536)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit '{other}' in '{text}' (use KiB, MiB or GiB)"
            ))
        }
    };
    let size = n
        .checked_mul(mult)
        .ok_or_else(|| format!("'{text}' is too large"))?;
    if size == 0 {
        return Err("a size must be at least 1 byte".to_string());
    }
    Ok(size)
}

/// A timeout from the command line: `None` is `0`, "never".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("0"),
            Some(d) if d.subsec_nanos() == 0 => write!(f, "{}s", d.as_secs()),
            Some(d) => write!(f, "{}ms", d.as_millis()),
        }
    }
}

/// Parses a timeout: `120s`, `2m`, `1h`, `500ms`, `1.5s`, a bare number of seconds, or `0`
/// for none.
pub fn parse_timeout(text: &str) -> Result<Timeout, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || format!("'{text}' is not a duration (e.g. 120s, 2m, 500ms, or 0 for none)");
    let n: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if seconds == 0.0 {
        return Ok(Timeout(None));
    }
    Duration::try_from_secs_f64(seconds)
        .map(|d| Timeout(Some(d)))
        .map_err(|_| bad())
}

pub fn parse_delimiter(text: &str) -> Result<u8, String> {
    fleet_engine::input::descriptor::parse_delimiter(text)
}

/// Formats a byte count for people: 1.5 GiB.
pub fn human_bytes(n: u64) -> String {
    fleet_engine::text::human_bytes(n)
}

/// Formats a count with thousands separators: 12,345,678.
pub fn human_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1"), Ok(1));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn timeouts() {
        let secs = |s| Ok(Timeout(Some(Duration::from_secs(s))));
        assert_eq!(parse_timeout("120s"), secs(120));
        assert_eq!(parse_timeout("120"), secs(120));
        assert_eq!(parse_timeout("2m"), secs(120));
        assert_eq!(parse_timeout("1h"), secs(3600));
        assert_eq!(
            parse_timeout("1.5s"),
            Ok(Timeout(Some(Duration::from_millis(1500))))
        );
        assert_eq!(
            parse_timeout("250ms"),
            Ok(Timeout(Some(Duration::from_millis(250))))
        );
        assert_eq!(parse_timeout("0"), Ok(Timeout(None)));
        assert_eq!(parse_timeout("0s"), Ok(Timeout(None)));
        for bad in ["", "s", "-1s", "5 parsecs", "1e3", "1..2s"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
        for t in ["120s", "0", "1500ms"] {
            assert_eq!(parse_timeout(t).map(|d| d.to_string()), Ok(t.to_string()));
        }
    }

    #[test]
    fn counts() {
        assert_eq!(human_count(0), "0");
        assert_eq!(human_count(1234), "1,234");
        assert_eq!(human_count(12345678), "12,345,678");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
    }
}
