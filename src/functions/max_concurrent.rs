//! `max_concurrent(created, closed)`: the largest number of rows open at the same instant, each
//! row open on `[created, closed)` (a NULL `closed` is still open). A sweep over the sorted
//! openings and closings of each group: O(n log n).

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    Signature, Volatility,
};

use crate::functions::arguments::document;
use crate::functions::groups::{
    GroupTagged, WithinGroup, bigint_list_type, for_each_paired_entry, lists_from_lengths,
    selected, take_grouped,
};
use crate::functions::single_group::SingleGroup;
use crate::functions::temporal::{coerce_temporal, instants};

const NAME: &str = "max_concurrent";

/// Stands for a NULL `closed`: open forever.
const STILL_OPEN: i64 = i64::MAX;

/// The `max_concurrent` aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MaxConcurrent {
    signature: Signature,
}

/// The `max_concurrent` function.
pub fn max_concurrent() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(MaxConcurrent {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "The largest number of rows open at the same instant, each row being open from `created` \
         (included) to `closed` (excluded); a NULL `closed` is still open. Rows without `created`, \
         or closed no later than created, are never open. 0 when no row is ever open. Computed by a \
         sweep over sorted openings and closings, O(n log n) per group.",
        "max_concurrent(created, closed)",
        "SELECT owner_id, max_concurrent(created_at, closed_at) AS peak_open\n\
         FROM opportunities GROUP BY owner_id ORDER BY peak_open DESC;",
        &[
            (
                "created",
                "When the row opens: a timestamp of any unit or a date.",
            ),
            ("closed", "When it closes (excluded); NULL while open."),
        ],
    )
});

impl AggregateUDFImpl for MaxConcurrent {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [created, closed] = arg_types else {
            return plan_err!(
                "{NAME} takes two arguments (created, closed), not {}",
                arg_types.len()
            );
        };
        Ok(vec![
            coerce_temporal(NAME, "created", created)?,
            coerce_temporal(NAME, "closed", closed)?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "opened"),
                bigint_list_type(),
                false,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "closed"),
                bigint_list_type(),
                false,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let input_types: Vec<DataType> = args
            .expr_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        Ok(Box::new(SingleGroup::new(
            Arc::new(|| Ok(Box::new(MaxConcurrentGroups::default()) as Box<dyn GroupsAccumulator>)),
            &input_types,
            vec![bigint_list_type(), bigint_list_type()],
        )?))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(MaxConcurrentGroups::default()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// One row's open interval, in one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    group: u32,
    opened: i64,
    closed: i64,
}

/// The open intervals of every group, stored flat.
#[derive(Debug, Default)]
struct MaxConcurrentGroups {
    spans: Vec<Span>,
    groups: usize,
    sweep: Vec<(i64, i8)>,
}

impl GroupTagged for Span {
    fn group(&self) -> u32 {
        self.group
    }

    fn regroup(self, group: u32) -> Self {
        Self { group, ..self }
    }
}

impl MaxConcurrentGroups {
    /// The peak of one group's spans.
    fn peak(&mut self, spans: &[Span]) -> i64 {
        self.sweep.clear();
        for span in spans {
            self.sweep.push((span.opened, 1));
            if span.closed != STILL_OPEN {
                // At the same instant, closings come first: intervals are half-open.
                self.sweep.push((span.closed, -1));
            }
        }
        self.sweep.sort_unstable();
        let mut open = 0i64;
        let mut peak = 0i64;
        for (_, delta) in &self.sweep {
            open += i64::from(*delta);
            peak = peak.max(open);
        }
        peak
    }
}

/// The spans of a batch's rows, skipping rows that are never open.
fn spans_of(values: &[ArrayRef]) -> Result<(Int64Array, Int64Array)> {
    Ok((instants(&values[0])?, instants(&values[1])?))
}

fn span_at(opened: &Int64Array, closed: &Int64Array, row: usize) -> Option<(i64, i64)> {
    if opened.is_null(row) {
        return None;
    }
    // Instants (microseconds) saturate at i64::MAX past the year 294,247; kept below
    // STILL_OPEN, a row opened that late and never closed is open, one closed that late is
    // not (all such instants are one: a span between two of them is empty).
    let latest = STILL_OPEN - 1;
    let start = opened.value(row).min(latest);
    let end = if closed.is_null(row) {
        STILL_OPEN
    } else {
        closed.value(row).min(latest)
    };
    (end > start).then_some((start, end))
}

impl GroupsAccumulator for MaxConcurrentGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups = self.groups.max(total_num_groups);
        if group_indices.is_empty() {
            return Ok(());
        }
        let (opened, closed) = spans_of(values)?;
        for (row, group) in group_indices.iter().enumerate() {
            if !selected(opt_filter, row) {
                continue;
            }
            if let Some((start, end)) = span_at(&opened, &closed, row) {
                self.spans.push(Span {
                    group: *group as u32,
                    opened: start,
                    closed: end,
                });
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        // `peak` sorts the sweep events itself.
        let grouped = take_grouped(
            &mut self.spans,
            &mut self.groups,
            emit_to,
            WithinGroup::AnyOrder,
        );
        let peaks: Vec<i64> = (0..grouped.groups())
            .map(|group| {
                let spans = grouped.group(group);
                if spans.is_empty() {
                    0
                } else {
                    self.peak(spans)
                }
            })
            .collect();
        Ok(Arc::new(Int64Array::from(peaks)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let grouped = take_grouped(
            &mut self.spans,
            &mut self.groups,
            emit_to,
            WithinGroup::AnyOrder,
        );
        let spans = grouped.items();
        let opened: ArrayRef =
            Arc::new(Int64Array::from_iter_values(spans.iter().map(|s| s.opened)));
        let closed: ArrayRef =
            Arc::new(Int64Array::from_iter_values(spans.iter().map(|s| s.closed)));
        let lengths = grouped.lengths();
        Ok(vec![
            lists_from_lengths(&lengths, opened)?,
            lists_from_lengths(&lengths, closed)?,
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups = self.groups.max(total_num_groups);
        if group_indices.is_empty() {
            return Ok(());
        }
        let starts = values[0]
            .as_list::<i32>()
            .values()
            .as_primitive::<Int64Type>();
        let ends = values[1]
            .as_list::<i32>()
            .values()
            .as_primitive::<Int64Type>();
        for_each_paired_entry(
            NAME,
            &values[0],
            &values[1],
            group_indices,
            |group, index| {
                self.spans.push(Span {
                    group,
                    opened: starts.value(index),
                    closed: ends.value(index),
                });
            },
        )
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let (opened, closed) = spans_of(values)?;
        let spans: Vec<Option<(i64, i64)>> = (0..opened.len())
            .map(|row| {
                selected(opt_filter, row)
                    .then(|| span_at(&opened, &closed, row))
                    .flatten()
            })
            .collect();
        let lengths: Vec<usize> = spans.iter().map(|s| usize::from(s.is_some())).collect();
        let starts: ArrayRef = Arc::new(Int64Array::from_iter_values(
            spans.iter().flatten().map(|s| s.0),
        ));
        let ends: ArrayRef = Arc::new(Int64Array::from_iter_values(
            spans.iter().flatten().map(|s| s.1),
        ));
        Ok(vec![
            lists_from_lengths(&lengths, starts)?,
            lists_from_lengths(&lengths, ends)?,
        ])
    }

    fn size(&self) -> usize {
        self.spans.capacity() * size_of::<Span>() + self.sweep.capacity() * 16
    }
}
