//! Records fed to an [`AggTable`] a few at a time, so that the cache misses of a table with
//! many groups overlap instead of following one another.
//!
//! With hundreds of thousands of groups a record's slot in the [`super::groups::GroupIndex`]
//! and its group's count and states are rarely in cache, and the one-record-at-a-time path
//! waits on each miss in turn (a `--group-by lat --agg count` run spent 80% of its time
//! there). Here a record's key is hashed when it arrives and its slot prefetched; it is
//! looked up [`LAG`] records later, when the slot has arrived, and its group's states are
//! prefetched; it is added [`LAG`] records after that. Records are looked up in arrival
//! order and added in arrival order, so groups get the same numbers and states see values
//! in the same order as on the direct path: the table is the same.
//!
//! What a record carries while it waits is copied out of the chunk (the field slices the
//! scanner lends do not outlive the call): its key packed as two words, and each spec's
//! value, when every value fits two words and the key is one column of fewer than 16 bytes
//! or a small integer paired with an hour of a text time (`id,hour(time)`; looked up by its
//! hash here, not through the table's dense cache, whose entry would be one more miss for a
//! group new to the table). Other records flush the pipeline and take the direct path
//! ([`AggTable::update`]).

use super::hash::{hash_short, load_le, short_words, words_bytes};
use super::spec::{AggPlan, GroupKey, KeyFn, TimeFormat};
use super::table::{packed_short, small_int, AggTable, INLINE_VALUE};

/// Records held at once: one being looked up, one being added and what lies between.
const RING: usize = 16;
/// Records between a record's arrival and its lookup, and between its lookup and its update.
const LAG: usize = RING / 2;
/// Specs a held record carries values for; a plan with more takes the direct path.
const MAX_VALUES: usize = 4;
/// The longest value a held record carries; a longer one sends its record the direct way.
const VALUE_BYTES: usize = 16;

/// One record waiting: its packed key (words, length, hash), its group once looked up, and
/// its specs' values as zero-padded words with their lengths.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    hash: u64,
    words: [u64; 2],
    len: usize,
    group: usize,
    values: [[u64; 2]; MAX_VALUES],
    value_lens: [u8; MAX_VALUES],
}

/// The key shapes the pipeline takes.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// One column.
    Column(usize),
    /// A column of small integers, then the hour of a text time column.
    IntHour { int: usize, time: usize },
}

/// The records between arrival and update; `arrived`, `looked_up` and `applied` count
/// records since the last flush, and record `i` waits in `ring[i % RING]`.
#[derive(Debug, Default)]
pub(crate) struct Pipeline {
    ring: [Held; RING],
    arrived: usize,
    looked_up: usize,
    applied: usize,
    /// The key's shape, when the plan can use the pipeline at all.
    shape: Option<Shape>,
    /// Records that went through the pipeline, for the tests.
    held: u64,
}

impl Pipeline {
    /// A pipeline for `plan`'s table: active for one column key and at most [`MAX_VALUES`]
    /// specs.
    pub(crate) fn for_plan(plan: &AggPlan) -> Pipeline {
        let shape = match plan.keys.as_slice() {
            _ if plan.specs.len() > MAX_VALUES => None,
            [GroupKey {
                func: KeyFn::Column(c),
                ..
            }] => Some(Shape::Column(*c)),
            [GroupKey {
                func: KeyFn::Column(int),
                ..
            }, GroupKey {
                func: KeyFn::Hour(time),
                ..
            }] if plan.time_format(*time) == TimeFormat::Text => Some(Shape::IntHour {
                int: *int,
                time: *time,
            }),
            _ => None,
        };
        Pipeline {
            shape,
            ..Pipeline::default()
        }
    }

    /// Drops the waiting records (their table is being thrown away).
    pub(crate) fn clear(&mut self) {
        self.arrived = 0;
        self.looked_up = 0;
        self.applied = 0;
    }
}

/// The record as it waits with key `(words, len, hash)`, or `None` when a value does not
/// fit.
#[inline(always)]
fn hold<'f>(
    plan: &AggPlan,
    (words, len, hash): ([u64; 2], usize, u64),
    field: &impl Fn(usize) -> &'f [u8],
) -> Option<Held> {
    let mut held = Held {
        hash,
        words,
        len,
        ..Held::default()
    };
    for (s, spec) in plan.specs.iter().enumerate() {
        if let Some(c) = spec.func.column() {
            let value = field(c);
            if value.len() > VALUE_BYTES {
                return None;
            }
            held.values[s] = short_words(value);
            held.value_lens[s] = value.len() as u8;
        }
    }
    Some(held)
}

/// The packed key of canonical integer `int` (at most 7 digits) and hour `hour` (0..23): the
/// integer's length and digits, then 2 and the hour's two digits, as two zero-padded words.
#[inline(always)]
fn int_hour_words(int: &[u8], hour: usize) -> ([u64; 2], usize) {
    debug_assert!(int.len() <= 7 && hour < 24);
    let n = int.len();
    let hour_part =
        2 | u64::from(b'0' + (hour / 10) as u8) << 8 | u64::from(b'0' + (hour % 10) as u8) << 16;
    let packed = u128::from(n as u64 | load_le(int) << 8) | u128::from(hour_part) << (8 * (n + 1));
    ([packed as u64, (packed >> 64) as u64], n + 4)
}

impl AggTable {
    /// [`AggTable::update`] through `pipe` (made for `plan`): the record may only be added
    /// when later records come or at [`AggTable::flush_pipeline`], which must be called
    /// before the table is read.
    #[inline]
    pub(crate) fn update_pipelined<'f>(
        &mut self,
        pipe: &mut Pipeline,
        plan: &AggPlan,
        field: &impl Fn(usize) -> &'f [u8],
    ) {
        match pipe.shape {
            Some(Shape::Column(c)) => {
                let key = field(c);
                // Small canonical integers keep the table's dense cache (the direct path).
                if key.len() < INLINE_VALUE && small_int(key).is_none() {
                    if let Some(held) = hold(plan, packed_short(key), field) {
                        self.push_held(pipe, plan, held);
                        return;
                    }
                }
            }
            Some(Shape::IntHour { int, time }) => {
                let id = field(int);
                if small_int(id).is_some() {
                    if let Some(hour) = self.time_part(KeyFn::Hour(time), field(time)) {
                        let (words, len) = int_hour_words(id, hour);
                        let key = (words, len, hash_short(words, len));
                        if let Some(held) = hold(plan, key, field) {
                            self.push_held(pipe, plan, held);
                            return;
                        }
                    }
                }
            }
            None => {}
        }
        self.flush_pipeline(pipe, plan);
        self.update(plan, field);
    }

    /// Adds every waiting record, in arrival order.
    pub(crate) fn flush_pipeline(&mut self, pipe: &mut Pipeline, plan: &AggPlan) {
        while pipe.looked_up < pipe.arrived {
            self.look_up_held(pipe);
        }
        while pipe.applied < pipe.arrived {
            self.apply_held(pipe, plan);
        }
        pipe.clear();
    }

    #[inline(always)]
    fn push_held(&mut self, pipe: &mut Pipeline, plan: &AggPlan, held: Held) {
        if pipe.arrived - pipe.applied == RING {
            self.apply_held(pipe, plan);
        }
        if pipe.arrived - pipe.looked_up == LAG {
            self.look_up_held(pipe);
        }
        self.index.prefetch(held.hash);
        pipe.ring[pipe.arrived % RING] = held;
        pipe.arrived += 1;
        pipe.held += 1;
    }

    /// Finds (or adds) the group of the oldest record not yet looked up, and prefetches its
    /// count and states.
    #[inline(always)]
    fn look_up_held(&mut self, pipe: &mut Pipeline) {
        let held = &mut pipe.ring[pipe.looked_up % RING];
        let g = self.group_of_words(held.hash, held.words, held.len);
        held.group = g;
        self.prefetch_states(g);
        pipe.looked_up += 1;
    }

    /// Adds the oldest waiting record (already looked up) to its group.
    #[inline(always)]
    fn apply_held(&mut self, pipe: &mut Pipeline, plan: &AggPlan) {
        let held = pipe.ring[pipe.applied % RING];
        let bytes = held.values.map(words_bytes);
        self.add_record(plan, held.group, |s| {
            match (bytes.get(s), held.value_lens.get(s)) {
                (Some(b), Some(&n)) => &b[..usize::from(n)],
                _ => b"",
            }
        });
        pipe.applied += 1;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::input::schema::Schema;

    fn plan(group_by: &str, aggs: &[&str]) -> AggPlan {
        let schema = Schema::new(Some(["k", "v", "w", "t"].map(String::from).to_vec()), 0);
        AggPlan::parse(Some(group_by), aggs, &schema).unwrap()
    }

    /// Rows whose keys and values cover every way in and out of the pipeline: short keys
    /// (held), keys of 16 bytes and more, small canonical integers (direct path), values
    /// longer than two words, empty and non-numeric values, repeated and new groups.
    fn rows(n: usize) -> Vec<[String; 4]> {
        let mut x = 12345u64;
        (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = (x >> 33) as usize;
                let key = match r % 7 {
                    0 => format!("{}", r % 50),                    // small int
                    1 => format!("a key that is long {}", r % 40), // >= 16 bytes
                    2 => format!("{}", 10_000_000 + r % 300),      // not small
                    3 => String::new(),
                    _ => format!("22.{:06}", r % 2000), // lat-like
                };
                let v = match r % 11 {
                    0 => String::new(),
                    1 => "x".to_string(),
                    2 => "1234567890.1234567".to_string(), // 18 bytes: direct path
                    _ => format!("{}.{}", r % 1000, r % 7),
                };
                let t = match r % 13 {
                    0 => "garbage".to_string(),
                    1 => String::new(),
                    2 => format!("2015-02-01 {:02}:59:60", r % 24), // leap second
                    _ => format!(
                        "2015-02-0{} {:02}:{:02}:{:02}",
                        1 + r % 3,
                        r % 24,
                        i % 60,
                        r % 60
                    ),
                };
                [key, v, format!("w{}", i % 13), t]
            })
            .collect()
    }

    fn encoded(t: &AggTable) -> Vec<u8> {
        let mut out = Vec::new();
        t.encode(&mut out);
        out
    }

    #[test]
    fn pipelined_tables_equal_direct_ones() {
        let specs: [&[&str]; 4] = [
            &["count"],
            &["count", "mean(v)", "min(w)", "last(v)"],
            // More specs than a held record carries: always direct.
            &["count", "sum(v)", "max(v)", "first(w)", "count(v)"],
            &["distinct(w)", "stddev(v)"],
        ];
        for aggs in specs {
            for group_by in ["k", "k,w", "k,hour(t)", "k,weekday(t)"] {
                let p = plan(group_by, aggs);
                for n in [0, 1, LAG - 1, LAG, LAG + 1, RING, RING + 3, 5000] {
                    let data = rows(n);
                    let mut direct = AggTable::new(&p);
                    let mut piped = AggTable::new(&p);
                    let mut pipe = Pipeline::for_plan(&p);
                    for row in &data {
                        direct.update(&p, |i| row[i].as_bytes());
                        piped.update_pipelined(&mut pipe, &p, &|i| row[i].as_bytes());
                    }
                    piped.flush_pipeline(&mut pipe, &p);
                    let pipelined =
                        aggs.len() <= MAX_VALUES && matches!(group_by, "k" | "k,hour(t)");
                    if n >= 1000 {
                        assert_eq!(
                            pipe.held > 100,
                            pipelined,
                            "{aggs:?} {group_by} {n}: {}",
                            pipe.held
                        );
                    }
                    assert_eq!(piped.groups(), direct.groups(), "{aggs:?} {group_by} {n}");
                    assert_eq!(encoded(&piped), encoded(&direct), "{aggs:?} {group_by} {n}");
                    if n == 5000 {
                        assert!(direct.groups() > 1000, "{}", direct.groups());
                        assert_eq!(piped.malformed_keys, direct.malformed_keys);
                    }
                }
            }
        }
    }

    #[test]
    fn a_cleared_pipeline_drops_what_waits() {
        let p = plan("k", &["count"]);
        let mut t = AggTable::new(&p);
        let mut pipe = Pipeline::for_plan(&p);
        for i in 0..5 {
            let key = format!("k{i}");
            t.update_pipelined(&mut pipe, &p, &|_| key.as_bytes());
        }
        pipe.clear();
        let mut t = AggTable::new(&p);
        t.update_pipelined(&mut pipe, &p, &|_| b"only");
        t.flush_pipeline(&mut pipe, &p);
        assert_eq!(t.groups(), 1);
        assert_eq!(t.records, vec![1]);
    }
}
