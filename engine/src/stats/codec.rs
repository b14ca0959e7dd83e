//! A chunk's column profiles as bytes and back: they travel from a worker (possibly another
//! process) through its spill file to the coordinator. Little-endian integers, length-prefixed
//! byte strings; the quantile sketch's non-empty bins as (bin, count) pairs, the HyperLogLog
//! registers as JSON (the crate's serde form). Only fleet's own workers write these bytes, but a truncated or
//! corrupt result is reported as [`StatsError::Corrupt`], never a panic.

use super::error::StatsError;
use super::profile::{ColumnProfile, Distinct, ExactCounts, Hll, Numbers, Sketches, Times};
use super::quantile_sketch::QuantileSketch;
use crate::agg::exact::{Sum256, U256};
use crate::columnar::ColumnGuess;
use std::collections::BTreeMap;

/// Appends `profiles` to `out`.
pub fn encode(profiles: &[ColumnProfile], out: &mut Vec<u8>) {
    put_u64(out, profiles.len() as u64);
    for p in profiles {
        debug_assert!(!p.has_pending(), "a profile encoded before finish");
        let (flags, non_null) = p.guess.to_parts();
        out.push(flags);
        put_u64(out, non_null);
        put_u64(out, p.nulls);
        put_u64(out, p.markers.len() as u64);
        for (m, n) in &p.markers {
            put_bytes(out, m);
            put_u64(out, *n);
        }
        put_u64(out, p.values);
        put_u64(out, p.min_len);
        put_u64(out, p.max_len);
        let n = &p.numbers;
        put_u64(out, n.count);
        put_u128(out, n.sum.lo);
        put_u128(out, n.sum.hi as u128);
        put_u128(out, n.squares.lo);
        put_u128(out, n.squares.hi);
        put_u128(out, n.min as u128);
        put_u128(out, n.max as u128);
        put_u64(out, n.unusable);
        let t = &p.times;
        out.push(u8::from(t.possible));
        for end in [&t.first, &t.last] {
            match end {
                Some((k, text)) => {
                    out.push(1);
                    put_u128(out, *k as u128);
                    put_bytes(out, text);
                }
                None => out.push(0),
            }
        }
        put_u64(out, t.days.len() as u64);
        for (d, n) in &t.days {
            put_u64(out, *d as u64);
            put_u64(out, *n);
        }
        match &p.distinct {
            Distinct::Exact(map) => {
                out.push(0);
                put_u64(out, map.len() as u64);
                for (k, n) in map.iter() {
                    put_bytes(out, &k);
                    put_u64(out, n);
                }
            }
            Distinct::Sketched(s) => {
                out.push(1);
                s.quantiles.encode(out);
                // Serializing plain registers to a Vec cannot fail.
                put_bytes(out, &serde_json::to_vec(&s.hll).unwrap_or_default());
            }
        }
    }
}

/// The profiles [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Result<Vec<ColumnProfile>, StatsError> {
    let mut r = Reader { bytes };
    let n = r.len()?;
    let mut profiles = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let flags = r.u8()?;
        let non_null = r.u64()?;
        let guess = ColumnGuess::from_parts(flags, non_null);
        let nulls = r.u64()?;
        let mut markers = BTreeMap::new();
        for _ in 0..r.len()? {
            let m = r.bytes()?.to_vec();
            markers.insert(m, r.u64()?);
        }
        let values = r.u64()?;
        let min_len = r.u64()?;
        let max_len = r.u64()?;
        let numbers = Numbers {
            count: r.u64()?,
            sum: Sum256 {
                lo: r.u128()?,
                hi: r.u128()? as i128,
            },
            squares: U256 {
                lo: r.u128()?,
                hi: r.u128()?,
            },
            min: r.u128()? as i128,
            max: r.u128()? as i128,
            unusable: r.u64()?,
        };
        let possible = r.u8()? == 1;
        let mut ends = [None, None];
        for end in &mut ends {
            if r.u8()? == 1 {
                let k = r.u128()? as i128;
                *end = Some((k, r.bytes()?.to_vec()));
            }
        }
        let [first, last] = ends;
        let mut days = BTreeMap::new();
        for _ in 0..r.len()? {
            let d = r.u64()? as i64;
            days.insert(d, r.u64()?);
        }
        let distinct = match r.u8()? {
            0 => {
                let len = r.len()?;
                let mut pairs = Vec::with_capacity(len.min(1 << 16));
                for _ in 0..len {
                    let k = r.bytes()?.to_vec();
                    pairs.push((k, r.u64()?));
                }
                Distinct::Exact(pairs.into_iter().collect::<ExactCounts>())
            }
            1 => {
                let quantiles = QuantileSketch::decode(&mut r.bytes).ok_or(StatsError::Corrupt)?;
                let hll: Hll =
                    serde_json::from_slice(r.bytes()?).map_err(|_| StatsError::Corrupt)?;
                Distinct::Sketched(Box::new(Sketches { hll, quantiles }))
            }
            _ => return Err(StatsError::Corrupt),
        };
        profiles.push(ColumnProfile {
            guess,
            nulls,
            markers,
            values,
            min_len,
            max_len,
            numbers,
            times: Times {
                possible,
                first,
                last,
                days,
            },
            distinct,
            ..ColumnProfile::default()
        });
    }
    if !r.bytes.is_empty() {
        return Err(StatsError::Corrupt);
    }
    Ok(profiles)
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u128(out: &mut Vec<u8>, v: u128) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u64(out, b.len() as u64);
    out.extend_from_slice(b);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StatsError> {
        if n > self.bytes.len() {
            return Err(StatsError::Corrupt);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, StatsError> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, StatsError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(
            b.try_into().map_err(|_| StatsError::Corrupt)?,
        ))
    }

    fn u128(&mut self) -> Result<u128, StatsError> {
        let b = self.take(16)?;
        Ok(u128::from_le_bytes(
            b.try_into().map_err(|_| StatsError::Corrupt)?,
        ))
    }

    /// A count of items still to read: never more than bytes are left, so a corrupt count
    /// cannot make the decoder allocate or loop without end.
    fn len(&mut self) -> Result<usize, StatsError> {
        let n = self.u64()?;
        if n > self.bytes.len() as u64 {
            return Err(StatsError::Corrupt);
        }
        Ok(n as usize)
    }

    fn bytes(&mut self) -> Result<&'a [u8], StatsError> {
        let n = self.len()?;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::input::nulls::NullMarkers;

    #[test]
    fn profiles_survive_the_trip_and_corrupt_bytes_are_refused() {
        let nulls = NullMarkers::default();
        let mut a = ColumnProfile::default();
        let mut b = ColumnProfile::default();
        for v in ["1", "", "NA", "2.5", "2015-02-01 00:00:00", "x"] {
            a.observe(v.as_bytes(), &nulls);
        }
        let mut c = ColumnProfile::default();
        for i in 0..super::super::profile::EXACT_CAP + 5 {
            b.observe(i.to_string().as_bytes(), &nulls);
            c.observe(format!("t{i}").as_bytes(), &nulls);
        }
        for p in [&mut a, &mut b, &mut c] {
            p.finish();
        }
        let mut bytes = Vec::new();
        encode(&[a.clone(), b.clone(), c], &mut bytes);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.len(), 3);
        // A sketched text column: distinct values, no numbers.
        assert!(matches!(back[2].distinct, Distinct::Sketched(_)));
        assert_eq!(back[0].numbers, a.numbers);
        assert_eq!(back[0].markers, a.markers);
        assert_eq!(back[0].guess, a.guess);
        assert_eq!(back[0].times, a.times);
        assert!(matches!(back[1].distinct, Distinct::Sketched(_)));
        for cut in (0..bytes.len()).step_by(bytes.len() / 499 + 1) {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
