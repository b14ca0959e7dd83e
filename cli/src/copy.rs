//! `fleet copy`: arguments, the progress bar and the summary of a parallel tree copy; the
//! copying itself is `fleet_copy`.

use crate::args::{human_bytes, human_count, parse_timeout, Timeout};
use crate::progress::{draw_target, quiet_note, ProgressMode};
use crate::Outcome;
use anyhow::bail;
use clap::Args;
use fleet_copy::{self as copy, CopyOptions, CopyProgress, CopyReport, Phase};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

const PRESERVED: &str = "\
Preserved: contents, permission bits, access and modification times, symlinks (as links, \
same target text), hard links within SRC, empty files and directories, owner and group when \
run as root. Not preserved: extended attributes, ACLs, file flags, sparseness, and owner and \
group when not root. FIFOs, sockets and device nodes are reported and not copied.

Every file is written to a hidden temporary (.fleet-copy-PID-N.tmp) in its folder and renamed \
when complete: an interrupted copy leaves no partial file under a real name, and the next run \
removes the temporaries. Files that exist in DST are skipped (and counted) unless --overwrite \
or --resume.

Examples:
  fleet copy data/gps /mnt/ssd/gps                       copy a dataset folder
  fleet copy --resume --verify data/gps /mnt/ssd/gps     finish an interrupted copy, check hashes
  fleet copy -n data /mnt/ssd/data                       list what would be copied

Exit status: 0 on success, 2 when some entry could not be copied (each is named), 130 after
Ctrl-C (files not yet complete are removed; --resume finishes the copy).";

#[derive(Args)]
#[command(after_help = PRESERVED)]
pub struct CopyArgs {
    /// The directory to copy; its contents end up in DST (as `cp -a SRC/. DST`).
    src: PathBuf,
    /// Where to copy to; created if missing.
    dst: PathBuf,
    /// Number of copying threads (default: max(4, 2 x cores); copying waits on I/O more than CPU).
    #[arg(short = 'j', long, value_name = "N")]
    workers: Option<usize>,
    /// Copy what symlinks point to instead of the links.
    #[arg(short = 'L', long)]
    dereference: bool,
    /// Replace files that already exist in DST (otherwise they are skipped and counted).
    #[arg(long)]
    overwrite: bool,
    /// Skip files whose size and modification time already match (with --verify: whose
    /// content matches); replace the others.
    #[arg(long)]
    resume: bool,
    /// After copying, hash source and copy of every copied file (BLAKE3); a mismatch fails.
    #[arg(long)]
    verify: bool,
    /// Stop the copy, naming the file, when a thread has made no progress on it for this long
    /// (or for 10x the longest a piece has taken, if that is longer): exit 2, and --resume
    /// finishes it later. 0 turns the watchdog off.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout,
          default_value_t = Timeout(Some(copy::DEFAULT_STALL_TIMEOUT)))]
    stall_timeout: Timeout,
    /// Print what would be copied, one relative path per line, and copy nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// A progress bar on stderr: bytes, files, and the files being copied.
    #[arg(long, value_enum, default_value_t)]
    progress: ProgressMode,
    /// No summary and no progress on stderr (errors are still shown).
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: CopyArgs) -> anyhow::Result<Outcome> {
    if args.workers == Some(0) {
        bail!("--workers must be at least 1");
    }
    let opts = CopyOptions {
        workers: args.workers.unwrap_or_else(copy::default_workers),
        dereference: args.dereference,
        overwrite: args.overwrite,
        resume: args.resume,
        verify: args.verify,
        dry_run: args.dry_run,
        stall_after: copy::stall_after_from_env()?,
        interrupt: Some(fleet_engine::job::interrupt::install()),
        stall_timeout: args.stall_timeout.0,
        ..CopyOptions::default()
    };
    let bar = if args.dry_run {
        None
    } else {
        new_bar(args.progress, args.quiet)
    };
    let on_progress = |p: &CopyProgress| {
        for line in &p.new_failures {
            match &bar {
                Some(b) => b.suspend(|| eprintln!("fleet: error: {line}")),
                None => eprintln!("fleet: error: {line}"),
            }
        }
        if let Some(b) = &bar {
            update(b, p);
        }
    };
    let result = copy::run_copy(&args.src, &args.dst, &opts, &on_progress);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = match result {
        Err(copy::CopyError::Interrupted) => {
            eprintln!("fleet: interrupted; files not yet complete were removed (--resume finishes the copy)");
            return Ok(Outcome::Interrupted);
        }
        other => other?,
    };
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        for path in &report.would_copy {
            // Broken pipe (`| head`) just ends the listing.
            if writeln!(out, "{}", path.display()).is_err() {
                break;
            }
        }
        let _ = out.flush();
    } else if !args.quiet {
        summary(&report);
    }
    for path in &report.mismatches {
        eprintln!(
            "fleet: error: {} differs from its source after copying",
            path.display()
        );
    }
    let bad = report.failures.len() + report.mismatches.len();
    if bad > 0 {
        eprintln!(
            "fleet: {} entr{} could not be copied{}",
            human_count(report.failures.len() as u64),
            if report.failures.len() == 1 {
                "y"
            } else {
                "ies"
            },
            if report.mismatches.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} file(s) differ after copying",
                    human_count(report.mismatches.len() as u64)
                )
            }
        );
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Ok)
}

fn new_bar(mode: ProgressMode, quiet: bool) -> Option<ProgressBar> {
    let target = draw_target(mode, quiet)?;
    let style = ProgressStyle::with_template(
        "{bar:30.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    Some(ProgressBar::with_draw_target(Some(0), target).with_style(style))
}

fn update(bar: &ProgressBar, p: &CopyProgress) {
    match p.phase {
        Phase::Copying => {
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes_done);
            let names: Vec<String> = p
                .in_flight
                .iter()
                .take(3)
                .map(|f| f.display().to_string())
                .collect();
            let quiet = p
                .quietest
                .as_ref()
                .and_then(|(file, quiet)| {
                    let note = quiet_note(*quiet, p.stall_timeout)?;
                    Some(format!("  {}: {note}", file.display()))
                })
                .unwrap_or_default();
            bar.set_message(format!(
                "{}/{}{} files  {}{quiet}",
                human_count(p.files_done),
                human_count(p.files_total),
                if p.walk_done { "" } else { "+" },
                names.join(", ")
            ));
        }
        Phase::Verifying => {
            bar.set_length(p.verify_bytes_total);
            bar.set_position(p.verify_bytes_done);
            let quiet = p.quietest.as_ref().and_then(|(file, quiet)| {
                let note = quiet_note(*quiet, p.stall_timeout)?;
                Some(format!("verifying  {}: {note}", file.display()))
            });
            bar.set_message(quiet.unwrap_or_else(|| "verifying".to_string()));
        }
    }
}

fn summary(r: &CopyReport) {
    eprintln!(
        "fleet: copied {} files ({}), {} dirs, {} symlinks, {} hard links; {} skipped, {} failed \
         in {:.3} s ({}/s)",
        human_count(r.files),
        human_bytes(r.bytes),
        human_count(r.dirs),
        human_count(r.symlinks),
        human_count(r.hard_links),
        human_count(r.skipped_existing + r.unchanged),
        human_count(r.failures.len() as u64),
        r.copy_time.as_secs_f64(),
        human_bytes(per_second(r.bytes, r.copy_time)),
    );
    if r.skipped_existing > 0 {
        eprintln!(
            "fleet: {} existing entries in the destination were left alone (--overwrite replaces them)",
            human_count(r.skipped_existing)
        );
    }
    if r.unchanged > 0 {
        eprintln!(
            "fleet: {} entries were already up to date",
            human_count(r.unchanged)
        );
    }
    if r.verified_files > 0 || !r.mismatches.is_empty() {
        eprintln!(
            "fleet: verified {} files ({}) in {:.3} s ({}/s): {} mismatches",
            human_count(r.verified_files),
            human_bytes(r.verified_bytes),
            r.verify_time.as_secs_f64(),
            human_bytes(per_second(2 * r.verified_bytes, r.verify_time)),
            human_count(r.mismatches.len() as u64)
        );
    }
}

fn per_second(bytes: u64, time: Duration) -> u64 {
    (bytes as f64 / time.as_secs_f64().max(1e-9)) as u64
}
