//! A map from BIGINT keys to `u32` slots without hashing: a table indexed by `key − base` over
//! the range of keys seen, for keys that are dense, as sales data's ids are (opportunity,
//! account and rep ids are numbered from 1). Keys that turn out sparse move to a hash map, so
//! answers never depend on the data's shape, only the speed does.

use datafusion::arrow::array::Int64Array;
use datafusion::arrow::compute::{max, min};
use datafusion::common::HashMap;
use datafusion::common::utils::memory::estimate_memory_size;

/// By default the direct table is always allowed this many slots (16 MiB, whose pages the
/// system only provides once written): the first batches of a time-ordered table already
/// span a wide band of ids.
const MIN_SLOTS: usize = 1 << 22;
/// The direct table never grows past this many slots (256 MiB).
const MAX_SLOTS: i128 = 1 << 26;
/// Beyond `MIN_SLOTS`, the direct table may hold this many slots per row seen: keys spread
/// thinner than that are served by a hash map, until the rows seen make the range of keys
/// seen fit twice over (an early decision is not final: a partition of a shuffle spans every
/// id from its first batches).
const SLOTS_PER_ROW: i128 = 4;

/// A `u32` slot per key, 0 until written.
#[derive(Debug)]
pub struct KeyTable {
    /// The smallest key `slots` covers.
    base: i64,
    /// `slots[key − base]` is the key's slot.
    slots: Vec<u32>,
    /// Every key's slot, once the keys proved too sparse for `slots`.
    sparse: Option<HashMap<i64, u32>>,
    /// The number of rows seen, which bounds the direct table's size.
    rows_seen: usize,
    /// The smallest and the largest key seen.
    seen: Option<(i64, i64)>,
    /// The slots the direct table is always allowed.
    min_slots: usize,
}

impl Default for KeyTable {
    fn default() -> Self {
        Self {
            base: 0,
            slots: Vec::new(),
            sparse: None,
            rows_seen: 0,
            seen: None,
            min_slots: MIN_SLOTS,
        }
    }
}

impl KeyTable {
    /// A table whose direct table is always allowed `min_slots` slots (at most `MAX_SLOTS`).
    pub fn with_min_slots(min_slots: usize) -> Self {
        Self {
            min_slots,
            ..Self::default()
        }
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
        self.slots.capacity() * size_of::<u32>() + sparse
    }

    /// Makes room for the keys of `keys` (NULLs aside), which [`Self::slot`] may then look up.
    pub fn prepare(&mut self, keys: &Int64Array) {
        self.rows_seen += keys.len();
        let (Some(low), Some(high)) = (min(keys), max(keys)) else {
            return;
        };
        let (low, high) = self
            .seen
            .map_or((low, high), |(l, h)| (l.min(low), h.max(high)));
        self.seen = Some((low, high));
        if self.sparse.is_none() {
            self.cover(low, high);
        } else if 2 * (i128::from(high) - i128::from(low) + 1) <= self.limit() {
            self.go_direct(low, high);
        }
    }

    /// How many slots the direct table may have for the rows seen.
    fn limit(&self) -> i128 {
        let min_slots = (self.min_slots as i128).min(MAX_SLOTS);
        (SLOTS_PER_ROW * self.rows_seen as i128).clamp(min_slots, MAX_SLOTS)
    }

    /// The slot of `key`, which must be within the keys of a batch passed to
    /// [`Self::prepare`].
    #[inline(always)]
    pub fn slot(&mut self, key: i64) -> &mut u32 {
        match &mut self.sparse {
            None => &mut self.slots[key.wrapping_sub(self.base) as usize],
            Some(map) => sparse_slot(map, key),
        }
    }

    /// The direct table's first key and slots (`slots[key − base]` is `key`'s slot, for keys
    /// of prepared batches), unless the keys moved to a hash map: hot loops index it
    /// themselves rather than ask [`Self::slot`] which mode the table is in for every key.
    pub fn direct(&mut self) -> Option<(i64, &mut [u32])> {
        match self.sparse {
            None => Some((self.base, &mut self.slots)),
            Some(_) => None,
        }
    }

    /// Calls `visit` with every key whose slot is not 0, and its slot.
    pub fn for_each_mut(&mut self, mut visit: impl FnMut(i64, &mut u32)) {
        match &mut self.sparse {
            None => {
                for (offset, slot) in self.slots.iter_mut().enumerate() {
                    if *slot != 0 {
                        visit(self.base.wrapping_add(offset as i64), slot);
                    }
                }
            }
            Some(map) => map
                .iter_mut()
                .filter(|(_, slot)| **slot != 0)
                .for_each(|(&key, slot)| visit(key, slot)),
        }
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
        let limit = self.limit();
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
            // Exactly: the pool is charged the capacity.
            self.slots.reserve_exact(new_len - self.slots.len());
            self.slots.resize(new_len, 0);
        } else {
            let shift = (old_low - new_low) as usize;
            let mut slots = vec![0u32; new_len];
            slots[shift..shift + self.slots.len()].copy_from_slice(&self.slots);
            self.slots = slots;
        }
        self.base = new_low as i64;
    }

    /// Moves every key from the hash map back to a direct table covering `low..=high`, the
    /// range of every key seen.
    fn go_direct(&mut self, low: i64, high: i64) {
        let Some(map) = self.sparse.take() else {
            return;
        };
        let mut slots = vec![0u32; (i128::from(high) - i128::from(low) + 1) as usize];
        for (key, slot) in map {
            slots[key.wrapping_sub(low) as usize] = slot;
        }
        self.base = low;
        self.slots = slots;
    }

    /// Moves every written slot to a hash map, for keys too sparse for a direct table.
    fn go_sparse(&mut self) {
        let written = self.slots.iter().filter(|slot| **slot != 0).count();
        let mut map = HashMap::with_capacity(written);
        self.for_each_mut(|key, slot| {
            map.insert(key, *slot);
        });
        self.sparse = Some(map);
        self.slots = Vec::new();
    }
}

/// `key`'s slot in the hash map, apart so that the direct table's lookup inlines small.
#[inline(never)]
fn sparse_slot(map: &mut HashMap<i64, u32>, key: i64) -> &mut u32 {
    map.entry(key).or_insert(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_move_to_a_hash_map_and_back_as_rows_arrive() {
        let mut table = KeyTable::default();
        let wide = Int64Array::from(vec![7, 7 + 6_000_000]);
        table.prepare(&wide);
        assert!(table.is_sparse(), "6 M slots for 2 rows");
        *table.slot(7) = 1;
        *table.slot(7 + 6_000_000) = 2;
        // 3 M rows allow 12 M slots: the 6 M-key range fits twice over.
        let many = Int64Array::from(vec![100; 3_000_000]);
        table.prepare(&many);
        assert!(!table.is_sparse());
        assert_eq!(
            (*table.slot(7), *table.slot(7 + 6_000_000), *table.slot(100)),
            (1, 2, 0)
        );
        let mut written = Vec::new();
        table.for_each_mut(|key, slot| written.push((key, *slot)));
        assert_eq!(written, vec![(7, 1), (7 + 6_000_000, 2)]);
    }
}
