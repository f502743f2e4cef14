//! Group numbers for one BIGINT key column without hashing, for keys that are dense, as sales
//! data's ids are: the numbers live in a [`KeyTable`].

use datafusion::arrow::array::{Array, Int64Array};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::common::{Result, exec_err};

use super::key_table::KeyTable;

/// The direct table of group numbers is always allowed this many slots (64 MiB at most,
/// allocated as far as the keys' range needs, pages provided once written): a partition of a
/// shuffle spans every id from its first batches (at scale 50, 5 M opportunity ids went to the
/// hash map at the default 4 M). A group-by that the memory pool refuses this falls back to
/// DataFusion's aggregation.
const MIN_GROUP_SLOTS: usize = 1 << 24;

/// Group numbers `0, 1, 2, …` given to keys in the order they are first seen (the NULL key
/// gets one too), with each group's key.
#[derive(Debug)]
pub struct DenseKeys {
    /// Each key's group plus one.
    groups: KeyTable,
    /// The key of each group (any value for the NULL key's group).
    keys: Vec<i64>,
    /// The group of the NULL key.
    null_group: Option<u32>,
}

impl Default for DenseKeys {
    fn default() -> Self {
        Self {
            groups: KeyTable::with_min_slots(MIN_GROUP_SLOTS),
            keys: Vec::new(),
            null_group: None,
        }
    }
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
        self.groups.is_sparse()
    }

    /// The memory held, in bytes.
    pub fn size(&self) -> usize {
        self.groups.size() + self.keys.capacity() * size_of::<i64>()
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
        self.groups.prepare(keys);
        let nulls = keys.nulls().filter(|n| n.null_count() > 0);
        if nulls.is_none()
            && let Some((base, slots)) = self.groups.direct()
        {
            // Two passes. The first loads every row's slot (its group plus one, 0 for a key
            // without a group yet) with no branch between the loads, so that the cache misses
            // of a batch overlap; in one pass, the branch on new keys (a quarter of the rows of
            // stage history) mispredicts and serializes them. The second gives new keys their
            // groups in row order, rereading their slots, which the first pass brought into
            // the cache (a key new twice in a batch gets its group at the first).
            groups.extend(
                keys.values()
                    .iter()
                    .map(|&key| slots[key.wrapping_sub(base) as usize] as usize),
            );
            for (group, &key) in groups.iter_mut().zip(keys.values()) {
                *group = match *group {
                    0 => group_of(
                        &mut slots[key.wrapping_sub(base) as usize],
                        key,
                        &mut self.keys,
                    ),
                    known => known - 1,
                };
            }
            return Ok(());
        }
        for (row, &key) in keys.values().iter().enumerate() {
            groups.push(if nulls.is_some_and(|n| n.is_null(row)) {
                null_group(&mut self.null_group, &mut self.keys)
            } else {
                group_of(self.groups.slot(key), key, &mut self.keys)
            });
        }
        Ok(())
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

/// The group whose number plus one is in `slot`, `key`'s, created if new.
#[inline]
fn group_of(slot: &mut u32, key: i64, keys: &mut Vec<i64>) -> usize {
    if *slot == 0 {
        keys.push(key);
        *slot = keys.len() as u32;
    }
    *slot as usize - 1
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
