//! `--format arrow|parquet` for scan and agg: a [`ColumnarSink`] takes the command's CSV
//! text (into a spool beside the output file) and, when the command finishes, turns it into
//! the column file with `fleet_engine::columnar`. Column files are binary: they need `-o`.
//! Without the `columnar` cargo feature the formats are refused with a one-line error.

use clap::ValueEnum;

/// The column file formats a command can write.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColumnarKind {
    /// Arrow IPC file format.
    Arrow,
    /// Parquet, zstd-compressed.
    Parquet,
}

impl ColumnarKind {
    pub fn name(self) -> &'static str {
        match self {
            ColumnarKind::Arrow => "arrow",
            ColumnarKind::Parquet => "parquet",
        }
    }
}

/// Where the column file goes: `-o FILE`, required.
pub fn require_output(
    kind: ColumnarKind,
    output: Option<&std::path::Path>,
) -> anyhow::Result<&std::path::Path> {
    output.ok_or_else(|| {
        anyhow::anyhow!(
            "--format {} writes a binary file, never to stdout: give -o FILE",
            kind.name()
        )
    })
}

#[cfg(feature = "columnar")]
pub use enabled::ColumnarSink;

#[cfg(not(feature = "columnar"))]
pub use disabled::ColumnarSink;

#[cfg(feature = "columnar")]
mod enabled {
    use super::ColumnarKind;
    use crate::args::human_count;
    use crate::input::{InputArgs, OutputEncoding};
    use crate::output::open_output_file;
    use crate::progress::{draw_target, ProgressMode};
    use anyhow::Context;
    use fleet_engine::columnar::{
        parse_schema_arg, ColumnType, ColumnarError, ColumnarFormat, Spool, TableSpec,
    };
    use fleet_engine::input::nulls::NullMarkers;
    use fleet_engine::output::AtomicOutput;
    use fleet_engine::Dataset;
    use indicatif::{ProgressBar, ProgressStyle};
    use std::io::{self, Write};
    use std::path::Path;
    use std::sync::atomic::Ordering;

    pub struct ColumnarSink {
        spool: Spool,
        out: AtomicOutput,
        what: String,
        format: ColumnarFormat,
        names: Vec<String>,
        overrides: Vec<Option<ColumnType>>,
        /// What counts as missing, in the encoding of the text written.
        nulls: NullMarkers,
        header: bool,
        quiet: bool,
        progress: ProgressMode,
    }

    impl ColumnarSink {
        /// A column file at `output` with columns `names`; `header` when the CSV text the
        /// command writes starts with a header line. `--schema` is checked here, before any
        /// work is done.
        pub fn open(
            kind: ColumnarKind,
            output: &Path,
            ds: &Dataset,
            names: Vec<String>,
            schema: Option<&str>,
            header: bool,
            input: &InputArgs,
        ) -> anyhow::Result<ColumnarSink> {
            let overrides = match schema {
                Some(text) => parse_schema_arg(text, &names)?,
                None => vec![None; names.len()],
            };
            let out = open_output_file(output, ds)?;
            let spool = Spool::beside(output).with_context(|| {
                format!("cannot create a temporary file beside {}", output.display())
            })?;
            Ok(ColumnarSink {
                spool,
                out,
                what: output.display().to_string(),
                format: match kind {
                    ColumnarKind::Arrow => ColumnarFormat::Arrow,
                    ColumnarKind::Parquet => ColumnarFormat::Parquet,
                },
                names,
                overrides,
                nulls: if input.output_encoding == OutputEncoding::Keep {
                    ds.scanned_nulls()
                } else {
                    ds.nulls.clone()
                },
                header,
                quiet: input.quiet,
                progress: input.progress,
            })
        }

        /// Writes the column file from everything written so far and gives it its name.
        pub fn finish(self) -> anyhow::Result<()> {
            let spec = TableSpec {
                names: &self.names,
                overrides: &self.overrides,
                nulls: &self.nulls,
                format: self.format,
            };
            // Both passes read the spooled text: one bar over twice its size.
            let bar = draw_target(self.progress, self.quiet).map(|target| {
                let style = ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} \
                     {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                let bar = ProgressBar::with_draw_target(Some(2 * self.spool.len()), target)
                    .with_style(style);
                bar.set_message(format!("writing {}", self.what));
                bar
            });
            let interrupt = fleet_engine::job::interrupt::install();
            let mut tick = |bytes, _| {
                if let Some(bar) = &bar {
                    bar.inc(bytes);
                }
                if interrupt.load(Ordering::Relaxed) {
                    return Err(ColumnarError::Interrupted);
                }
                Ok(())
            };
            let written =
                self.spool
                    .write_table(spec, self.header, self.out, &self.what, &mut tick);
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let (out, report) = match written {
                Ok(done) => done,
                Err(ColumnarError::Interrupted) => return Err(crate::Interrupted.into()),
                Err(e) => return Err(e.into()),
            };
            out.commit().context("cannot finish the output file")?;
            if !self.quiet && report.replaced > 0 {
                eprintln!(
                    "fleet: warning: {} text value(s) were not valid UTF-8; written with U+FFFD \
                     replacements",
                    human_count(report.replaced)
                );
            }
            Ok(())
        }
    }

    impl Write for ColumnarSink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.spool.write(buf)
        }

        fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            self.spool.write_all(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.spool.flush()
        }
    }
}

#[cfg(not(feature = "columnar"))]
mod disabled {
    use super::ColumnarKind;
    use crate::input::InputArgs;
    use fleet_engine::Dataset;
    use std::io::{self, Write};
    use std::path::Path;

    /// Never made: this build has no Arrow/Parquet writers.
    pub enum ColumnarSink {}

    impl ColumnarSink {
        pub fn open(
            kind: ColumnarKind,
            _output: &Path,
            _ds: &Dataset,
            _names: Vec<String>,
            _schema: Option<&str>,
            _header: bool,
            _input: &InputArgs,
        ) -> anyhow::Result<ColumnarSink> {
            anyhow::bail!(
                "--format {}: this fleet was built without Arrow/Parquet support (cargo feature \
                 `columnar`)",
                kind.name()
            )
        }

        pub fn finish(self) -> anyhow::Result<()> {
            match self {}
        }
    }

    impl Write for ColumnarSink {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            match *self {}
        }

        fn flush(&mut self) -> io::Result<()> {
            match *self {}
        }
    }
}
