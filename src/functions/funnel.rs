//! `funnel(level, n)`: from "level reached" per row to per-step counts. Element `k` (1-based)
//! of the result counts the rows whose level is at least `k`; NULL levels and levels ≤ 0
//! count nowhere; levels above `n` count as `n`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, UInt64Type};
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

use crate::functions::arguments::{
    constant_integer, document, logical_constant, physical_constant, require_constant,
};
use crate::functions::groups::{FixedRows, bigint_list_type, fixed_width_lists, selected};
use crate::functions::single_group::SingleGroup;

/// The largest `n`.
const MAX_STEPS: i64 = 1000;

/// The `funnel` aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Funnel {
    signature: Signature,
}

/// The `funnel` function.
pub fn funnel() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(Funnel {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "Per-step counts of a funnel from the level each row reached: element k of the result \
         (1-based, n elements) counts the rows whose level is at least k. NULL levels and levels of \
         0 or less count nowhere; levels above n count as n. Feed it `window_funnel` levels or stage \
         positions, then `step_conversion`, `funnel_shape` and `funnel_leak`.",
        "funnel(level, n)",
        "SELECT funnel(level, 3) FROM (VALUES (1), (3), (2), (0), (NULL), (5)) AS t(level);\n\
         -- [4, 3, 2]",
        &[
            ("level", "The level a row reached (an integer)."),
            ("n", "The number of steps: a constant from 1 to 1000."),
        ],
    )
});

/// The step count from the constant second argument.
fn steps(value: Option<&datafusion::scalar::ScalarValue>) -> Result<usize> {
    let value = require_constant("funnel", "n", value)?;
    Ok(constant_integer("funnel", "n", value, 1..=MAX_STEPS)? as usize)
}

impl AggregateUDFImpl for Funnel {
    fn name(&self) -> &str {
        "funnel"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [level, n] = arg_types else {
            return plan_err!(
                "funnel takes two arguments (level, n), not {}",
                arg_types.len()
            );
        };
        for (name, data_type) in [("level", level), ("n", n)] {
            if !(data_type.is_integer() || data_type.is_null()) {
                return plan_err!("funnel: argument `{name}` must be an integer, not {data_type}");
            }
        }
        // UInt64 levels stay unsigned (a cast to BIGINT fails beyond its range); they are read
        // saturated, which counts them as `n` like any level above it.
        let level = match level {
            DataType::UInt64 => DataType::UInt64,
            _ => DataType::Int64,
        };
        Ok(vec![level, DataType::Int64])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(bigint_list_type())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "levels"),
            bigint_list_type(),
            false,
        ))])
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|function: AggregateFunction, _| {
            steps(function.params.args.get(1).and_then(logical_constant))?;
            Ok(Expr::AggregateFunction(function))
        }))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let n = steps(args.exprs.get(1).and_then(physical_constant))?;
        Ok(Box::new(SingleGroup::new(
            Arc::new(move || Ok(Box::new(FunnelGroups::new(n)) as Box<dyn GroupsAccumulator>)),
            &[DataType::Int64, DataType::Int64],
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
        let n = steps(args.exprs.get(1).and_then(physical_constant))?;
        Ok(Box::new(FunnelGroups::new(n)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// Per group, how many rows reached exactly each level 1..=n (a histogram; the result is its
/// suffix sums).
#[derive(Debug)]
struct FunnelGroups {
    histogram: FixedRows,
}

impl FunnelGroups {
    fn new(n: usize) -> Self {
        Self {
            histogram: FixedRows::new(n),
        }
    }

    /// The histogram slot of `level`, if it counts.
    fn slot(&self, level: i64) -> Option<usize> {
        (level > 0).then(|| (level.min(self.histogram.width() as i64) - 1) as usize)
    }
}

/// The levels as BIGINT: UInt64 levels beyond its range saturate (they count as `n` anyway).
fn signed_levels(levels: &ArrayRef) -> Int64Array {
    match levels.as_primitive_opt::<UInt64Type>() {
        Some(unsigned) => unsigned.unary(|level| i64::try_from(level).unwrap_or(i64::MAX)),
        None => levels.as_primitive::<Int64Type>().clone(),
    }
}

impl GroupsAccumulator for FunnelGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.histogram.ensure(total_num_groups);
        let levels = signed_levels(&values[0]);
        for (row, group) in group_indices.iter().enumerate() {
            if !selected(opt_filter, row) || levels.is_null(row) {
                continue;
            }
            if let Some(slot) = self.slot(levels.value(row)) {
                self.histogram.row_mut(*group)[slot] += 1;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let width = self.histogram.width();
        let (mut counts, rows) = self.histogram.take(emit_to);
        for row in counts.chunks_mut(width) {
            for k in (0..width.saturating_sub(1)).rev() {
                row[k] += row[k + 1];
            }
        }
        fixed_width_lists(counts, rows, width)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let width = self.histogram.width();
        let (histogram, rows) = self.histogram.take(emit_to);
        Ok(vec![fixed_width_lists(histogram, rows, width)?])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.histogram.ensure(total_num_groups);
        if group_indices.is_empty() {
            return Ok(());
        }
        self.histogram
            .add_lists(&values[0], group_indices, "funnel")
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let width = self.histogram.width();
        let levels = signed_levels(&values[0]);
        let mut flat = vec![0; levels.len() * width];
        for row in 0..levels.len() {
            if selected(opt_filter, row)
                && levels.is_valid(row)
                && let Some(slot) = self.slot(levels.value(row))
            {
                flat[row * width + slot] = 1;
            }
        }
        Ok(vec![fixed_width_lists(flat, levels.len(), width)?])
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.histogram.bytes()
    }
}
