//! `count(DISTINCT x)` per group for a BIGINT `x` without a hash set of (group, value) pairs.
//!
//! DataFusion's accumulator keeps every pair in one hash set, so each row costs a hash and a
//! probe into a set as large as the pairs seen. In sales data a value mostly belongs to one
//! group (an opportunity's activities are its owner's), so [`DistinctCountAccumulator`] remembers,
//! per value, the first group that saw it, in a [`KeyTable`] indexed by the value; only the
//! pairs of further groups go to a hash set. [`DenseDistinctCount`] is DataFusion's `count`
//! with that accumulator for distinct BIGINT arguments: same name, state and answers.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray, PrimitiveArray,
};
use datafusion::arrow::buffer::{OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::utils::memory::estimate_memory_size;
use datafusion::common::{HashSet, Result, ScalarValue, exec_err};
use datafusion::functions_aggregate::count::Count;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    ReversedUDAF, SetMonotonicity, Signature, StatisticsArgs,
};
use datafusion::physical_expr::aggregate::{AggregateExprBuilder, AggregateFunctionExpr};
use datafusion::physical_plan::aggregates::AggregateExec;

use super::key_table::KeyTable;
use crate::functions::groups::selected;

/// `aggregate` with each `count(DISTINCT x)` of a BIGINT `x` counted by a
/// [`DistinctCountAccumulator`]; `None` when it has none.
pub(super) fn with_dense_distinct_counts(aggregate: &AggregateExec) -> Option<AggregateExec> {
    let schema = aggregate.input_schema();
    let mut rewritten = false;
    let functions: Vec<Arc<AggregateFunctionExpr>> = aggregate
        .aggr_expr()
        .iter()
        .map(
            |function| match DenseDistinctCount::rewrite(function, &schema) {
                Some(dense) => {
                    rewritten = true;
                    Arc::new(dense)
                }
                None => Arc::clone(function),
            },
        )
        .collect();
    rewritten.then(|| aggregate.with_new_aggr_exprs(functions))
}

/// DataFusion's `count`, whose distinct form on a BIGINT argument counts with a
/// [`DistinctCountAccumulator`]; everything else (name, state, plain counts) is `count`'s.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DenseDistinctCount {
    count: AggregateUDF,
}

impl DenseDistinctCount {
    /// `aggregate` computed with a [`DistinctCountAccumulator`] when it is a
    /// `count(DISTINCT x)` of one BIGINT `x` (over rows of `schema`); `None` otherwise.
    pub fn rewrite(
        aggregate: &AggregateFunctionExpr,
        schema: &SchemaRef,
    ) -> Option<AggregateFunctionExpr> {
        let arguments = aggregate.expressions();
        let counts_distinct_bigints = aggregate.fun().inner().downcast_ref::<Count>().is_some()
            && aggregate.is_distinct()
            && aggregate.order_bys().is_empty()
            && !aggregate.ignore_nulls()
            && aggregate.field().metadata().is_empty()
            && matches!(
                arguments.as_slice(),
                [argument] if argument.data_type(schema).ok() == Some(DataType::Int64)
            );
        if !counts_distinct_bigints {
            return None;
        }
        let count = Arc::new(AggregateUDF::new_from_impl(Self {
            count: aggregate.fun().clone(),
        }));
        let mut builder = AggregateExprBuilder::new(count, arguments)
            .schema(Arc::clone(schema))
            .alias(aggregate.name())
            .distinct();
        if let Some(display) = aggregate.human_display() {
            builder = builder.human_display(display);
        }
        if let Some(alias) = aggregate.human_display_alias() {
            builder = builder.human_display_alias(alias);
        }
        builder.build().ok()
    }
}

impl AggregateUDFImpl for DenseDistinctCount {
    fn name(&self) -> &str {
        self.count.name()
    }

    fn signature(&self) -> &Signature {
        self.count.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.count.return_type(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.count.return_field(arg_fields)
    }

    fn is_nullable(&self) -> bool {
        self.count.is_nullable()
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.count.accumulator(args)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.count.state_fields(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.count.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        if args.is_distinct && args.expr_fields[0].data_type() == &DataType::Int64 {
            return Ok(Box::new(DistinctCountAccumulator::default()));
        }
        self.count.create_groups_accumulator(args)
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.count.create_sliding_accumulator(args)
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.count.order_sensitivity()
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }

    fn value_from_stats(&self, args: &StatisticsArgs) -> Option<ScalarValue> {
        self.count.value_from_stats(args)
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.count.default_value(data_type)
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.count.inner().set_monotonicity(data_type)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.count.documentation()
    }
}

/// The number of distinct non-NULL BIGINT values per group, in the state format of
/// DataFusion's `count(DISTINCT)` (a list of each group's values), so that either side of a
/// two-phase aggregation may be DataFusion's.
#[derive(Debug, Default)]
pub struct DistinctCountAccumulator {
    /// Per value, the first group that saw it, plus one.
    first_group: KeyTable,
    /// Every further group that saw a value, with the value: a pair is here only when the
    /// value's first group is another group, or, once `pairs_only`, for every pair.
    other_groups: HashSet<(u32, i64)>,
    /// Set when groups were handed out early: from then on every pair is in `other_groups`,
    /// as in DataFusion's accumulator, so that emitting costs what the live groups hold, not
    /// the range of values seen (early emission may follow every batch).
    pairs_only: bool,
    /// The distinct values of each group.
    counts: Vec<i64>,
}

impl DistinctCountAccumulator {
    /// Counts `value` for `group` unless the group has seen it.
    #[inline]
    fn insert(&mut self, group: usize, value: i64) {
        if self.pairs_only {
            if self.other_groups.insert((group as u32, value)) {
                self.counts[group] += 1;
            }
            return;
        }
        let first = self.first_group.slot(value);
        count_new_pair(
            first,
            group,
            value,
            &mut self.other_groups,
            &mut self.counts,
        );
    }

    /// Makes room for the values of `values` and for `total_num_groups` groups.
    fn prepare(&mut self, values: &Int64Array, total_num_groups: usize) -> Result<()> {
        if total_num_groups >= u32::MAX as usize {
            return exec_err!("count(DISTINCT) over more than {} groups", u32::MAX - 1);
        }
        self.counts.resize(total_num_groups, 0);
        if !self.pairs_only {
            self.first_group.prepare(values);
        }
        Ok(())
    }

    /// Forgets the groups `emit_to` hands out (their counts are taken already), renumbering
    /// the rest from 0 and keeping their pairs in `other_groups` only.
    fn forget(&mut self, emit_to: EmitTo) {
        let emitted = match emit_to {
            EmitTo::First(n) if !self.counts.is_empty() => n as u32,
            _ => {
                *self = Self::default();
                return;
            }
        };
        let mut pairs = HashSet::default();
        std::mem::take(&mut self.first_group).for_each_mut(|value, first| {
            if *first > emitted {
                pairs.insert((*first - 1 - emitted, value));
            }
        });
        for (group, value) in std::mem::take(&mut self.other_groups) {
            if group >= emitted {
                pairs.insert((group - emitted, value));
            }
        }
        self.other_groups = pairs;
        self.pairs_only = true;
    }
}

/// Counts the pair of `group` and `value` in `counts` unless it was seen: `first` is the
/// value's first group plus one (0 if none), `other_groups` the pairs of further groups.
#[inline]
fn count_new_pair(
    first: &mut u32,
    group: usize,
    value: i64,
    other_groups: &mut HashSet<(u32, i64)>,
    counts: &mut [i64],
) {
    if *first == 0 {
        *first = group as u32 + 1;
        counts[group] += 1;
    } else if *first as usize != group + 1 && other_groups.insert((group as u32, value)) {
        counts[group] += 1;
    }
}

impl GroupsAccumulator for DistinctCountAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let values = values[0].as_primitive::<Int64Type>();
        self.prepare(values, total_num_groups)?;
        let rows = group_indices.iter().zip(values.values());
        let nulls = values.nulls().filter(|n| n.null_count() > 0);
        if nulls.is_none()
            && opt_filter.is_none()
            && !self.pairs_only
            && let Some((base, slots)) = self.first_group.direct()
        {
            for (&group, &value) in rows {
                let first = &mut slots[value.wrapping_sub(base) as usize];
                count_new_pair(
                    first,
                    group,
                    value,
                    &mut self.other_groups,
                    &mut self.counts,
                );
            }
            return Ok(());
        }
        for (row, (&group, &value)) in rows.enumerate() {
            let counted =
                nulls.is_none_or(|nulls| nulls.is_valid(row)) && selected(opt_filter, row);
            if counted {
                self.insert(group, value);
            }
        }
        Ok(())
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let lists = values[0].as_list::<i32>();
        let offsets = lists.value_offsets();
        let first = offsets.first().copied().unwrap_or(0) as usize;
        let last = offsets.last().copied().unwrap_or(0) as usize;
        let inner = lists.values().slice(first, last - first);
        let inner = inner.as_primitive::<Int64Type>();
        self.prepare(inner, total_num_groups)?;
        for (row, &group) in group_indices.iter().enumerate() {
            if lists.is_null(row) {
                continue;
            }
            let (start, end) = (
                offsets[row] as usize - first,
                offsets[row + 1] as usize - first,
            );
            for position in start..end {
                if inner.is_valid(position) {
                    self.insert(group, inner.value(position));
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let counts = emit_to.take_needed(&mut self.counts);
        self.forget(emit_to);
        Ok(Arc::new(Int64Array::from(counts)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let counts = emit_to.take_needed(&mut self.counts);
        let emitted = counts.len();
        let offsets = OffsetBuffer::<i32>::from_lengths(counts.iter().map(|&c| c as usize));
        let mut cursors: Vec<usize> = offsets[..emitted].iter().map(|&o| o as usize).collect();
        let mut distinct = vec![0i64; offsets[emitted] as usize];
        let mut place = |group: usize, value: i64| {
            distinct[cursors[group]] = value;
            cursors[group] += 1;
        };
        self.first_group.for_each_mut(|value, first| {
            if (*first as usize) <= emitted {
                place(*first as usize - 1, value);
            }
        });
        for &(group, value) in &self.other_groups {
            if (group as usize) < emitted {
                place(group as usize, value);
            }
        }
        self.forget(emit_to);
        let lists = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Int64, true)),
            offsets,
            Arc::new(PrimitiveArray::<Int64Type>::new(
                ScalarBuffer::from(distinct),
                None,
            )),
            None,
        );
        Ok(vec![Arc::new(lists)])
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let values = values[0].as_primitive::<Int64Type>();
        let counted = |row: usize| values.is_valid(row) && selected(opt_filter, row);
        let offsets = OffsetBuffer::<i32>::from_lengths(
            (0..values.len()).map(|row| usize::from(counted(row))),
        );
        let kept: Int64Array = (0..values.len())
            .filter(|&row| counted(row))
            .map(|row| Some(values.value(row)))
            .collect();
        let lists = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Int64, true)),
            offsets,
            Arc::new(kept),
            None,
        );
        Ok(vec![Arc::new(lists)])
    }

    fn size(&self) -> usize {
        let pairs = estimate_memory_size::<(u32, i64)>(self.other_groups.capacity(), 0)
            .unwrap_or(usize::MAX / 2);
        self.first_group.size() + pairs + self.counts.capacity() * size_of::<i64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// One batch: each row's group (below the groups so far plus a few), value and filter.
    type Batch = Vec<(usize, Option<i64>, Option<bool>)>;

    fn value() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![
            6 => (-40i64..40).prop_map(Some),
            1 => any::<i64>().prop_map(Some),
            1 => Just(None),
        ]
    }

    fn batch() -> impl Strategy<Value = Batch> {
        proptest::collection::vec(
            (0usize..8, value(), proptest::option::of(any::<bool>())),
            0..60,
        )
    }

    /// Adds `batch` to the accumulator and to the reference (each group's set of values).
    fn add(
        accumulator: &mut DistinctCountAccumulator,
        reference: &mut Vec<BTreeSet<i64>>,
        batch: &Batch,
        filtered: bool,
    ) {
        let groups: Vec<usize> = batch.iter().map(|(group, _, _)| *group).collect();
        let total = groups
            .iter()
            .map(|g| g + 1)
            .max()
            .unwrap_or(0)
            .max(reference.len());
        reference.resize(total, BTreeSet::new());
        let values: ArrayRef = Arc::new(Int64Array::from_iter(batch.iter().map(|(_, v, _)| *v)));
        let filter = BooleanArray::from_iter(batch.iter().map(|(_, _, f)| *f));
        for (group, value, keep) in batch {
            if let Some(value) = value
                && (!filtered || *keep == Some(true))
            {
                reference[*group].insert(*value);
            }
        }
        accumulator
            .update_batch(&[values], &groups, filtered.then_some(&filter), total)
            .unwrap();
    }

    fn counts(reference: &[BTreeSet<i64>]) -> Vec<i64> {
        reference.iter().map(|values| values.len() as i64).collect()
    }

    /// The lists of a state, as sets.
    fn sets(state: &ArrayRef) -> Vec<BTreeSet<i64>> {
        let lists = state.as_list::<i32>();
        (0..lists.len())
            .map(|row| {
                lists
                    .value(row)
                    .as_primitive::<Int64Type>()
                    .values()
                    .iter()
                    .copied()
                    .collect()
            })
            .collect()
    }

    proptest! {
        #[test]
        fn distinct_counts_match_a_reference(
            batches in proptest::collection::vec(batch(), 1..6),
            filtered in any::<bool>(),
            early in proptest::option::of((0usize..6, 0usize..6, any::<bool>())),
            merged in any::<bool>(),
        ) {
            let mut accumulator = DistinctCountAccumulator::default();
            let mut reference = Vec::new();
            for (index, batch) in batches.iter().enumerate() {
                add(&mut accumulator, &mut reference, batch, filtered);
                // The first groups handed out early, as an aggregation under memory pressure does.
                if let Some((after, n, as_state)) = early
                    && after == index
                {
                    let n = n.min(reference.len());
                    let first: Vec<BTreeSet<i64>> = reference.drain(..n).collect();
                    if as_state {
                        let state = accumulator.state(EmitTo::First(n)).unwrap();
                        prop_assert_eq!(sets(&state[0]), first);
                    } else {
                        let emitted = accumulator.evaluate(EmitTo::First(n)).unwrap();
                        prop_assert_eq!(emitted.as_primitive::<Int64Type>().values().to_vec(), counts(&first));
                    }
                    // The live groups' pairs are all that is kept.
                    prop_assert_eq!(accumulator.first_group.size(), 0);
                }
            }
            let answer = if merged {
                // Each group's state merged twice, in reverse group order, into a fresh accumulator.
                let state = accumulator.state(EmitTo::All).unwrap();
                prop_assert_eq!(sets(&state[0]), reference.clone());
                let mut merging = DistinctCountAccumulator::default();
                let groups: Vec<usize> = (0..reference.len()).rev().collect();
                let reversed = datafusion::arrow::compute::take(
                    &state[0],
                    &datafusion::arrow::array::UInt32Array::from_iter_values(groups.iter().map(|g| *g as u32)),
                    None,
                ).unwrap();
                merging.merge_batch(&[Arc::clone(&reversed)], &groups, reference.len()).unwrap();
                merging.merge_batch(&[reversed], &groups, reference.len()).unwrap();
                merging.evaluate(EmitTo::All).unwrap()
            } else {
                accumulator.evaluate(EmitTo::All).unwrap()
            };
            prop_assert_eq!(answer.as_primitive::<Int64Type>().values().to_vec(), counts(&reference));
        }

        #[test]
        fn rows_converted_to_states_hold_their_counted_value(batch in batch(), filtered in any::<bool>()) {
            let values: ArrayRef = Arc::new(Int64Array::from_iter(batch.iter().map(|(_, v, _)| *v)));
            let filter = BooleanArray::from_iter(batch.iter().map(|(_, _, f)| *f));
            let state = DistinctCountAccumulator::default()
                .convert_to_state(&[values], filtered.then_some(&filter))
                .unwrap();
            let expected: Vec<BTreeSet<i64>> = batch
                .iter()
                .map(|(_, value, keep)| value.filter(|_| !filtered || *keep == Some(true)).into_iter().collect())
                .collect();
            prop_assert_eq!(sets(&state[0]), expected);
        }
    }

    #[test]
    fn values_spread_too_thin_move_to_a_hash_map() {
        let mut accumulator = DistinctCountAccumulator::default();
        let mut reference = Vec::new();
        add(
            &mut accumulator,
            &mut reference,
            &vec![(0, Some(1), None), (1, Some(1), None)],
            false,
        );
        assert!(!accumulator.first_group.is_sparse());
        add(
            &mut accumulator,
            &mut reference,
            &vec![
                (1, Some(i64::MIN), None),
                (0, Some(i64::MAX), None),
                (1, Some(1), None),
            ],
            false,
        );
        assert!(accumulator.first_group.is_sparse());
        let answer = accumulator.evaluate(EmitTo::All).unwrap();
        assert_eq!(
            answer.as_primitive::<Int64Type>().values().to_vec(),
            vec![2, 2]
        );
    }
}
