//! Criterion benchmarks of fleet's kernels in isolation, with throughput in bytes:
//! chunk planning, the quote-free and general record readers, predicate evaluation, and the
//! full chunk kernel for a selective and an unselective filter.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use fleet_engine::expr::parse_where;
use fleet_engine::kernel::{scan_chunk, Scratch};
use fleet_engine::predicate::Predicate;
use fleet_engine::record::GeneralRecords;
use fleet_engine::schema::Schema;
use fleet_engine::structure::for_each_line;
use fleet_engine::{plan, Emit, ScanSpec};

fn gps() -> Vec<u8> {
    // About 32 MiB of taxi points: big enough to leave the L2 cache, small enough to be quick.
    fleet_fixtures::gps_file(1, 0, 560_000)
}

fn predicate(text: &str) -> Predicate {
    let schema = Schema::new(
        Some(
            fleet_fixtures::GPS_COLUMNS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
        7,
    );
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
            let _ = for_each_line(black_box(&data), 0..data.len(), b',', |l| {
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
            predicates: vec![predicate(filter)],
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

criterion_group!(benches, kernels);
criterion_main!(benches);
