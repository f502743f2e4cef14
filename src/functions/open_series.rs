//! `open_series(created, closed, start, end, step)`: how many rows are open (as in `open_at`)
//! at each of the instants `start + i·step` up to `end`.
//!
//! Each row adds +1 at the first instant it is open and −1 at the first instant it is closed
//! again (found by binary search among the instants), so a group costs O(n log p + p) for n rows
//! and p instants instead of the O(n × p) of a range join, and the partial state (a difference
//! vector per group) merges by addition.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, Expr, GroupsAccumulator,
    Signature, Volatility,
};
use datafusion::scalar::ScalarValue;

use crate::functions::arguments::{
    document, logical_constant, physical_constant, require_constant,
};
use crate::functions::groups::{FixedRows, bigint_list_type, fixed_width_lists, selected};
use crate::functions::single_group::SingleGroup;
use crate::functions::temporal::{
    add_interval, coerce_temporal, instants, interval_parts, scalar_instant,
};

const NAME: &str = "open_series";

/// The most instants one series may have.
const MAX_POINTS: usize = 100_000;

/// The `open_series` aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OpenSeries {
    signature: Signature,
}

/// The `open_series` function.
pub fn open_series() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(OpenSeries {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "A snapshot series of open rows: element i (0-based) is the number of rows open at \
         t_i = start + i·step — created at or before t_i and not closed by then (closed NULL or \
         after t_i), as in `open_at` — for every t_i ≤ end. Months are calendar months (a day past \
         the month's end is clamped to it). start, end and step are constants, and the series \
         holds at most 100 000 instants. Costs O(n log p + p) per group, not O(n × p).",
        "open_series(created, closed, start, end, step)",
        "SELECT owner_id,\n       open_series(created_at, closed_at, TIMESTAMP '2025-01-01', TIMESTAMP '2026-01-01', INTERVAL '1 month') AS open\n\
         FROM opportunities GROUP BY owner_id;",
        &[
            (
                "created",
                "When the row opens: a timestamp of any unit or a date.",
            ),
            ("closed", "When it closes; NULL while open."),
            ("start", "The first instant (a constant timestamp or date)."),
            (
                "end",
                "The last instant allowed (a constant timestamp or date).",
            ),
            (
                "step",
                "The distance between instants (a constant positive interval, such as INTERVAL '1 month').",
            ),
        ],
    )
});

/// The instants of the series from its constant arguments.
fn series_points(constants: &[Option<&ScalarValue>]) -> Result<Arc<Vec<i64>>> {
    let start = require_constant(NAME, "start", constants.get(2).copied().flatten())?;
    let end = require_constant(NAME, "end", constants.get(3).copied().flatten())?;
    let step = require_constant(NAME, "step", constants.get(4).copied().flatten())?;
    let instant = |name: &str, value: &ScalarValue| -> Result<i64> {
        match scalar_instant(value) {
            Ok(Some(micros)) => Ok(micros),
            Ok(None) => plan_err!("{NAME}: argument `{name}` must not be NULL"),
            Err(_) => {
                plan_err!("{NAME}: argument `{name}` must be a timestamp or a date, not {value}")
            }
        }
    };
    let (start, end) = (instant("start", start)?, instant("end", end)?);
    let Some((months, days, nanos)) = interval_parts(step) else {
        return plan_err!(
            "{NAME}: argument `step` must be an interval such as INTERVAL '1 month', not {step}"
        );
    };
    let parts = [i64::from(months), i64::from(days), nanos];
    if parts.iter().any(|p| *p < 0) || parts.iter().all(|p| *p == 0) {
        return plan_err!("{NAME}: argument `step` must be a positive interval, not {step}");
    }
    let mut points = Vec::new();
    for i in 0.. {
        let Some(point) = add_interval(
            start,
            i * parts[0],
            i * parts[1],
            i.saturating_mul(parts[2]),
        ) else {
            break;
        };
        if point > end {
            break;
        }
        if points.len() == MAX_POINTS {
            return plan_err!(
                "{NAME}: the series from start to end by step has more than {MAX_POINTS} instants"
            );
        }
        points.push(point);
    }
    Ok(Arc::new(points))
}

impl AggregateUDFImpl for OpenSeries {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [created, closed, start, end, step] = arg_types else {
            return plan_err!(
                "{NAME} takes five arguments (created, closed, start, end, step), not {}",
                arg_types.len()
            );
        };
        if !matches!(step, DataType::Interval(_) | DataType::Duration(_)) {
            return plan_err!("{NAME}: argument `step` must be an interval, not {step}");
        }
        Ok(vec![
            coerce_temporal(NAME, "created", created)?,
            coerce_temporal(NAME, "closed", closed)?,
            coerce_temporal(NAME, "start", start)?,
            coerce_temporal(NAME, "end", end)?,
            step.clone(),
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(bigint_list_type())
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "changes"),
            bigint_list_type(),
            false,
        ))])
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|function: AggregateFunction, _| {
            let constants: Vec<Option<&ScalarValue>> =
                function.params.args.iter().map(logical_constant).collect();
            series_points(&constants)?;
            Ok(Expr::AggregateFunction(function))
        }))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let points = points_of(&args)?;
        let input_types: Vec<DataType> = args
            .expr_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        Ok(Box::new(SingleGroup::new(
            Arc::new(move || {
                Ok(Box::new(OpenSeriesGroups::new(Arc::clone(&points)))
                    as Box<dyn GroupsAccumulator>)
            }),
            &input_types,
            vec![bigint_list_type()],
        )?))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(OpenSeriesGroups::new(points_of(&args)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

fn points_of(args: &AccumulatorArgs) -> Result<Arc<Vec<i64>>> {
    let constants: Vec<Option<&ScalarValue>> = args.exprs.iter().map(physical_constant).collect();
    series_points(&constants)
}

/// Per group, the change in open rows at each instant (one extra slot for "never").
#[derive(Debug)]
struct OpenSeriesGroups {
    points: Arc<Vec<i64>>,
    changes: FixedRows,
}

impl OpenSeriesGroups {
    fn new(points: Arc<Vec<i64>>) -> Self {
        let width = points.len() + 1;
        Self {
            points,
            changes: FixedRows::new(width),
        }
    }

    /// The instants (as indices) a row is open at: `[first, last)`, or `None`.
    fn open_range(
        &self,
        created: &Int64Array,
        closed: &Int64Array,
        row: usize,
    ) -> Option<(usize, usize)> {
        if created.is_null(row) {
            return None;
        }
        let opened = created.value(row);
        let first = self.points.partition_point(|t| *t < opened);
        let last = if closed.is_null(row) {
            self.points.len()
        } else {
            let closing = closed.value(row);
            self.points.partition_point(|t| *t < closing)
        };
        (first < last).then_some((first, last))
    }

    fn changes_of(&self, values: &[ArrayRef]) -> Result<(Int64Array, Int64Array)> {
        Ok((instants(&values[0])?, instants(&values[1])?))
    }
}

impl GroupsAccumulator for OpenSeriesGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.changes.ensure(total_num_groups);
        if group_indices.is_empty() {
            return Ok(());
        }
        let (created, closed) = self.changes_of(values)?;
        for (row, group) in group_indices.iter().enumerate() {
            if !selected(opt_filter, row) {
                continue;
            }
            if let Some((first, last)) = self.open_range(&created, &closed, row) {
                let changes = self.changes.row_mut(*group);
                changes[first] += 1;
                changes[last] -= 1;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let width = self.changes.width();
        let points = self.points.len();
        let (changes, rows) = self.changes.take(emit_to);
        let mut counts = Vec::with_capacity(rows * points);
        for row in changes.chunks(width) {
            let mut open = 0;
            for change in &row[..points] {
                open += change;
                counts.push(open);
            }
        }
        fixed_width_lists(counts, rows, points)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let width = self.changes.width();
        let (changes, rows) = self.changes.take(emit_to);
        Ok(vec![fixed_width_lists(changes, rows, width)?])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.changes.ensure(total_num_groups);
        if group_indices.is_empty() {
            return Ok(());
        }
        self.changes.add_lists(&values[0], group_indices, NAME)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let width = self.changes.width();
        let (created, closed) = self.changes_of(values)?;
        let mut flat = vec![0; created.len() * width];
        for row in 0..created.len() {
            if selected(opt_filter, row)
                && let Some((first, last)) = self.open_range(&created, &closed, row)
            {
                flat[row * width + first] += 1;
                flat[row * width + last] -= 1;
            }
        }
        Ok(vec![fixed_width_lists(flat, created.len(), width)?])
    }

    fn size(&self) -> usize {
        self.changes.bytes() + self.points.len() * 8
    }
}
