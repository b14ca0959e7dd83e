//! [`AggTable`]: the private state a worker fills from one chunk (or many), and the merge that
//! combines such tables in any order.
//!
//! Layout: a hash map from a group's packed key tuple ([`crate::agg::keys`]) to a dense group
//! number, a record count per group, and a flat `Vec<Acc>` with one state per (group, spec),
//! `specs.len()` states per group. A record costs one packing into a reused scratch buffer
//! and one borrowed map lookup; only a new group allocates (its key and its states).

use std::collections::HashMap;

use super::accum::Acc;
use super::hash::BuildKeyHasher;
use super::keys::{derive, push_part};
use super::spec::{AggPlan, KeyFn};

#[derive(Debug)]
pub struct AggTable {
    /// A copy of the plan the table was made for (a few short strings per table): merge and
    /// the malformed reports need the functions and texts without being handed the plan.
    pub(crate) plan: AggPlan,
    pub(crate) nspecs: usize,
    /// Packed key tuple -> group number.
    pub(crate) index: HashMap<Box<[u8]>, usize, BuildKeyHasher>,
    /// Records per group.
    pub(crate) records: Vec<u64>,
    /// `nspecs` states per group, group-major.
    pub(crate) accs: Vec<Acc>,
    /// Per spec: non-numbers seen by sum/mean/stddev.
    pub(crate) malformed_values: Vec<u64>,
    /// Per key: non-empty values a derived key could not read as a timestamp.
    pub(crate) malformed_keys: Vec<u64>,
    scratch: Vec<u8>,
}

impl AggTable {
    pub fn new(plan: &AggPlan) -> AggTable {
        AggTable {
            plan: plan.clone(),
            nspecs: plan.specs.len(),
            index: HashMap::default(),
            records: Vec::new(),
            accs: Vec::new(),
            malformed_values: vec![0; plan.specs.len()],
            malformed_keys: vec![0; plan.keys.len()],
            scratch: Vec::new(),
        }
    }

    /// Adds one well-formed record; `field(i)` is field i's unescaped bytes and is only asked
    /// for `i < plan.columns_needed()`. `plan` must be the one the table was made with.
    #[inline]
    pub fn update<'f>(&mut self, plan: &AggPlan, field: impl Fn(usize) -> &'f [u8]) {
        debug_assert!(plan.keys.len() == self.plan.keys.len() && plan.specs.len() == self.nspecs);
        self.scratch.clear();
        for (k, key) in plan.keys.iter().enumerate() {
            let value = field(key.func.column());
            match key.func {
                KeyFn::Column(_) => push_part(&mut self.scratch, value),
                derived => match derive(derived, value) {
                    Some(d) => push_part(&mut self.scratch, d.as_bytes()),
                    None => {
                        // An empty field is a null, not a malformed timestamp.
                        if let Some(n) = self.malformed_keys.get_mut(k) {
                            *n += u64::from(!value.is_empty());
                        }
                        push_part(&mut self.scratch, b"");
                    }
                },
            }
        }
        let group = match self.index.get(&self.scratch[..]) {
            Some(&g) => g,
            None => self.add_group(plan),
        };
        self.records[group] += 1;
        let start = group * self.nspecs;
        let accs = &mut self.accs[start..start + self.nspecs];
        for ((spec, acc), bad) in plan.specs.iter().zip(accs).zip(&mut self.malformed_values) {
            let value = match spec.func.column() {
                Some(c) => field(c),
                None => b"",
            };
            *bad += u64::from(acc.update(spec.func, value));
        }
    }

    /// Registers the group in `scratch` with empty states; returns its number.
    #[cold]
    fn add_group(&mut self, plan: &AggPlan) -> usize {
        let group = self.records.len();
        self.index.insert(self.scratch.as_slice().into(), group);
        self.records.push(0);
        self.accs
            .extend(plan.specs.iter().map(|s| Acc::new(s.func)));
        group
    }

    /// Folds `other` (made from the same plan) into `self`. Every state's merge is exact,
    /// associative and commutative, so any grouping and order of merges gives equal tables.
    pub fn merge(&mut self, other: AggTable) {
        for (a, b) in self
            .malformed_values
            .iter_mut()
            .zip(&other.malformed_values)
        {
            *a = a.wrapping_add(*b);
        }
        for (a, b) in self.malformed_keys.iter_mut().zip(&other.malformed_keys) {
            *a = a.wrapping_add(*b);
        }
        let nspecs = self.nspecs;
        // Move the other table's states out group by group, in its group order.
        let mut theirs: Vec<Option<(Box<[u8]>, usize)>> = vec![None; other.records.len()];
        for (key, g) in other.index {
            if let Some(slot) = theirs.get_mut(g) {
                *slot = Some((key, g));
            }
        }
        let mut states = other.accs.into_iter();
        for (slot, records) in theirs.into_iter().zip(other.records) {
            let group_states: Vec<Acc> = states.by_ref().take(nspecs).collect();
            let Some((key, _)) = slot else { continue };
            match self.index.get(&key[..]) {
                Some(&g) => {
                    self.records[g] = self.records[g].wrapping_add(records);
                    let start = g * nspecs;
                    for ((acc, theirs), spec) in self.accs[start..start + nspecs]
                        .iter_mut()
                        .zip(group_states)
                        .zip(&self.plan.specs)
                    {
                        acc.merge(spec.func, theirs);
                    }
                }
                None => {
                    let g = self.records.len();
                    self.index.insert(key, g);
                    self.records.push(records);
                    self.accs.extend(group_states);
                }
            }
        }
    }

    pub fn groups(&self) -> usize {
        self.records.len()
    }

    /// Per numeric spec (sum, mean, stddev) with any: (spec text, values that were not
    /// numbers and were skipped). Numbers with more than 19 integer digits count here too:
    /// they cannot be summed exactly.
    pub fn malformed_values(&self) -> Vec<(String, u64)> {
        self.plan
            .specs
            .iter()
            .zip(&self.malformed_values)
            .filter(|(_, &n)| n > 0)
            .map(|(s, &n)| (s.text.clone(), n))
            .collect()
    }

    /// Per derived key with any: (key text, non-empty values that were not timestamps and so
    /// were grouped under the empty key).
    pub fn malformed_keys(&self) -> Vec<(String, u64)> {
        self.plan
            .keys
            .iter()
            .zip(&self.malformed_keys)
            .filter(|(_, &n)| n > 0)
            .map(|(k, &n)| (k.text.clone(), n))
            .collect()
    }

    /// (packed key, records, states) of every group, in group-number order.
    pub(crate) fn group_list(&self) -> Vec<(&[u8], u64, &[Acc])> {
        let mut keys: Vec<&[u8]> = vec![&[]; self.records.len()];
        for (key, &g) in &self.index {
            if let Some(slot) = keys.get_mut(g) {
                *slot = key;
            }
        }
        keys.into_iter()
            .enumerate()
            .map(|(g, key)| {
                let start = g * self.nspecs;
                (key, self.records[g], &self.accs[start..start + self.nspecs])
            })
            .collect()
    }

    /// Rebuilds a table from decoded parts; the codec has checked their consistency.
    pub(crate) fn from_parts(
        plan: &AggPlan,
        groups: Vec<(Box<[u8]>, u64, Vec<Acc>)>,
        malformed_values: Vec<u64>,
        malformed_keys: Vec<u64>,
    ) -> AggTable {
        let mut table = AggTable::new(plan);
        table.malformed_values = malformed_values;
        table.malformed_keys = malformed_keys;
        table.index.reserve(groups.len());
        for (g, (key, records, accs)) in groups.into_iter().enumerate() {
            table.index.insert(key, g);
            table.records.push(records);
            table.accs.extend(accs);
        }
        table
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::schema::Schema;

    fn plan(group_by: Option<&str>, aggs: &[&str]) -> AggPlan {
        let schema = Schema::new(Some(["id", "time", "speed"].map(String::from).to_vec()), 0);
        AggPlan::parse(group_by, aggs, &schema).unwrap()
    }

    fn feed(table: &mut AggTable, plan: &AggPlan, rows: &[[&str; 3]]) {
        for row in rows {
            table.update(plan, |i| row[i].as_bytes());
        }
    }

    #[test]
    fn groups_and_malformed() {
        let p = plan(Some("id,hour(time)"), &["count", "sum(speed)"]);
        let mut t = AggTable::new(&p);
        feed(
            &mut t,
            &p,
            &[
                ["1", "2015-02-01 08:00:00", "10"],
                ["1", "2015-02-01 08:59:59", "x"],
                ["1", "2015-02-01 09:00:00", "5"],
                ["2", "garbage", ""],
                ["2", "", "7"],
            ],
        );
        // (1,08) (1,09) (2,"")
        assert_eq!(t.groups(), 3);
        assert_eq!(t.malformed_values(), vec![("sum(speed)".to_string(), 1)]);
        assert_eq!(t.malformed_keys(), vec![("hour(time)".to_string(), 1)]);
        let list = t.group_list();
        assert_eq!(list.iter().map(|g| g.1).sum::<u64>(), 5);
    }

    #[test]
    fn merge_adds_counts_and_new_groups() {
        let p = plan(Some("id"), &["count", "sum(speed)"]);
        let mut a = AggTable::new(&p);
        feed(&mut a, &p, &[["1", "", "1"], ["2", "", "x"]]);
        let mut b = AggTable::new(&p);
        feed(
            &mut b,
            &p,
            &[["3", "", "1"], ["2", "", "2"], ["2", "", "y"]],
        );
        a.merge(b);
        assert_eq!(a.groups(), 3);
        assert_eq!(a.malformed_values(), vec![("sum(speed)".to_string(), 2)]);
        let mut by_key: Vec<(Vec<u8>, u64)> = a
            .group_list()
            .into_iter()
            .map(|(k, r, _)| (k.to_vec(), r))
            .collect();
        by_key.sort();
        assert_eq!(
            by_key,
            vec![
                (b"\x011".to_vec(), 1),
                (b"\x012".to_vec(), 3),
                (b"\x013".to_vec(), 1)
            ]
        );
        // Merging an empty table changes nothing; merging into an empty one copies.
        a.merge(AggTable::new(&p));
        assert_eq!(a.groups(), 3);
        let mut e = AggTable::new(&p);
        e.merge(a);
        assert_eq!(e.groups(), 3);
    }

    #[test]
    fn no_keys_is_one_group() {
        let p = plan(None, &["count"]);
        let mut t = AggTable::new(&p);
        assert_eq!(t.groups(), 0);
        feed(&mut t, &p, &[["1", "", ""], ["2", "", ""]]);
        assert_eq!(t.groups(), 1);
        assert_eq!(t.group_list()[0].1, 2);
    }
}
