//! Helpers for the sales aggregates' grouped state: per-group vectors, the `FILTER` clause,
//! and per-group lists stored flat (one values vector, one offsets vector) so that millions of
//! groups cost no per-group allocation.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::exec_err;
use datafusion::error::Result;
use datafusion::logical_expr::EmitTo;

/// Grows a per-group vector to `total_num_groups` entries.
pub fn ensure_groups<T: Default + Clone>(values: &mut Vec<T>, total_num_groups: usize) {
    if values.len() < total_num_groups {
        values.resize(total_num_groups, T::default());
    }
}

/// True when `row` passes the aggregate's `FILTER (WHERE …)` clause.
pub fn selected(filter: Option<&BooleanArray>, row: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}

/// The type of a list of BIGINT.
pub fn bigint_list_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true)))
}

/// Fixed-width per-group vectors of `width` i64s stored in one flat vector.
#[derive(Debug, Default)]
pub struct FixedRows {
    width: usize,
    groups: usize,
    values: Vec<i64>,
}

impl FixedRows {
    /// Rows of `width` values.
    pub fn new(width: usize) -> Self {
        Self {
            width,
            groups: 0,
            values: Vec::new(),
        }
    }

    /// The number of values per group.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Grows to `total_num_groups` rows of zeros.
    pub fn ensure(&mut self, total_num_groups: usize) {
        if self.groups < total_num_groups {
            self.groups = total_num_groups;
            self.values.resize(total_num_groups * self.width, 0);
        }
    }

    /// The memory the rows hold, in bytes.
    pub fn bytes(&self) -> usize {
        self.values.capacity() * size_of::<i64>()
    }

    /// The values of `group`.
    pub fn row_mut(&mut self, group: usize) -> &mut [i64] {
        &mut self.values[group * self.width..(group + 1) * self.width]
    }

    /// Removes and returns the rows `emit_to` asks for, as one flat vector, with their count.
    pub fn take(&mut self, emit_to: EmitTo) -> (Vec<i64>, usize) {
        let rows = match emit_to {
            EmitTo::All => self.groups,
            EmitTo::First(n) => n.min(self.groups),
        };
        self.groups -= rows;
        let rest = self.values.split_off(rows * self.width);
        (std::mem::replace(&mut self.values, rest), rows)
    }

    /// Adds each row of a list-of-BIGINT state array to the group `group_indices` names.
    pub fn add_lists(
        &mut self,
        lists: &ArrayRef,
        group_indices: &[usize],
        function: &str,
    ) -> Result<()> {
        let lists = lists.as_list::<i32>();
        let offsets = lists.value_offsets();
        let values = lists.values().as_primitive::<Int64Type>();
        for (row, group) in group_indices.iter().enumerate() {
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            if end - start != self.width {
                return exec_err!(
                    "{function}: a partial state has {} values where {} were expected",
                    end - start,
                    self.width
                );
            }
            let width = self.width;
            let target = &mut self.values[group * width..(group + 1) * width];
            for (slot, value) in target.iter_mut().zip(&values.values()[start..end]) {
                *slot += value;
            }
        }
        Ok(())
    }
}

/// A list array of `rows` rows of `width` values each, from a flat vector.
pub fn fixed_width_lists(values: Vec<i64>, rows: usize, width: usize) -> Result<ArrayRef> {
    let offsets = offsets_of_width(rows, width)?;
    let values = Int64Array::new(ScalarBuffer::from(values), None);
    Ok(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Int64, true)),
        offsets,
        Arc::new(values),
        None,
    )))
}

/// Offsets `0, width, 2·width, …` for `rows` rows.
pub fn offsets_of_width(rows: usize, width: usize) -> Result<OffsetBuffer<i32>> {
    let total = rows * width;
    if i32::try_from(total).is_err() {
        return exec_err!("a list state of {total} values is too large for one batch");
    }
    Ok(OffsetBuffer::new(ScalarBuffer::from(
        (0..=rows).map(|r| (r * width) as i32).collect::<Vec<i32>>(),
    )))
}

/// A list array from per-row lengths and a values array, all rows valid.
pub fn lists_from_lengths(lengths: &[usize], values: ArrayRef) -> Result<ArrayRef> {
    let total: usize = lengths.iter().sum();
    if i32::try_from(total).is_err() {
        return exec_err!("a list state of {total} values is too large for one batch");
    }
    let field = Arc::new(Field::new_list_field(values.data_type().clone(), true));
    Ok(Arc::new(ListArray::new(
        field,
        OffsetBuffer::from_lengths(lengths.iter().copied()),
        values,
        None::<NullBuffer>,
    )))
}

/// Visits a partial state of two parallel list columns (as [`lists_from_lengths`] builds
/// them): `visit(group, index)` for each value of each row, where `index` points into both
/// lists' values. `function` names the aggregate when the two lists disagree in shape.
pub fn for_each_paired_entry(
    function: &str,
    first: &ArrayRef,
    second: &ArrayRef,
    group_indices: &[usize],
    mut visit: impl FnMut(u32, usize),
) -> Result<()> {
    let offsets = first.as_list::<i32>().value_offsets();
    if second.as_list::<i32>().value_offsets() != offsets {
        return exec_err!("{function}: a partial state has mismatched lists");
    }
    for (row, group) in group_indices.iter().enumerate() {
        for index in offsets[row] as usize..offsets[row + 1] as usize {
            visit(*group as u32, index);
        }
    }
    Ok(())
}

/// An item of a flat per-group store that knows its group.
pub trait GroupTagged: Copy + Ord {
    /// The item's group.
    fn group(&self) -> u32;
    /// The same item in another group.
    fn regroup(self, group: u32) -> Self;
}

/// Whether the items of each group must come out sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithinGroup {
    /// Sorted (by the items' `Ord`), for evaluating.
    Sorted,
    /// In any order, for a partial state the merge sorts anyway.
    AnyOrder,
}

/// Items laid out group by group: the items of group `g` are `items[offsets[g]..offsets[g + 1]]`.
#[derive(Debug)]
pub struct Grouped<T> {
    items: Vec<T>,
    offsets: Vec<usize>,
}

impl<T> Grouped<T> {
    /// The number of groups (some may be empty).
    pub fn groups(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The items of group `group`.
    pub fn group(&self, group: usize) -> &[T] {
        &self.items[self.offsets[group]..self.offsets[group + 1]]
    }

    /// Every item, group by group.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The number of items of each group.
    pub fn lengths(&self) -> Vec<usize> {
        self.offsets.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

/// Groups per bucket in the first pass of [`lay_out`]: their counters fit the L1 cache.
const GROUPS_PER_BUCKET: usize = 2048;

/// `items` (of groups below `groups`) ordered by group, keeping their order within a group, and
/// where each group starts (plus the end). A counting sort in two passes, first by buckets of
/// [`GROUPS_PER_BUCKET`] consecutive groups, then by group within each bucket: with millions of
/// groups, one pass writes each item to a random place in a store far larger than the caches
/// (a cache miss per item), while each of these two writes to a few places at a time.
fn lay_out<T: GroupTagged>(items: Vec<T>, groups: usize) -> (Vec<T>, Vec<usize>) {
    let buckets = groups.div_ceil(GROUPS_PER_BUCKET);
    let (by_bucket, bucket_starts, mut laid_out) = if buckets <= 1 {
        // One bucket: the items are already in bucket order.
        let laid_out = items.clone();
        let starts = vec![0, items.len()];
        (items, starts, laid_out)
    } else {
        let (by_bucket, starts) = by_buckets(&items, buckets);
        (by_bucket, starts, items)
    };
    let mut offsets = vec![0usize; groups + 1];
    let mut next = vec![0usize; GROUPS_PER_BUCKET];
    for bucket in 0..buckets {
        let first_group = bucket * GROUPS_PER_BUCKET;
        let bucket_groups = GROUPS_PER_BUCKET.min(groups - first_group);
        let range = bucket_starts[bucket]..bucket_starts[bucket + 1];
        let counts = &mut next[..bucket_groups];
        counts.fill(0);
        for item in &by_bucket[range.clone()] {
            counts[item.group() as usize - first_group] += 1;
        }
        let mut start = range.start;
        for (slot, start_of_group) in counts.iter_mut().zip(&mut offsets[first_group..]) {
            *start_of_group = start;
            start += std::mem::replace(slot, start);
        }
        for item in &by_bucket[range] {
            let slot = &mut counts[item.group() as usize - first_group];
            laid_out[*slot] = *item;
            *slot += 1;
        }
    }
    offsets[groups] = laid_out.len();
    (laid_out, offsets)
}

/// `items` ordered by bucket of [`GROUPS_PER_BUCKET`] groups (keeping their order within a
/// bucket), and where each of the `buckets` starts (plus the end).
fn by_buckets<T: GroupTagged>(items: &[T], buckets: usize) -> (Vec<T>, Vec<usize>) {
    let bucket_of = |item: &T| item.group() as usize / GROUPS_PER_BUCKET;
    let mut starts = vec![0usize; buckets + 1];
    for item in items {
        starts[bucket_of(item) + 1] += 1;
    }
    for bucket in 0..buckets {
        starts[bucket + 1] += starts[bucket];
    }
    let mut by_bucket = items.to_vec();
    let mut next = starts.clone();
    for item in items {
        let slot = &mut next[bucket_of(item)];
        by_bucket[*slot] = *item;
        *slot += 1;
    }
    (by_bucket, starts)
}

/// Removes the items of the groups `emit_to` asks for, renumbering the groups that stay, and
/// lays them out group by group with a counting sort (O(n), where sorting the whole store
/// would cost O(n log n) on millions of items).
pub fn take_grouped<T: GroupTagged>(
    items: &mut Vec<T>,
    groups: &mut usize,
    emit_to: EmitTo,
    within: WithinGroup,
) -> Grouped<T> {
    let emitted = match emit_to {
        EmitTo::All => *groups,
        EmitTo::First(n) => n.min(*groups),
    };
    let taken = match emit_to {
        EmitTo::All => std::mem::take(items),
        EmitTo::First(_) => {
            let boundary = emitted as u32;
            let mut taken = Vec::new();
            items.retain_mut(|item| {
                if item.group() < boundary {
                    taken.push(*item);
                    false
                } else {
                    *item = item.regroup(item.group() - boundary);
                    true
                }
            });
            taken
        }
    };
    *groups -= emitted;

    let (mut laid_out, offsets) = lay_out(taken, emitted);
    if within == WithinGroup::Sorted {
        for window in offsets.windows(2) {
            laid_out[window[0]..window[1]].sort_unstable();
        }
    }
    Grouped {
        items: laid_out,
        offsets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    struct Item {
        group: u32,
        value: i64,
    }

    impl GroupTagged for Item {
        fn group(&self) -> u32 {
            self.group
        }

        fn regroup(self, group: u32) -> Self {
            Self { group, ..self }
        }
    }

    fn items(pairs: &[(u32, i64)]) -> Vec<Item> {
        pairs
            .iter()
            .map(|&(group, value)| Item { group, value })
            .collect()
    }

    #[test]
    fn all_groups_come_out_in_group_order_sorted_within() {
        let mut store = items(&[(2, 5), (0, 3), (2, 1), (0, 9), (0, 1)]);
        let mut groups = 4;
        let grouped = take_grouped(&mut store, &mut groups, EmitTo::All, WithinGroup::Sorted);
        assert_eq!(grouped.groups(), 4);
        assert_eq!(grouped.lengths(), vec![3, 0, 2, 0]);
        assert_eq!(
            grouped.group(0),
            items(&[(0, 1), (0, 3), (0, 9)]).as_slice()
        );
        assert_eq!(grouped.group(2), items(&[(2, 1), (2, 5)]).as_slice());
        assert!(store.is_empty());
        assert_eq!(groups, 0);
    }

    #[test]
    fn emitting_the_first_groups_renumbers_the_rest() {
        let mut store = items(&[(3, 7), (0, 2), (1, 4), (2, 6), (1, 1)]);
        let mut groups = 4;
        let grouped = take_grouped(
            &mut store,
            &mut groups,
            EmitTo::First(2),
            WithinGroup::AnyOrder,
        );
        assert_eq!(grouped.lengths(), vec![1, 2]);
        let mut second = grouped.group(1).to_vec();
        second.sort();
        assert_eq!(second, items(&[(1, 1), (1, 4)]));
        store.sort();
        assert_eq!(store, items(&[(0, 6), (1, 7)]));
        assert_eq!(groups, 2);
    }

    proptest::proptest! {
        /// The two-pass layout is a stable sort by group, and the offsets bound each group,
        /// across several buckets of groups and with empty ones.
        #[test]
        fn the_layout_is_a_stable_sort_by_group(
            groups in 1usize..3 * GROUPS_PER_BUCKET,
            picks in proptest::collection::vec((0.0f64..1.0, -5i64..5), 0..2_000),
        ) {
            let store: Vec<Item> = picks
                .iter()
                .map(|&(at, value)| Item { group: (at * groups as f64) as u32, value })
                .collect();
            let (laid_out, offsets) = lay_out(store.clone(), groups);
            let mut wanted = store;
            wanted.sort_by_key(|item| item.group);
            proptest::prop_assert_eq!(&laid_out, &wanted);
            proptest::prop_assert_eq!(offsets.len(), groups + 1);
            for group in 0..groups {
                let members = &laid_out[offsets[group]..offsets[group + 1]];
                proptest::prop_assert!(members.iter().all(|item| item.group as usize == group));
            }
            proptest::prop_assert_eq!(offsets[groups], laid_out.len());
        }
    }
}
