//! `fleet gen`: writes deterministic synthetic datasets (see the fleet-fixtures crate).

use crate::args::{human_bytes, human_count};
use crate::Outcome;
use anyhow::Context;
use clap::{Args, ValueEnum};
use fleet_fixtures::{Dialect, GenOptions, Kind, PlateText};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// Headerless taxi GPS points: id,time,lon,lat,speed,heading,occupied (+ fleet.toml).
    Gps,
    /// NYC yellow-taxi style trip records with a header line.
    Trips,
}

/// `--dialect`: how records are written (see `fleet_fixtures::Dialect`).
#[derive(Clone, Copy, ValueEnum)]
pub enum DialectArg {
    /// LF line ends, no quotes.
    Plain,
    /// CRLF line ends (Windows exports).
    Crlf,
    /// Every field quoted (pandas quoting=ALL, database unloads), LF line ends.
    Quoted,
    /// Every field quoted and CRLF line ends (Python's csv module, Excel).
    Mixed,
}

impl DialectArg {
    pub fn dialect(self) -> Dialect {
        match self {
            DialectArg::Plain => Dialect::Plain,
            DialectArg::Crlf => Dialect::Crlf,
            DialectArg::Quoted => Dialect::Quoted,
            DialectArg::Mixed => Dialect::Mixed,
        }
    }

    /// As written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DialectArg::Plain => "plain",
            DialectArg::Crlf => "crlf",
            DialectArg::Quoted => "quoted",
            DialectArg::Mixed => "mixed",
        }
    }
}

const GEN_EXAMPLES: &str = "\
Examples:
  fleet gen data/gps --files 4 --rows 1000000        4 x 1M taxi GPS points (~240 MB) + fleet.toml
  fleet gen data/trips --kind trips --files 2         trip records with a header line
  fleet gen data/gbk --encoding gbk --rows 100000     GBK-encoded plates, as real taxi dumps
  fleet gen data/q --dialect mixed                    every field quoted, CRLF line ends";

#[derive(Args)]
#[command(after_help = GEN_EXAMPLES)]
pub struct GenArgs {
    /// Folder to write into (created if missing).
    outdir: PathBuf,
    /// What to generate.
    #[arg(long, value_enum, default_value = "gps")]
    kind: KindArg,
    /// Number of files.
    #[arg(long, default_value_t = 4)]
    files: usize,
    /// Records per file.
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    /// Seed of the generator: the same seed, kind, files and rows give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// gps only: add a licence plate column (e.g. 粤B11865) written in this encoding, utf-8
    /// or gbk, and name the encoding in fleet.toml.
    #[arg(long, value_name = "ENC")]
    encoding: Option<String>,
    /// Line ends and quoting: plain (LF), crlf, quoted (every field) or mixed (both).
    #[arg(long, value_enum, default_value = "plain")]
    dialect: DialectArg,
    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: GenArgs) -> anyhow::Result<Outcome> {
    let kind = match args.kind {
        KindArg::Gps => Kind::Gps,
        KindArg::Trips => Kind::Trips,
    };
    let plates = match args
        .encoding
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => None,
        Some("gbk") => Some(PlateText::Gbk),
        Some("utf-8" | "utf8") => Some(PlateText::Utf8),
        Some(other) => anyhow::bail!("--encoding '{other}': fleet gen writes utf-8 or gbk"),
    };
    if plates.is_some() && kind != Kind::Gps {
        anyhow::bail!("--encoding: only --kind gps has a text column to encode");
    }
    let started = std::time::Instant::now();
    let report = fleet_fixtures::generate(
        &args.outdir,
        &GenOptions {
            kind,
            files: args.files,
            rows: args.rows,
            seed: args.seed,
            plates,
            dialect: args.dialect.dialect(),
        },
    )
    .with_context(|| format!("cannot write to {}", args.outdir.display()))?;
    if !args.quiet {
        eprintln!(
            "fleet: wrote {} files, {} records, {} to {} in {:.2} s",
            report.files.len(),
            human_count(report.rows),
            human_bytes(report.bytes),
            args.outdir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(Outcome::Ok)
}
