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

/// An item of a flat per-group store that knows its group.
pub trait GroupTagged: Copy + Ord {
    /// The item's group.
    fn group(&self) -> u32;
    /// The same item in another group.
    fn regroup(self, group: u32) -> Self;
}

/// Removes the items of the groups `emit_to` asks for, sorted (by group first), renumbering
/// the groups that stay; returns them with the number of groups emitted.
pub fn take_tagged<T: GroupTagged>(
    items: &mut Vec<T>,
    groups: &mut usize,
    emit_to: EmitTo,
) -> (Vec<T>, usize) {
    let emitted = match emit_to {
        EmitTo::All => *groups,
        EmitTo::First(n) => n.min(*groups),
    };
    let mut taken = match emit_to {
        EmitTo::All => std::mem::take(items),
        EmitTo::First(n) => {
            let boundary = n as u32;
            let (taken, kept): (Vec<T>, Vec<T>) =
                items.drain(..).partition(|item| item.group() < boundary);
            *items = kept
                .into_iter()
                .map(|item| item.regroup(item.group() - boundary))
                .collect();
            taken
        }
    };
    *groups -= emitted;
    taken.sort_unstable();
    (taken, emitted)
}

/// The number of items of each of `groups` groups in sorted `items`.
pub fn group_lengths<T: GroupTagged>(items: &[T], groups: usize) -> Vec<usize> {
    let mut lengths = vec![0usize; groups];
    for item in items {
        lengths[item.group() as usize] += 1;
    }
    lengths
}
