//! Criterion benchmarks of fleet's kernels in isolation, with throughput in bytes:
//! chunk planning (and the speculative check that stands in for quote parity), the
//! candidate search + field check of an equality filter, the quote-free and general record
//! readers, predicate evaluation, the full chunk kernel for a selective and an unselective
//! filter, and the aggregation accumulators (per-record update, merge, encode/decode, and the
//! region lock every chunk commit takes).
//!
//! `cargo bench -p fleet-benches` runs them all (a few minutes); one group:
//! `cargo bench -p fleet-benches -- agg/`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use fleet_engine::agg::{AggPlan, AggTable};
use fleet_engine::input::plan;
use fleet_engine::input::schema::Schema;
use fleet_engine::query::condition::Condition;
use fleet_engine::query::expr::parse_where;
use fleet_engine::query::predicate::Predicate;
use fleet_engine::scan::kernel::{scan_chunk, Scratch};
use fleet_engine::scan::record::{split_quote_free, GeneralRecords};
use fleet_engine::shm::region::SharedRegion;
use fleet_engine::simd::candidate::{for_each_flagged_line, Probe};
use fleet_engine::simd::structure::for_each_line;
use fleet_engine::{Emit, ScanSpec};
use fleet_fixtures::{tricky_csv, TrickyOptions};
use memchr::memmem;
use std::ops::Range;

fn gps() -> Vec<u8> {
    // About 32 MiB of taxi points: big enough to leave the L2 cache, small enough to be quick.
    fleet_fixtures::gps_file(1, 0, 560_000)
}

fn gps_schema() -> Schema {
    Schema::new(
        Some(
            fleet_fixtures::GPS_COLUMNS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
        7,
    )
}

/// About 16 MiB of quoted CSV with newlines inside quotes: where a guessed chunk start can
/// fall inside a quoted field.
fn quoted() -> Vec<u8> {
    let opts = TrickyOptions {
        rows: 120_000,
        columns: 6,
        bom: false,
        crlf: false,
        trailing_newline: true,
        header: false,
        ragged: false,
        quotes: true,
    };
    tricky_csv(3, &opts)
}

/// The line ranges (without `\n`) of quote-free data.
fn lines(data: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', data) {
        out.push(start..end);
        start = end + 1;
    }
    out
}

fn predicate(text: &str) -> Predicate {
    let schema = gps_schema();
    match parse_where(text).map(|e| Predicate::compile(&e, &schema)) {
        Ok(Ok(p)) => p,
        _ => panic!("bad benchmark predicate {text}"),
    }
}

fn kernels(c: &mut Criterion) {
    let data = gps();
    let mut group = c.benchmark_group("kernels");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(20);

    group.bench_function("plan/8MiB", |b| {
        b.iter(|| plan::split(black_box(&data), 0, 8 << 20).len())
    });
    group.bench_function("records/structural_pass", |b| {
        b.iter(|| {
            let mut ragged = 0u64;
            let _ = for_each_line::<false>(black_box(&data), 0..data.len(), b',', |l| {
                ragged += (l.delimiters != 6) as u64;
            });
            ragged
        })
    });
    group.bench_function("records/general_csv_core", |b| {
        b.iter(|| {
            let mut r = GeneralRecords::new(black_box(&data), 0..data.len(), b',', true);
            let mut n = 0u64;
            while r.next_record().is_some() {
                n += 1;
            }
            n
        })
    });
    let speed = predicate("speed>100");
    let fields: Vec<&[u8]> = data.split(|&b| b == b'\n' || b == b',').collect();
    group.bench_function("predicate/numeric_gt_per_field", |b| {
        b.iter(|| {
            fields
                .iter()
                .filter(|f| speed.matches(black_box(f)))
                .count()
        })
    });
    for (name, filter, emit) in [
        ("scan/id_eq_raw", "id=11865", Emit::Raw),
        ("scan/speed_gt_count", "speed>100", Emit::Nothing),
    ] {
        let spec = ScanSpec {
            ncols: 7,
            predicates: vec![Condition::Test(predicate(filter))],
            emit,
            decode: None,
            framed: false,
        };
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                scan_chunk(
                    black_box(&data),
                    0..data.len(),
                    true,
                    b',',
                    &spec,
                    &mut out,
                    &mut scratch,
                )
                .matches
            })
        });
    }
    group.finish();
}

/// Planning and the speculative chunk-start check on quoted data. fleet does not compute quote
/// parity up front (a second full read); each chunk is scanned from its guessed start and a
/// chunk whose last record runs past its end proves the next start wrong. This group prices
/// both halves: the newline cut, and the full parse of every chunk that reports `partial`.
fn planning(c: &mut Criterion) {
    let data = quoted();
    let mut group = c.benchmark_group("plan");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(20);
    group.bench_function("split_quoted/1MiB", |b| {
        b.iter(|| plan::split(black_box(&data), 0, 1 << 20).len())
    });
    let chunks = plan::split(&data, 0, 1 << 20);
    let spec = ScanSpec {
        ncols: 6,
        predicates: Vec::new(),
        emit: Emit::Nothing,
        framed: false,
        decode: None,
    };
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    group.bench_function("verify_starts_quoted/1MiB", |b| {
        b.iter(|| {
            chunks
                .iter()
                .filter(|&&(start, end)| {
                    scan_chunk(
                        black_box(&data),
                        start..end,
                        end == data.len(),
                        b',',
                        &spec,
                        &mut out,
                        &mut scratch,
                    )
                    .partial
                    .is_some()
                })
                .count()
        })
    });
    group.finish();
}

/// The equality filter's two steps apart: memmem for the predicate's needle over the raw
/// bytes, then, per candidate, the line around it split and the field compared exactly.
fn candidates(c: &mut Criterion) {
    let data = gps();
    let id = predicate("id=11865");
    let needle = id.needle().map(|n| n.bytes.to_vec()).unwrap_or_default();
    let finder = memmem::Finder::new(&needle);
    let mut group = c.benchmark_group("candidates");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(20);
    group.bench_function("memmem_needle", |b| {
        b.iter(|| finder.find_iter(black_box(&data)).count())
    });
    let mut fields = Vec::new();
    group.bench_function("memmem_then_field_check", |b| {
        b.iter(|| {
            let mut matches = 0u64;
            let mut next_line = 0;
            for at in finder.find_iter(black_box(&data)) {
                if at < next_line {
                    continue;
                }
                let start = memchr::memrchr(b'\n', &data[..at]).map_or(0, |i| i + 1);
                let end = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i);
                next_line = end + 1;
                let n = split_quote_free(&data, start..end, b',', &mut fields, 1);
                if n == 7 && id.matches(&data[fields[0].clone()]) {
                    matches += 1;
                }
            }
            matches
        })
    });
    // What the selective scan runs instead: one pass that checks every line's field count
    // and flags only the lines holding the needle (`candidate.rs`); also over 512 KiB that
    // stay in the L2 cache, to tell its compute cost from the memory traffic.
    let probe = Probe::new(&needle, true).expect("a digit needle");
    let mut fields = Vec::new();
    let mut fused = |bytes: &[u8]| {
        let mut matches = 0u64;
        let counts =
            for_each_flagged_line::<false>(bytes, 0..bytes.len(), b',', 6, &probe, |line| {
                if line.well_formed {
                    split_quote_free(bytes, line.start..line.end, b',', &mut fields, 1);
                    matches += id.matches(&bytes[fields[0].clone()]) as u64;
                }
            });
        (counts, matches)
    };
    group.bench_function("fused_pass", |b| b.iter(|| fused(black_box(&data))));
    let cached = &data[..data[..512 << 10]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap_or(0)
        + 1];
    group.throughput(Throughput::Bytes(cached.len() as u64));
    group.bench_function("fused_pass_in_l2", |b| b.iter(|| fused(black_box(cached))));
    group.finish();
}

/// Splitting every quote-free record into all its fields (what agg and --select pay).
fn records(c: &mut Criterion) {
    let data = gps();
    let lines = lines(&data);
    let mut group = c.benchmark_group("records");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(20);
    let mut fields = Vec::new();
    group.bench_function("split_quote_free_all_fields", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for line in &lines {
                n += split_quote_free(black_box(&data), line.clone(), b',', &mut fields, 7);
            }
            n
        })
    });
    group.finish();
}

/// Predicates on the field they test, over every record: throughput is all bytes of the data.
fn predicates(c: &mut Criterion) {
    let data = gps();
    let mut fields = Vec::new();
    let mut columns: Vec<Vec<Range<usize>>> = vec![Vec::new(); 7];
    for line in lines(&data) {
        split_quote_free(&data, line, b',', &mut fields, 7);
        for (i, f) in fields.iter().enumerate() {
            columns[i].push(f.clone());
        }
    }
    let mut group = c.benchmark_group("predicate");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(20);
    for (name, text) in [
        ("id_eq_int", "id=11865"),
        ("speed_gt_int", "speed>100"),
        ("lon_lt_decimal", "lon<114.0"),
        ("time_ge_text", "time>=2015-02-01 12:00:00"),
        ("time_regex", "time~:00:0"),
    ] {
        let p = predicate(text);
        let column = &columns[p.column()];
        group.bench_function(name, |b| {
            b.iter(|| {
                column
                    .iter()
                    .filter(|r| p.matches(black_box(&data[(*r).clone()])))
                    .count()
            })
        });
    }
    group.finish();
}

/// The agg accumulators: per-record update of a private table (group by id: count and
/// mean(speed); by hour(time): count), merging two chunk tables, the encode/decode that moves
/// a table between processes, and the region lock a chunk commit takes.
fn accumulators(c: &mut Criterion) {
    let data = gps();
    let schema = gps_schema();
    let mut fields = Vec::new();
    let records: Vec<Vec<Range<usize>>> = lines(&data)
        .into_iter()
        .map(|line| {
            split_quote_free(&data, line, b',', &mut fields, 7);
            fields.clone()
        })
        .collect();
    let plan_of =
        |group_by: &str, aggs: &[&str]| match AggPlan::parse(Some(group_by), aggs, &schema) {
            Ok(p) => p,
            Err(e) => panic!("bad benchmark plan: {e}"),
        };
    let by_id = plan_of("id", &["count", "mean(speed)"]);
    let by_hour = plan_of("hour(time)", &["count"]);
    let fill = |plan: &AggPlan, rows: &[Vec<Range<usize>>]| {
        let mut t = AggTable::new(plan);
        for r in rows {
            t.update(plan, |i| &data[r[i].clone()]);
        }
        t
    };

    let mut group = c.benchmark_group("agg");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(data.len() as u64));
    for (name, plan) in [
        ("update/by_id_count_mean", &by_id),
        ("update/by_hour_count", &by_hour),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| fill(plan, black_box(&records)).groups())
        });
    }

    // Two chunk tables of half the data each: 30,000 groups, like two 8 MiB chunks of taxis.
    let (first, second) = records.split_at(records.len() / 2);
    let left = fill(&by_id, first);
    let right = fill(&by_id, second);
    let mut encoded = Vec::new();
    right.encode(&mut encoded);
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    group.bench_function("encode/by_id", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(encoded.len());
            right.encode(&mut out);
            out.len()
        })
    });
    group.bench_function("decode/by_id", |b| {
        b.iter(|| match AggTable::decode(&by_id, black_box(&encoded)) {
            Ok(t) => t.groups(),
            Err(e) => panic!("{e}"),
        })
    });
    group.bench_function("merge/by_id_decode_then_merge", |b| {
        b.iter_batched(
            || fill(&by_id, first),
            |mut into| {
                match AggTable::decode(&by_id, &encoded) {
                    Ok(t) => into.merge(t),
                    Err(e) => panic!("{e}"),
                }
                into.groups()
            },
            criterion::BatchSize::LargeInput,
        )
    });
    drop(left);
    group.finish();

    let region = match SharedRegion::create(2, &[0, 1 << 20]) {
        Ok(r) => r,
        Err(e) => panic!("cannot create a shared region: {e}"),
    };
    let mut group = c.benchmark_group("commit");
    group.bench_function("region_lock_unlock", |b| {
        b.iter(|| match region.lock() {
            Ok(guard) => drop(black_box(guard)),
            Err(e) => panic!("{e}"),
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    kernels,
    planning,
    candidates,
    records,
    predicates,
    accumulators
);
criterion_main!(benches);
