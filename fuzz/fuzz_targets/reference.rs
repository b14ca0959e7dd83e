//! The sequential reference both targets compare with: the `csv` crate reading the whole input
//! in one pass (flexible, no header), with the engine's documented semantics on top: the first
//! record fixes the field count, other counts are malformed and never match.

use fleet_engine::query::expr::parse_where;
use fleet_engine::scan::format::write_csv_field;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::input::schema::Schema;
use fleet_engine::Emit;

pub const BOM: &[u8] = b"\xef\xbb\xbf";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub ncols: usize,
    pub records: u64,
    pub matches: u64,
    pub malformed: u64,
    pub out: Vec<u8>,
}

/// The field count of the first record (0 when there is none).
pub fn first_record_fields(data: &[u8]) -> usize {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rec = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => rec.len(),
        _ => 0,
    }
}

/// One of a few filters, picked by a fuzz byte: none, a regex, an equality (the memmem path).
pub fn filter(choice: u8, ncols: usize) -> Vec<Predicate> {
    let text = match choice % 3 {
        0 => return Vec::new(),
        1 => "1~a",
        _ => "1=a",
    };
    if ncols == 0 {
        return Vec::new();
    }
    let schema = Schema::new(None, ncols);
    vec![
        Predicate::compile(&parse_where(text).expect("filter parses"), &schema)
            .expect("filter compiles"),
    ]
}

/// Raw records (byte-identical) or every column re-quoted as CSV.
pub fn emit(choice: u8, ncols: usize) -> Emit {
    if choice & 1 == 0 {
        Emit::Raw
    } else {
        Emit::Csv {
            columns: (0..ncols).collect(),
            delimiter: b',',
        }
    }
}

pub fn expected(data: &[u8], preds: &[Predicate], emit: &Emit) -> Expected {
    let ncols = first_record_fields(data);
    let mut want = Expected {
        ncols,
        ..Expected::default()
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rec = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut rec).expect("in-memory csv read") {
        let mut start = rec.position().expect("position").byte() as usize;
        if start == 0 && data.starts_with(BOM) {
            start = BOM.len();
        }
        while start < data.len() && (data[start] == b'\n' || data[start] == b'\r') {
            start += 1;
        }
        let mut end = rdr.position().byte() as usize;
        if end > 0 && data[end - 1] == b'\r' && data.get(end) == Some(&b'\n') {
            end += 1;
        }
        want.records += 1;
        if rec.len() != ncols {
            want.malformed += 1;
            continue;
        }
        if !preds.iter().all(|p| p.matches(&rec[p.column()])) {
            continue;
        }
        want.matches += 1;
        match emit {
            Emit::Raw => {
                want.out.extend_from_slice(&data[start..end]);
                if !matches!(data[..end].last(), Some(b'\n' | b'\r')) {
                    want.out.push(b'\n');
                }
            }
            Emit::Csv { columns, delimiter } => {
                for (i, &c) in columns.iter().enumerate() {
                    if i > 0 {
                        want.out.push(*delimiter);
                    }
                    write_csv_field(&mut want.out, &rec[c], *delimiter, columns.len() == 1);
                }
                want.out.push(b'\n');
            }
            _ => unreachable!("only raw and csv are fuzzed"),
        }
    }
    want
}
