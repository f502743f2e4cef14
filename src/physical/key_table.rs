//! A map from BIGINT keys to `u32` slots without hashing: a table indexed by `key − base` over
//! the range of keys seen, for keys that are dense, as sales data's ids are (opportunity,
//! account and rep ids are numbered from 1). Keys that turn out sparse move to a hash map, so
//! answers never depend on the data's shape, only the speed does.

use datafusion::arrow::array::Int64Array;
use datafusion::arrow::compute::{max, min};
use datafusion::common::HashMap;
use datafusion::common::utils::memory::estimate_memory_size;

/// The direct table is always allowed this many slots (16 MiB, whose pages the system only
/// provides once written): the first batches of a time-ordered table already span a wide
/// band of ids.
const MIN_SLOTS: i128 = 1 << 22;
/// The direct table never grows past this many slots (256 MiB).
const MAX_SLOTS: i128 = 1 << 26;
/// Beyond `MIN_SLOTS`, the direct table may hold this many slots per row seen: keys spread
/// thinner than that are served by a hash map.
const SLOTS_PER_ROW: i128 = 4;

/// A `u32` slot per key, 0 until written.
#[derive(Debug, Default)]
pub struct KeyTable {
    /// The smallest key `slots` covers.
    base: i64,
    /// `slots[key − base]` is the key's slot.
    slots: Vec<u32>,
    /// Every key's slot, once the keys proved too sparse for `slots`.
    sparse: Option<HashMap<i64, u32>>,
    /// The number of rows seen, which bounds the direct table's size.
    rows_seen: usize,
}

impl KeyTable {
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
        if let (Some(low), Some(high)) = (min(keys), max(keys))
            && self.sparse.is_none()
        {
            self.cover(low, high);
        }
    }

    /// The slot of `key`, which must be within the keys of a batch passed to
    /// [`Self::prepare`].
    #[inline]
    pub fn slot(&mut self, key: i64) -> &mut u32 {
        match &mut self.sparse {
            None => &mut self.slots[key.wrapping_sub(self.base) as usize],
            Some(map) => map.entry(key).or_insert(0),
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
