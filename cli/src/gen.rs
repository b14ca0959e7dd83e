//! `fleet gen`: writes deterministic synthetic datasets (see the fleet-fixtures crate).

use crate::args::{human_bytes, human_count};
use crate::Outcome;
use anyhow::Context;
use clap::{Args, ValueEnum};
use fleet_fixtures::{GenOptions, Kind};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// Headerless taxi GPS points: id,time,lon,lat,speed,heading,occupied (+ fleet.toml).
    Gps,
    /// NYC yellow-taxi style trip records with a header line.
    Trips,
}

#[derive(Args)]
pub struct GenArgs {
    /// Folder to write into (created if missing).
    outdir: PathBuf,
    #[arg(long, value_enum, default_value = "gps")]
    kind: KindArg,
    /// Number of files.
    #[arg(long, default_value_t = 4)]
    files: usize,
    /// Records per file.
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: GenArgs) -> anyhow::Result<Outcome> {
    let kind = match args.kind {
        KindArg::Gps => Kind::Gps,
        KindArg::Trips => Kind::Trips,
    };
    let started = std::time::Instant::now();
    let report = fleet_fixtures::generate(
        &args.outdir,
        &GenOptions {
            kind,
            files: args.files,
            rows: args.rows,
            seed: args.seed,
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
