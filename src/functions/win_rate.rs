//! `win_rate(status)`: won ÷ (won + lost) over the rows whose status is `won` or `lost`
//! (case-insensitive); NULL when there are none.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, UInt64Array};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    Signature, Volatility,
};

use crate::functions::arguments::document;
use crate::functions::groups::{ensure_groups, selected};
use crate::functions::single_group::SingleGroup;

/// The `win_rate` aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WinRate {
    signature: Signature,
}

/// The `win_rate` function.
pub fn win_rate() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(WinRate {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "The share of decided deals that were won: won ÷ (won + lost) over the rows whose status is \
         `won` or `lost` (case-insensitive). Other statuses (such as `open`) are ignored; NULL when \
         no row is won or lost.",
        "win_rate(status)",
        "SELECT owner_id, win_rate(status) FROM opportunities GROUP BY owner_id;",
        &[(
            "status",
            "The opportunity's status: text such as `won`, `lost` or `open`.",
        )],
    )
});

impl AggregateUDFImpl for WinRate {
    fn name(&self) -> &str {
        "win_rate"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null] => {
                Ok(vec![DataType::Utf8View])
            }
            [DataType::Dictionary(_, value)] if value.is_string() => Ok(vec![DataType::Utf8View]),
            [other] => plan_err!("win_rate: argument `status` must be text, not {other}"),
            _ => plan_err!(
                "win_rate takes one argument (status), not {}",
                arg_types.len()
            ),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "won"),
                DataType::UInt64,
                false,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "decided"),
                DataType::UInt64,
                false,
            )),
        ])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SingleGroup::new(
            Arc::new(|| Ok(Box::new(WinRateGroups::default()) as Box<dyn GroupsAccumulator>)),
            &[DataType::Utf8View],
            vec![DataType::UInt64, DataType::UInt64],
        )?))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(WinRateGroups::default()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// Won and decided counts per group.
#[derive(Debug, Default)]
struct WinRateGroups {
    won: Vec<u64>,
    decided: Vec<u64>,
}

/// 1 for won, 0 for lost, `None` for anything else.
fn outcome(status: &str) -> Option<u64> {
    if status.eq_ignore_ascii_case("won") {
        Some(1)
    } else if status.eq_ignore_ascii_case("lost") {
        Some(0)
    } else {
        None
    }
}

impl GroupsAccumulator for WinRateGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.won, total_num_groups);
        ensure_groups(&mut self.decided, total_num_groups);
        let statuses = values[0].as_string_view();
        for (row, group) in group_indices.iter().enumerate() {
            if !selected(opt_filter, row) || statuses.is_null(row) {
                continue;
            }
            if let Some(won) = outcome(statuses.value(row)) {
                self.won[*group] += won;
                self.decided[*group] += 1;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let won = emit_to.take_needed(&mut self.won);
        let decided = emit_to.take_needed(&mut self.decided);
        let rates: Vec<f64> = won
            .iter()
            .zip(&decided)
            .map(|(w, d)| if *d == 0 { 0.0 } else { *w as f64 / *d as f64 })
            .collect();
        let nulls = NullBuffer::from_iter(decided.iter().map(|d| *d > 0));
        Ok(Arc::new(Float64Array::new(rates.into(), Some(nulls))))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let won = emit_to.take_needed(&mut self.won);
        let decided = emit_to.take_needed(&mut self.decided);
        Ok(vec![
            Arc::new(UInt64Array::from(won)),
            Arc::new(UInt64Array::from(decided)),
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        ensure_groups(&mut self.won, total_num_groups);
        ensure_groups(&mut self.decided, total_num_groups);
        if group_indices.is_empty() {
            return Ok(());
        }
        let won = values[0].as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
        let decided = values[1].as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
        for (row, group) in group_indices.iter().enumerate() {
            self.won[*group] += won.value(row);
            self.decided[*group] += decided.value(row);
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let statuses = values[0].as_string_view();
        let (mut won, mut decided) = (
            Vec::with_capacity(statuses.len()),
            Vec::with_capacity(statuses.len()),
        );
        for row in 0..statuses.len() {
            let result = (selected(opt_filter, row) && statuses.is_valid(row))
                .then(|| outcome(statuses.value(row)))
                .flatten();
            won.push(result.unwrap_or(0));
            decided.push(u64::from(result.is_some()));
        }
        Ok(vec![
            Arc::new(UInt64Array::from(won)),
            Arc::new(UInt64Array::from(decided)),
        ])
    }

    fn size(&self) -> usize {
        (self.won.capacity() + self.decided.capacity()) * size_of::<u64>()
    }
}
