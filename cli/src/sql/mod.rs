//! `fleet sql`: a SQL query over fleet datasets (feature `sql`), through Apache DataFusion with
//! fleet's scan underneath (crate fleet-sql). This module parses arguments, registers the
//! tables and writes a statement's result; [`statements`] reads statements from standard
//! input when no query is given (a prompt at a terminal, a script otherwise).

mod prompt;
mod statements;

use crate::input::{column_names, header_flag, null_flags};
use crate::sink::RawStdout;
use crate::Outcome;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use fleet_engine::input::dataset::DatasetOptions;
use fleet_engine::output::{clobbers_input, AtomicOutput};
use fleet_sql::format::{ResultFormat, ResultWriter};
use fleet_sql::{FleetTable, SqlSession, TableOptions};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// CSV with a header line; NULL is an empty field.
    #[default]
    Csv,
    /// One JSON object per row, typed values; NULL keys left out.
    Jsonl,
    /// Aligned columns for reading (the result is held until the end).
    Table,
    /// Arrow IPC file format, the result's types as they are (needs -o).
    Arrow,
    /// Parquet, zstd-compressed (needs -o).
    Parquet,
}

const SQL_EXAMPLES: &str = "\
Examples:
  fleet sql 'SELECT * FROM gps WHERE id = 11865' --table data/gps
  fleet sql \"SELECT count(*) FROM 'data/gps' WHERE speed > 100\"
  fleet sql 'SELECT id, count(*) AS points, avg(speed) FROM gps GROUP BY id ORDER BY points DESC LIMIT 10' -t data/gps --format table
  fleet sql 'SELECT g.id, c.company FROM gps g JOIN companies c ON g.id = c.id' -t gps=data/gps -t companies=lookup/companies.csv

Tables: --table NAME=PATH, --table PATH to name it after its folder (quote names that are
not plain lower-case identifiers: FROM \"gps-gz\"), or a path in the query: FROM 'data/gps'
(a quoted name that is no registered table but a path is opened as a dataset). Column types
come from fleet.toml's [types] or are inferred from the first MiB of up to 8 files. Filters fleet evaluates exactly
(=, !=, <, >, IN, AND/OR/NOT, LIKE 'prefix%', ~ regex) run inside fleet's scan.

Without a query: `fleet sql -t data/gps` opens a prompt; `fleet sql -t data/gps < report.sql`
runs a script's statements in order (CREATE VIEW ... AS, then SELECTs).

Exit status: 0 success, 2 error (a partial result, with an unreadable file, included),
130 after Ctrl-C.";

#[derive(Args)]
#[command(after_help = SQL_EXAMPLES)]
pub struct SqlArgs {
    /// The SQL query (DataFusion's dialect, close to PostgreSQL's). A quoted table name that is
    /// a path (FROM 'data/gps') opens that dataset. Without a query, statements ended by `;`
    /// are read from standard input: at a terminal with a `fleet>` prompt (line editing;
    /// history in ~/.fleet_history, or $FLEET_HISTORY; errors are shown and the prompt goes
    /// on; \q, exit or Ctrl-D ends it), otherwise as a script that stops at its first error.
    query: Option<String>,
    /// A dataset as a table: NAME=PATH, or PATH (named after its folder, or the file's name
    /// without extensions). Repeatable.
    #[arg(short = 't', long = "table", value_name = "[NAME=]PATH")]
    tables: Vec<String>,
    /// Output format [default: table at the prompt, csv otherwise].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write to FILE (atomically: it appears only when complete) instead of stdout; needed by
    /// --format arrow|parquet.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Worker threads for fleet's scans and DataFusion's operators (default: available cores).
    #[arg(short = 'j', long, value_name = "N")]
    workers: Option<usize>,
    /// Field delimiter for every table: one character, or \t / tab (default: from fleet.toml,
    /// tab for .tsv, else comma).
    #[arg(short = 'd', long, value_parser = crate::args::parse_delimiter)]
    delimiter: Option<u8>,
    /// The files have a header line (overrides detection and fleet.toml).
    #[arg(long, conflicts_with = "no_header")]
    header: bool,
    /// The files have no header line.
    #[arg(short = 'n', long)]
    no_header: bool,
    /// Text encoding of the input: utf-8, gbk, gb2312, gb18030, big5 or latin1.
    #[arg(long, value_name = "NAME")]
    encoding: Option<String>,
    /// Bytes per chunk of fleet's scans, with an optional KiB/MiB/GiB suffix [default: 8MiB].
    #[arg(long, value_name = "SIZE", value_parser = crate::args::parse_size)]
    chunk_size: Option<u64>,
    /// A value that means "missing" (NULL) in every table (repeatable; replaces the default
    /// NA, NULL, null, NaN, N/A, \N and fleet.toml's list; the empty field is always NULL).
    #[arg(long = "null", value_name = "VALUE", allow_hyphen_values = true)]
    nulls: Vec<String>,
    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
    /// Run the query on the Ballista cluster whose scheduler is at this address (`fleet
    /// cluster`): the scheduler plans it, executors scan. The data must be at the same path
    /// on every node.
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "df://HOST:PORT")]
    cluster: Option<String>,
}

pub fn run(args: SqlArgs) -> anyhow::Result<Outcome> {
    if args.workers == Some(0) {
        bail!("--workers must be at least 1");
    }
    let prompt = args.query.is_none() && io::stdin().is_terminal();
    let format = match args.format {
        Some(Format::Csv) => ResultFormat::Csv,
        Some(Format::Jsonl) => ResultFormat::Jsonl,
        Some(Format::Table) => ResultFormat::Table,
        Some(Format::Arrow) => ResultFormat::Arrow,
        Some(Format::Parquet) => ResultFormat::Parquet,
        None if prompt && io::stdout().is_terminal() => ResultFormat::Table,
        None => ResultFormat::Csv,
    };
    if format == ResultFormat::Table && args.output.is_some() {
        bail!("--format table is drawn for reading on stdout; with -o use csv, jsonl, arrow or parquet");
    }
    if format.is_binary() && args.output.is_none() {
        bail!(
            "--format {} writes a binary file, never to stdout: give -o FILE",
            if format == ResultFormat::Arrow {
                "arrow"
            } else {
                "parquet"
            }
        );
    }
    if args.query.is_none() && args.output.is_some() {
        bail!("-o FILE takes the result of one query: give the query as an argument");
    }
    let mut sql = Tables::new(&args)?;
    for spec in &args.tables {
        let (name, path) = table_spec(spec)?;
        let table = sql.open(&path, &format!("--table {spec}"))?;
        sql.register(&name, false, &path, &table)?;
        sql.tables.push((name, table));
    }
    let Some(query) = &args.query else {
        return statements::run(&mut sql, format, prompt, args.quiet);
    };
    let rows = match sql.statement(query, format, args.output.as_deref())? {
        Ran::Rows(rows) => rows,
        Ran::NoResult => 0,
        Ran::Closed => return Ok(Outcome::Ok),
    };
    if fleet_engine::job::interrupt::interrupted() {
        return Ok(Outcome::Interrupted);
    }
    Ok(finish(&args, &sql.tables, rows))
}

/// The session and the tables registered in it, and how to open another one.
pub(crate) struct Tables<'a> {
    args: &'a SqlArgs,
    session: SqlSession,
    workers: usize,
    interrupt: Option<&'static std::sync::atomic::AtomicBool>,
    tables: Vec<(String, FleetTable)>,
}

impl<'a> Tables<'a> {
    fn new(args: &'a SqlArgs) -> anyhow::Result<Tables<'a>> {
        let workers = args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        #[cfg(feature = "cluster")]
        let session = match &args.cluster {
            Some(url) => {
                let addr = fleet_cluster::client::scheduler_addr(url)?;
                fleet_cluster::client::check_reachable(&addr)?;
                SqlSession::with_context(workers, || async {
                    fleet_cluster::client::remote_context(&addr, workers)
                        .await
                        .map_err(|e| fleet_sql::SqlError::Query(e.to_string()))
                })?
            }
            None => SqlSession::new(workers)?,
        };
        #[cfg(not(feature = "cluster"))]
        let session = SqlSession::new(workers)?;
        Ok(Tables {
            args,
            session,
            workers,
            interrupt: Some(fleet_engine::job::interrupt::install()),
            tables: Vec::new(),
        })
    }

    /// Registers `table` as `name` (`exact`: a quoted path, no case folding); on a cluster,
    /// as a table the scheduler and executors open again from the same options.
    fn register(
        &self,
        name: &str,
        exact: bool,
        path: &Path,
        table: &FleetTable,
    ) -> anyhow::Result<()> {
        #[cfg(feature = "cluster")]
        if self.args.cluster.is_some() {
            use datafusion::common::TableReference;
            use fleet_sql::datafusion;
            let spec = fleet_cluster::table::TableSpec::new(&self.options(path)?, self.workers);
            let table = std::sync::Arc::new(fleet_cluster::ClusterTable::new(table.clone(), spec));
            let reference = if exact {
                TableReference::bare(name)
            } else {
                TableReference::from(name)
            };
            self.session
                .context()
                .register_table(reference, table)
                .map_err(|e| anyhow::anyhow!("table {name}: {e}"))?;
            return Ok(());
        }
        let _ = path;
        if exact {
            self.session.register_path(name, table.clone())?;
        } else {
            self.session.register(name, table.clone())?;
        }
        Ok(())
    }

    fn options(&self, path: &Path) -> anyhow::Result<DatasetOptions> {
        let args = self.args;
        Ok(DatasetOptions {
            paths: vec![path.to_path_buf()],
            header: header_flag(args.header, args.no_header),
            columns: column_names(None)?,
            delimiter: args.delimiter,
            encoding: args.encoding.clone(),
            nulls: null_flags(&args.nulls),
            chunk_size: args.chunk_size.unwrap_or(0),
            ..DatasetOptions::default()
        })
    }

    fn open(&self, path: &Path, what: &str) -> anyhow::Result<FleetTable> {
        let opts = self.options(path)?;
        let table = FleetTable::open(
            &opts,
            TableOptions {
                workers: Some(self.workers),
                interrupt: self.interrupt,
            },
        )
        .with_context(|| what.to_string())?;
        for bad in &table.dataset().discovery.unreadable {
            eprintln!(
                "fleet: warning: cannot read {}: {}",
                bad.path.display(),
                bad.reason
            );
        }
        Ok(table)
    }

    /// Runs one statement, its result to `output` or stdout.
    fn statement(
        &mut self,
        query: &str,
        format: ResultFormat,
        output: Option<&Path>,
    ) -> anyhow::Result<Ran> {
        // FROM 'data/gps': a table the query names that is not registered but is a path.
        for name in self.session.unknown_tables(query)? {
            let path = Path::new(&name);
            if !path.exists() {
                continue; // DataFusion names it in its "table not found" error
            }
            let table = self.open(path, &format!("table '{name}'"))?;
            self.register(&name, true, path, &table)?;
            self.tables.push((name, table));
        }
        match output {
            Some(path) => {
                let file = output_file(path, &self.tables)?;
                let mut writer =
                    ResultWriter::new(format, io::BufWriter::with_capacity(1 << 20, file));
                let (rows, schema) = self
                    .session
                    .query_with_schema(query, |batch| writer.write(batch))?;
                let file = writer
                    .finish(&schema)?
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                file.commit().context("cannot finish the output file")?;
                Ok(Ran::Rows(rows))
            }
            None => {
                let mut writer =
                    ResultWriter::new(format, io::BufWriter::with_capacity(1 << 20, RawStdout));
                let result = self
                    .session
                    .query_with_schema(query, |batch| writer.write(batch));
                let (rows, schema) = match result {
                    Err(fleet_sql::SqlError::Output(e))
                        if e.kind() == io::ErrorKind::BrokenPipe =>
                    {
                        return Ok(Ran::Closed)
                    }
                    other => other?,
                };
                if schema.fields().is_empty() {
                    // CREATE VIEW, SET, ...: nothing to show, not even an empty header.
                    return Ok(Ran::NoResult);
                }
                match writer.finish(&schema) {
                    Ok(_) => Ok(Ran::Rows(rows)),
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Ran::Closed),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }
}

/// How a statement ended.
pub(crate) enum Ran {
    /// Its result, this many rows, was written.
    Rows(u64),
    /// A statement without a result (CREATE VIEW, SET).
    NoResult,
    /// Stdout was closed by its reader (`| head`): stop quietly.
    Closed,
}

/// `-o FILE`, refused when it is a file of any table.
fn output_file(path: &Path, tables: &[(String, FleetTable)]) -> anyhow::Result<AtomicOutput> {
    let inputs = tables
        .iter()
        .flat_map(|(_, t)| t.dataset().plan.files.iter().map(|f| f.path.as_path()));
    if let Some(input) = clobbers_input(path, inputs) {
        bail!(
            "--output {} is one of the inputs ({}); refusing to overwrite it",
            path.display(),
            input.display()
        );
    }
    AtomicOutput::create(path).with_context(|| format!("cannot create {}", path.display()))
}

/// `NAME=PATH`, or `PATH` named after its folder (a file: its name without extensions).
fn table_spec(spec: &str) -> anyhow::Result<(String, PathBuf)> {
    if let Some((name, path)) = spec.split_once('=') {
        if !name.is_empty() && !name.contains('/') {
            return Ok((name.to_string(), PathBuf::from(path)));
        }
    }
    let path = PathBuf::from(spec);
    let name = default_name(&path)
        .with_context(|| format!("--table {spec}: no name to give it; write NAME={spec}"))?;
    Ok((name, path))
}

fn default_name(path: &Path) -> Option<String> {
    let canonical = path.canonicalize().ok();
    let path = canonical.as_deref().unwrap_or(path);
    let name = path.file_name()?.to_str()?;
    let name = if path.is_file() {
        name.split('.').next().unwrap_or(name)
    } else {
        name
    };
    (!name.is_empty()).then(|| name.to_string())
}

/// The summary on stderr and the outcome: partial when a file could not be read.
fn finish(args: &SqlArgs, tables: &[(String, FleetTable)], rows: u64) -> Outcome {
    let mut partial = false;
    for (name, table) in tables {
        let t = table.totals();
        if !args.quiet && t.scans > 0 {
            eprintln!(
                "fleet: table {name}: {} scan(s), {} bytes, {} records, {} passed fleet's filters, {} malformed",
                t.scans, t.bytes, t.records, t.matches, t.malformed
            );
        }
        if !args.quiet && t.pushed_aggregates > 0 {
            eprintln!(
                "fleet: table {name}: {} partial aggregate(s) computed by fleet's kernel",
                t.pushed_aggregates
            );
        }
        for why in t.aggregate_fallbacks.iter().filter(|_| !args.quiet) {
            eprintln!("fleet: table {name}: an aggregate was handed back to DataFusion: {why}");
        }
        for (path, line) in t.malformed_examples.iter().take(5) {
            eprintln!(
                "fleet: malformed record (not {} fields) at {}:{}",
                table.dataset().schema.ncols(),
                path.display(),
                line
            );
        }
        for (path, reason) in &t.failed_files {
            eprintln!(
                "fleet: error: {} could not be scanned: {reason}",
                path.display()
            );
        }
        partial |= !t.failed_files.is_empty() || !table.dataset().discovery.unreadable.is_empty();
    }
    if !args.quiet {
        eprintln!("fleet: {rows} row(s)");
    }
    if partial {
        eprintln!("fleet: the result is partial: some file(s) could not be read");
        return Outcome::Partial;
    }
    let _ = io::stderr().flush();
    Outcome::Ok
}
