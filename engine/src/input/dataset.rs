//! Opening a dataset: from the user's PATHs to a [`ChunkPlan`] and a [`Schema`].
//!
//! Settles, in this order of precedence, flags > `fleet.toml` > what the data shows: the
//! delimiter (`.tsv` files default to TAB), whether files have a header line (detected from the
//! first file's first two records), and the column names (`--columns`, the descriptor's
//! `columns`, or the header). Every file with a header must carry the same header as the first.
//!
//! Also the null markers (`--null` > `fleet.toml`'s `null` > the default rule of
//! [`crate::input::nulls`]), the text encoding (flag > `fleet.toml` > UTF-8) and, per file,
//! whether it is streamed
//! rather than mapped: compressed files, and files whose delimiter can occur inside the
//! encoding's characters (transcoded to UTF-8, see `charset.rs`). A streamed file's header is
//! read from the first bytes of its decompressed (and transcoded) content.

use crate::input::charset;
use crate::input::compress::{content_path, Compression, Source, StreamError};
use crate::input::descriptor::{self, Descriptor, DescriptorError};
use crate::input::discover::{self, DiscoverError, DiscoverOptions, Discovery, Unreadable};
use crate::input::nulls::NullMarkers;
use crate::input::plan::{ChunkPlan, PlannedFile};
use crate::input::schema::{looks_like_header, Schema};
use crate::scan::record::GeneralRecords;
use encoding_rs::Encoding;
use memmap2::Mmap;
use std::fs::File;
use std::path::{Path, PathBuf};

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Serializable so that a cluster node can open the same dataset as the client
/// (`fleet-cluster`'s `TableSpec`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DatasetOptions {
    pub paths: Vec<PathBuf>,
    pub glob: Option<String>,
    /// `--header` (Some(true)) / `--no-header` (Some(false)).
    pub header: Option<bool>,
    /// `--columns`: names for the columns.
    pub columns: Option<Vec<String>>,
    pub delimiter: Option<u8>,
    pub chunk_size: u64,
    /// `--encoding` label (overrides `fleet.toml`).
    pub encoding: Option<String>,
    /// Content bytes per piece of a streamed file (0: the default).
    pub piece_size: u64,
    /// `--null`: the values that are missing (overrides `fleet.toml`; `None`: the default).
    pub nulls: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct Dataset {
    pub plan: ChunkPlan,
    pub schema: Schema,
    pub has_header: bool,
    /// The first file's header record as written in the input, terminator included.
    pub header_raw: Option<Vec<u8>>,
    /// The dataset's delimiter (the first file's), used for projected output.
    pub delimiter: u8,
    pub discovery: Discovery,
    /// The `fleet.toml` that applied, if any.
    pub descriptor: Option<PathBuf>,
    /// The input's text encoding; `None` for UTF-8.
    pub encoding: Option<&'static Encoding>,
    /// The files are transcoded to UTF-8 before scanning (the delimiter can occur inside
    /// the encoding's characters), so records and `--where` values are UTF-8 already.
    pub transcoded: bool,
    /// What counts as missing, in UTF-8 (as given).
    pub nulls: NullMarkers,
    /// `fleet.toml`'s `time_format`: (column name, format) pairs, validated.
    pub time_formats: Vec<(String, String)>,
}

impl Dataset {
    /// The encoding of the bytes the kernels see, when it is not UTF-8.
    pub fn scanned_encoding(&self) -> Option<&'static Encoding> {
        self.encoding.filter(|_| !self.transcoded)
    }

    /// The null markers as the kernels see them: in the scanned encoding.
    pub fn scanned_nulls(&self) -> NullMarkers {
        match self.scanned_encoding() {
            Some(encoding) => self.nulls.in_encoding(encoding),
            None => self.nulls.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    #[error(
        "{path}: the header differs from the one in {first} (expected {expected}, found {found})"
    )]
    HeaderMismatch {
        path: PathBuf,
        first: PathBuf,
        expected: String,
        found: String,
    },
    #[error(
        "{source_name} names {names} columns but the first record of {path} has {fields} fields"
    )]
    ColumnCount {
        source_name: String,
        names: usize,
        path: PathBuf,
        fields: usize,
    },
    #[error("no input file could be read")]
    NothingReadable,
    #[error("--encoding: {0}")]
    Encoding(#[from] charset::UnknownEncoding),
    #[error("{}: {message}", .path.display())]
    BadInput { path: PathBuf, message: String },
}

/// What the first readable file settles for the whole dataset.
struct Settled {
    has_header: bool,
    schema: Schema,
    header_raw: Option<Vec<u8>>,
    delimiter: u8,
}

/// Discovers the files, reads headers and plans chunks: for each file, [`read_head`] gets the
/// bytes headers are read from, the first readable file settles header and schema for all
/// ([`settle`]), each file's header is checked against the first's ([`HeaderCheck`]), and the
/// file is planned ([`plan_file`]).
pub fn open(opts: &DatasetOptions) -> Result<Dataset, DatasetError> {
    let mut discovery = discover::discover(
        &opts.paths,
        &DiscoverOptions {
            glob: opts.glob.clone(),
        },
    )?;
    let found = descriptor::find(&opts.paths)?;
    let desc = found.as_ref().map(|(_, d)| d.clone()).unwrap_or_default();
    let encoding = match (&opts.encoding, &desc.encoding) {
        (Some(label), _) | (None, Some(label)) => charset::parse_encoding(label)?,
        (None, None) => None,
    };
    let mut plan = ChunkPlan {
        piece_size: opts.piece_size,
        ..ChunkPlan::default()
    };
    let mut settled: Option<Settled> = None;
    let mut headers = HeaderCheck::default();
    let mut transcoded = false;
    for input in std::mem::take(&mut discovery.files) {
        let head = match read_head(opts, &desc, encoding, &input.path)? {
            Ok(head) => head,
            Err(reason) => {
                discovery.unreadable.push(Unreadable {
                    path: input.path.clone(),
                    reason,
                });
                continue;
            }
        };
        transcoded |= head.transcode.is_some();
        let data = head.bytes();
        let bom = if data.starts_with(BOM) { BOM.len() } else { 0 };
        let mut records = GeneralRecords::new(data, bom..data.len(), head.delimiter, head.at_eof());
        let first_record = records.next_record().map(|(rec, n)| {
            let fields: Vec<Vec<u8>> = (0..n).map(|i| records.field(i).to_vec()).collect();
            (rec, fields)
        });
        let settled = match &mut settled {
            Some(settled) => settled,
            None => {
                let second: Option<Vec<Vec<u8>>> = records
                    .next_record()
                    .map(|(_, n)| (0..n).map(|i| records.field(i).to_vec()).collect());
                settled.insert(settle(
                    opts,
                    &desc,
                    &input.path,
                    first_record.as_ref(),
                    second,
                    data,
                    head.delimiter,
                    encoding.filter(|_| head.transcode.is_none()),
                )?)
            }
        };
        let mut data_start = bom;
        if settled.has_header {
            if let Some((rec, fields)) = &first_record {
                data_start = rec.end;
                headers.check(&input.path, fields)?;
            }
        }
        plan_file(
            &mut plan,
            &input.path,
            input.size,
            &head,
            data_start,
            opts.chunk_size,
        );
    }
    // Whatever the coordinator read of standard input is kept for the worker; the rest is
    // the worker's to read.
    crate::input::stdin::stop_recording();
    let Some(Settled {
        has_header,
        schema,
        header_raw,
        delimiter,
    }) = settled
    else {
        return Err(DatasetError::NothingReadable);
    };
    Ok(Dataset {
        plan,
        schema,
        has_header,
        header_raw,
        delimiter,
        discovery,
        descriptor: found.map(|(p, _)| p),
        encoding,
        transcoded,
        nulls: match (&opts.nulls, &desc.null) {
            (Some(list), _) | (None, Some(list)) => NullMarkers::only(list),
            (None, None) => NullMarkers::default(),
        },
        time_formats: desc
            .time_format
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
    })
}

/// What a file holds as far as opening the dataset needs it, and how it will be read.
struct Head {
    delimiter: u8,
    compression: Option<Compression>,
    /// Transcoded to UTF-8 while streamed (the delimiter can occur inside a character).
    transcode: Option<&'static Encoding>,
    /// Standard input (always streamed).
    stdin: bool,
    content: Content,
}

impl Head {
    fn streamed(&self) -> bool {
        self.stdin || self.compression.is_some() || self.transcode.is_some()
    }

    fn bytes(&self) -> &[u8] {
        match &self.content {
            Content::Mapped(map) => map,
            Content::Prefix(bytes, _) => bytes,
        }
    }

    /// The bytes are the file's whole content.
    fn at_eof(&self) -> bool {
        match &self.content {
            Content::Mapped(_) => true,
            Content::Prefix(_, complete) => *complete,
        }
    }
}

/// Maps a file, or reads the first bytes of a streamed one's content. `Ok(Err(reason))` for
/// a file that cannot be read (reported, the others still scanned); an error for bad
/// compressed data (a result without it would look complete).
fn read_head(
    opts: &DatasetOptions,
    desc: &Descriptor,
    encoding: Option<&'static Encoding>,
    path: &Path,
) -> Result<Result<Head, String>, DatasetError> {
    let delimiter = opts
        .delimiter
        .or(desc.delimiter_byte())
        .unwrap_or_else(|| default_delimiter(&content_path(path)));
    let stdin = crate::input::stdin::is_stdin(path);
    let compression = if stdin {
        match crate::input::stdin::peek(4) {
            Ok(first) => Compression::from_magic(&first),
            Err(e) => return Ok(Err(e.to_string())),
        }
    } else {
        Compression::from_path(path)
    };
    let transcode = encoding.filter(|e| charset::inside_characters(e, delimiter));
    let content = if stdin || compression.is_some() || transcode.is_some() {
        match stream_prefix(path, compression, transcode, delimiter) {
            Ok((bytes, complete)) => Content::Prefix(bytes, complete),
            Err(StreamError::Io(e)) => return Ok(Err(e.to_string())),
            Err(e) => {
                return Err(DatasetError::BadInput {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })
            }
        }
    } else {
        match map(path) {
            Ok(map) => Content::Mapped(map),
            Err(e) => return Ok(Err(e.to_string())),
        }
    };
    Ok(Ok(Head {
        delimiter,
        compression,
        transcode,
        stdin,
        content,
    }))
}

/// Every file with a header must carry the first file's header.
#[derive(Default)]
struct HeaderCheck {
    first: Option<(PathBuf, Vec<Vec<u8>>)>,
}

impl HeaderCheck {
    fn check(&mut self, path: &Path, fields: &[Vec<u8>]) -> Result<(), DatasetError> {
        match &self.first {
            None => self.first = Some((path.to_path_buf(), fields.to_vec())),
            Some((first, expected)) if expected != fields => {
                return Err(DatasetError::HeaderMismatch {
                    path: path.to_path_buf(),
                    first: first.clone(),
                    expected: join(expected),
                    found: join(fields),
                });
            }
            Some(_) => {}
        }
        Ok(())
    }
}

/// Adds a file to the plan: a streamed file as one unit, a mapped one cut into chunks.
fn plan_file(
    plan: &mut ChunkPlan,
    path: &Path,
    size_on_disk: u64,
    head: &Head,
    data_start: usize,
    chunk_size: u64,
) {
    let data = head.bytes();
    let file = PlannedFile {
        path: path.to_path_buf(),
        size: data.len() as u64,
        delimiter: head.delimiter,
        data_start: data_start as u64,
        first_line: 1 + bytecount::count(&data[..data_start], b'\n') as u64,
        compression: head.compression,
        transcode: head.transcode,
    };
    if head.streamed() {
        plan.push_unit(PlannedFile {
            size: size_on_disk,
            ..file
        });
    } else {
        plan.push_file(file, data, chunk_size);
    }
}

/// A file's bytes as far as opening the dataset needs them.
enum Content {
    Mapped(Mmap),
    /// The first bytes of a streamed file's content; true when that is all of it.
    Prefix(Vec<u8>, bool),
}

/// The first bytes of a streamed file: enough for its first two records (header detection
/// looks at two), or all of it.
fn stream_prefix(
    path: &Path,
    compression: Option<Compression>,
    transcode: Option<&'static Encoding>,
    delimiter: u8,
) -> Result<(Vec<u8>, bool), StreamError> {
    const MAX_PREFIX: usize = 64 << 20;
    let mut want = 64 << 10;
    loop {
        let (bytes, complete) = Source::open(path, compression, transcode)?.prefix(want)?;
        let bom = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
        let mut records = GeneralRecords::new(&bytes, bom..bytes.len(), delimiter, complete);
        let two = records.next_record().is_some() && records.next_record().is_some();
        if complete || two || want >= MAX_PREFIX {
            return Ok((bytes, complete));
        }
        want *= 8;
    }
}

type FirstRecord = (crate::scan::record::RawRecord, Vec<Vec<u8>>);

/// Decides header, schema and delimiter from the first readable file.
#[allow(clippy::too_many_arguments)]
fn settle(
    opts: &DatasetOptions,
    desc: &Descriptor,
    path: &Path,
    first: Option<&FirstRecord>,
    second: Option<Vec<Vec<u8>>>,
    data: &[u8],
    delimiter: u8,
    encoding: Option<&'static Encoding>,
) -> Result<Settled, DatasetError> {
    let first_fields: Vec<&[u8]> = first
        .map(|(_, f)| f.iter().map(Vec::as_slice).collect())
        .unwrap_or_default();
    let second_fields: Option<Vec<&[u8]>> = second
        .as_ref()
        .map(|f| f.iter().map(Vec::as_slice).collect());
    let has_header = opts.header.or(desc.header).unwrap_or_else(|| {
        first.is_some() && looks_like_header(&first_fields, second_fields.as_deref())
    });
    let (names, source_name) = match (&opts.columns, &desc.columns) {
        (Some(c), _) => (Some(c.clone()), "--columns".to_string()),
        (None, Some(c)) => (Some(c.clone()), "fleet.toml".to_string()),
        (None, None) if has_header => (
            Some(
                first_fields
                    .iter()
                    .map(|f| decode_name(encoding, f))
                    .collect(),
            ),
            "the header".to_string(),
        ),
        (None, None) => (None, String::new()),
    };
    // The record that shows how many fields the data has: the first data record.
    let sample = if has_header {
        second_fields.as_ref().map(Vec::len)
    } else {
        first.map(|_| first_fields.len())
    };
    let ncols = match &names {
        Some(names) => {
            if let Some(fields) = sample {
                if fields != names.len() && source_name != "the header" {
                    return Err(DatasetError::ColumnCount {
                        source_name,
                        names: names.len(),
                        path: path.to_path_buf(),
                        fields,
                    });
                }
            }
            names.len()
        }
        None => sample.unwrap_or(0),
    };
    let header_raw = match (has_header, first) {
        (true, Some((rec, _))) => {
            let mut raw = data[rec.start..rec.end].to_vec();
            if !matches!(raw.last(), Some(b'\n' | b'\r')) {
                raw.push(b'\n');
            }
            Some(raw)
        }
        _ => None,
    };
    Ok(Settled {
        has_header,
        schema: Schema::new(names, ncols),
        header_raw,
        delimiter,
    })
}

/// A header name as text: decoded from the input's encoding (invalid sequences replaced).
fn decode_name(encoding: Option<&'static Encoding>, field: &[u8]) -> String {
    match encoding {
        Some(e) => {
            let mut out = Vec::new();
            charset::decode_into(e, field, &mut out);
            String::from_utf8_lossy(&out).into_owned()
        }
        None => String::from_utf8_lossy(field).into_owned(),
    }
}

fn default_delimiter(path: &Path) -> u8 {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("tsv") => b'\t',
        _ => b',',
    }
}

fn map(path: &Path) -> std::io::Result<Mmap> {
    let file = File::open(path)?;
    // SAFETY: read-only map used only for planning in this process; a concurrent truncation
    // would raise SIGBUS here, which is the same hazard every mmap-based reader accepts.
    let map = unsafe { Mmap::map(&file)? };
    // Planning reads the header and one line per chunk boundary: without this hint a cold
    // cache pays the kernel's read-around (hundreds of KiB) at every boundary probe.
    let _ = map.advise(memmap2::Advice::Random);
    Ok(map)
}

fn join(fields: &[Vec<u8>]) -> String {
    fields
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>()
        .join(",")
}
