//! Group numbers for one BIGINT key column without hashing: a table indexed by `key − base`
//! over the range of keys seen, for keys that are dense, as sales data's ids are (opportunity
//! and rep ids are numbered from 1). Keys that turn out sparse move to a hash map, so the
//! answer never depends on the data's shape, only the speed does.

use datafusion::arrow::array::{Array, Int64Array};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::{max, min};
use datafusion::common::utils::memory::estimate_memory_size;
use datafusion::common::{HashMap, Result, exec_err};

/// The direct table is always allowed this many slots (16 MiB, whose pages the system only
/// provides once written): the first batches of a time-ordered table already span a wide
/// band of ids.
const MIN_SLOTS: i128 = 1 << 22;
/// The direct table never grows past this many slots (256 MiB).
const MAX_SLOTS: i128 = 1 << 26;
/// Beyond `MIN_SLOTS`, the direct table may hold this many slots per row seen: keys spread
/// thinner than that are served by a hash map.
const SLOTS_PER_ROW: i128 = 4;

/// Group numbers `0, 1, 2, …` given to keys in the order they are first seen (the NULL key
/// gets one too), with each group's key.
#[derive(Debug, Default)]
pub struct DenseKeys {
    /// The smallest key `slots` covers.
    base: i64,
    /// `slots[key − base]` is the key's group plus one; 0 is a key not seen yet.
    slots: Vec<u32>,
    /// Every key's group, once the keys proved too sparse for `slots`.
    sparse: Option<HashMap<i64, u32>>,
    /// The key of each group (any value for the NULL key's group).
    keys: Vec<i64>,
    /// The group of the NULL key.
    null_group: Option<u32>,
    /// The number of rows seen, which bounds the direct table's size.
    rows_seen: usize,
}

impl DenseKeys {
    /// The number of groups so far.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True before the first group.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True once the keys moved to a hash map.
    pub fn is_sparse(&self) -> bool {
        self.sparse.is_some()
    }

    /// The memory held, in bytes.
    pub fn size(&self) -> usize {
        let sparse = self.sparse.as_ref().map_or(0, |map| {
            estimate_memory_size::<(i64, u32)>(map.capacity(), 0).unwrap_or(usize::MAX / 2)
        });
        self.slots.capacity() * size_of::<u32>() + self.keys.capacity() * size_of::<i64>() + sparse
    }

    /// Fills `groups` with the group of each row of `keys`, creating groups for new keys.
    /// Fails when the groups could outnumber `u32`'s range.
    pub fn intern(&mut self, keys: &Int64Array, groups: &mut Vec<usize>) -> Result<()> {
        if self.keys.len() + keys.len() >= u32::MAX as usize {
            return exec_err!(
                "a group-by on one BIGINT key holds more than {} groups",
                u32::MAX - 1
            );
        }
        groups.clear();
        groups.reserve(keys.len());
        self.rows_seen += keys.len();
        if let (Some(low), Some(high)) = (min(keys), max(keys))
            && self.sparse.is_none()
        {
            self.cover(low, high);
        }
        let nulls = keys.nulls().filter(|n| n.null_count() > 0);
        match (&mut self.sparse, nulls) {
            (None, None) => {
                for &key in keys.values() {
                    groups.push(self.direct_group(key));
                }
            }
            (None, Some(nulls)) => {
                for (row, &key) in keys.values().iter().enumerate() {
                    groups.push(if nulls.is_null(row) {
                        null_group(&mut self.null_group, &mut self.keys)
                    } else {
                        self.direct_group(key)
                    });
                }
            }
            (Some(map), nulls) => {
                for (row, &key) in keys.values().iter().enumerate() {
                    if nulls.is_some_and(|n| n.is_null(row)) {
                        groups.push(null_group(&mut self.null_group, &mut self.keys));
                        continue;
                    }
                    let next = self.keys.len() as u32;
                    let group = *map.entry(key).or_insert(next);
                    if group == next {
                        self.keys.push(key);
                    }
                    groups.push(group as usize);
                }
            }
        }
        Ok(())
    }

    /// The group of `key` (within the direct table's range), created if new.
    #[inline]
    fn direct_group(&mut self, key: i64) -> usize {
        let slot = &mut self.slots[key.wrapping_sub(self.base) as usize];
        if *slot == 0 {
            self.keys.push(key);
            *slot = self.keys.len() as u32;
        }
        *slot as usize - 1
    }

    /// Makes the direct table cover `low..=high`, growing it geometrically, or moves every key
    /// to a hash map when that would make it too large for the rows seen.
    fn cover(&mut self, low: i64, high: i64) {
        let (old_low, old_len) = (i128::from(self.base), self.slots.len() as i128);
        let (want_low, want_high) = if self.slots.is_empty() {
            (i128::from(low), i128::from(high))
        } else {
            (
                old_low.min(i128::from(low)),
                (old_low + old_len - 1).max(i128::from(high)),
            )
        };
        let needed = want_high - want_low + 1;
        if needed <= old_len {
            return;
        }
        let limit = (SLOTS_PER_ROW * self.rows_seen as i128).clamp(MIN_SLOTS, MAX_SLOTS);
        if needed > limit {
            self.go_sparse();
            return;
        }
        // Grow by at least the current length on the side that needs room, so that keys
        // arriving in rising (or falling) order cost amortized O(1) per slot.
        let mut new_low = want_low;
        let mut new_high = want_high;
        if !self.slots.is_empty() {
            let room = old_len.min(limit - needed);
            if want_low < old_low {
                new_low = (want_low - room).max(i128::from(i64::MIN));
            } else {
                new_high = (want_high + room).min(i128::from(i64::MAX));
            }
        }
        let new_len = (new_high - new_low + 1) as usize;
        if self.slots.is_empty() {
            self.slots = vec![0; new_len];
        } else if new_low == old_low {
            self.slots.resize(new_len, 0);
        } else {
            let shift = (old_low - new_low) as usize;
            let mut slots = vec![0u32; new_len];
            slots[shift..shift + self.slots.len()].copy_from_slice(&self.slots);
            self.slots = slots;
        }
        self.base = new_low as i64;
    }

    /// Moves every key seen to a hash map, for keys too sparse for a direct table.
    fn go_sparse(&mut self) {
        let mut map = HashMap::with_capacity(self.keys.len());
        for (group, &key) in self.keys.iter().enumerate() {
            if self.null_group != Some(group as u32) {
                map.insert(key, group as u32);
            }
        }
        self.sparse = Some(map);
        self.slots = Vec::new();
    }

    /// The keys of every group, in group order, as an array (NULL for the NULL key's group),
    /// leaving no groups behind.
    pub fn take_keys(&mut self) -> Int64Array {
        let keys = std::mem::take(&mut self.keys);
        let nulls = self
            .null_group
            .take()
            .map(|null| NullBuffer::from_iter((0..keys.len()).map(|group| group != null as usize)));
        *self = Self::default();
        Int64Array::new(keys.into(), nulls)
    }
}

/// The NULL key's group, created on first use.
fn null_group(null_group: &mut Option<u32>, keys: &mut Vec<i64>) -> usize {
    *null_group.get_or_insert_with(|| {
        keys.push(0);
        (keys.len() - 1) as u32
    }) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Interns batches and checks the groups against a plain hash map, returning the table.
    fn check(batches: &[Vec<Option<i64>>]) -> DenseKeys {
        let mut dense = DenseKeys::default();
        let mut reference: std::collections::HashMap<Option<i64>, usize> = Default::default();
        let mut groups = Vec::new();
        for batch in batches {
            dense
                .intern(&Int64Array::from(batch.clone()), &mut groups)
                .unwrap();
            assert_eq!(groups.len(), batch.len());
            for (key, group) in batch.iter().zip(&groups) {
                let next = reference.len();
                let expected = *reference.entry(*key).or_insert(next);
                assert_eq!(*group, expected, "key {key:?}");
            }
        }
        assert_eq!(dense.len(), reference.len());
        let keys = dense.take_keys();
        for (key, group) in &reference {
            let emitted = (!keys.is_null(*group)).then(|| keys.value(*group));
            assert_eq!(emitted, *key);
        }
        dense
    }

    #[test]
    fn dense_keys_in_rising_falling_and_mixed_order() {
        let rising: Vec<Vec<Option<i64>>> = (0..50)
            .map(|b| (0..1000).map(|i| Some(b * 1000 + i % 700)).collect())
            .collect();
        check(&rising);
        let falling: Vec<Vec<Option<i64>>> = rising.iter().rev().cloned().collect();
        check(&falling);
        check(&[
            vec![Some(5), None, Some(3), Some(5)],
            vec![Some(-2), Some(i64::MAX - 1), None],
        ]);
    }

    #[test]
    fn sparse_keys_move_to_a_hash_map() {
        let mut dense = DenseKeys::default();
        let mut groups = Vec::new();
        dense
            .intern(&Int64Array::from(vec![1, 2, 3]), &mut groups)
            .unwrap();
        assert!(!dense.is_sparse());
        dense
            .intern(
                &Int64Array::from(vec![i64::MIN, 2, i64::MAX, 7]),
                &mut groups,
            )
            .unwrap();
        assert!(dense.is_sparse());
        assert_eq!(groups, vec![3, 1, 4, 5]);
        dense
            .intern(&Int64Array::from(vec![Some(3), None, Some(9)]), &mut groups)
            .unwrap();
        assert_eq!(groups, vec![2, 6, 7]);
        assert_eq!(dense.len(), 8);
    }

    #[test]
    fn nulls_share_one_group_and_taking_the_keys_empties_the_table() {
        let mut dense = check(&[vec![None, None], vec![Some(4), None]]);
        assert!(dense.is_empty());
        assert_eq!(dense.take_keys().len(), 0);
    }

    proptest! {
        #[test]
        fn groups_match_a_hash_map(
            batches in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![
                        4 => (-300i64..300).prop_map(Some),
                        1 => any::<i64>().prop_map(Some),
                        1 => Just(None),
                    ],
                    0..200,
                ),
                0..8,
            )
        ) {
            check(&batches);
        }
    }
}
