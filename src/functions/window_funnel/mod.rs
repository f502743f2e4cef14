//! `window_funnel(window, ts, cond1, …, condN [, mode …])`: the funnel level a group reaches
//! (see [`chain`] for the exact semantics and the search).
//!
//! The grouped state is one flat vector of (group, time, conditions met) events — rows meeting
//! no condition or without a time are dropped on arrival — sorted once when groups are emitted.
//! Partial states are per-group lists of times and condition masks, which merge by
//! concatenation, so the result is the same under any partitioning and row order.

pub mod chain;

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array, UInt32Array,
};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, UInt32Type};
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    Signature, Volatility,
};
use datafusion::scalar::ScalarValue;

use crate::functions::arguments::{
    constant_text, document, logical_constant, physical_constant, require_constant,
};
use crate::functions::groups::{
    GroupTagged, WithinGroup, for_each_paired_entry, lists_from_lengths, selected, take_grouped,
};
use crate::functions::single_group::SingleGroup;
use crate::functions::temporal::{coerce_temporal, instants, interval_parts};
use chain::{FunnelEvent, FunnelSpec, MAX_STEPS, Scratch, funnel_level};

const NAME: &str = "window_funnel";

/// The `window_funnel` aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WindowFunnel {
    signature: Signature,
}

/// The `window_funnel` function.
pub fn window_funnel() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(WindowFunnel {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "The funnel level a group reaches: the largest k such that the group holds k distinct rows \
         e1…ek with cond_i(e_i) true, ts(e1) ≤ … ≤ ts(ek) and ts(ek) − ts(e1) ≤ window; 0 when no \
         row meets cond1. Rows whose ts is NULL are ignored. Rows sharing a timestamp are never \
         ordered by their position in the input, and one row never fills two steps. Modes, as in \
         ClickHouse's windowFunnel: 'strict_increase' (timestamps strictly increase along the \
         chain), 'strict_order' (no row meeting a condition other than those of two consecutive \
         steps lies strictly between them in time), 'strict_deduplication' (a chain takes each \
         step at the first row meeting its condition after the previous step, and a repeat of the \
         condition of the step just reached, before the next step, ends that chain). Up to 32 \
         conditions.",
        "window_funnel(window, ts, cond1, …, condN [, mode …])",
        "SELECT opportunity_id,\n       window_funnel(INTERVAL '90 days', entered_at,\n                     stage = 'prospecting', stage = 'proposal', stage = 'closed_won') AS level\n\
         FROM stage_history GROUP BY opportunity_id;",
        &[
            (
                "window",
                "A constant interval (days or smaller units) that the whole chain must fit in.",
            ),
            (
                "ts",
                "The row's time: a timestamp of any unit, with or without a time zone, or a date.",
            ),
            (
                "cond1, …, condN",
                "Boolean conditions, one per funnel step (1 to 32).",
            ),
            (
                "mode",
                "Optional constant modes: 'strict_increase', 'strict_order', 'strict_deduplication'.",
            ),
        ],
    )
});

/// The funnel's parameters from its constant arguments (window and modes), given the argument
/// values (constants or `None`) and types. Every problem is a planning error.
fn funnel_spec(constants: &[Option<&ScalarValue>], types: &[DataType]) -> Result<FunnelSpec> {
    let steps = types
        .iter()
        .skip(2)
        .take_while(|t| **t == DataType::Boolean)
        .count();
    let window = require_constant(NAME, "window", constants.first().copied().flatten())?;
    let Some((months, days, nanos)) = interval_parts(window) else {
        return plan_err!(
            "{NAME}: argument `window` must be an interval such as INTERVAL '30 days', not {window}"
        );
    };
    if months != 0 {
        return plan_err!(
            "{NAME}: argument `window` must be given in days or smaller units (months have no fixed length), not {window}"
        );
    }
    let window_micros = i64::from(days)
        .saturating_mul(86_400_000_000)
        .saturating_add(nanos.div_euclid(1_000));
    if window_micros < 0 {
        return plan_err!("{NAME}: argument `window` must not be negative, not {window}");
    }
    let mut spec = FunnelSpec {
        steps,
        window: window_micros,
        strict_increase: false,
        strict_order: false,
        strict_deduplication: false,
    };
    for (index, constant) in constants.iter().enumerate().skip(2 + steps) {
        let value = require_constant(NAME, "mode", *constant)?;
        let text = constant_text(NAME, &format!("mode {}", index - 1 - steps), value)?;
        let modes: Vec<&str> = text.split([',', ' ']).filter(|m| !m.is_empty()).collect();
        if modes.is_empty() {
            return plan_err!(
                "{NAME}: mode {} is empty (use 'strict_increase', 'strict_order' or 'strict_deduplication', or leave it out)",
                index - 1 - steps
            );
        }
        for mode in modes {
            match mode.to_ascii_lowercase().as_str() {
                "strict_increase" => spec.strict_increase = true,
                "strict_order" => spec.strict_order = true,
                "strict_deduplication" | "strict_dedup" => spec.strict_deduplication = true,
                other => {
                    return plan_err!(
                        "{NAME}: unknown mode '{other}' (use 'strict_increase', 'strict_order' or 'strict_deduplication')"
                    );
                }
            }
        }
    }
    Ok(spec)
}

/// The state's types: per-group lists of event times and condition masks.
fn state_types() -> Vec<DataType> {
    vec![
        DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
        DataType::List(Arc::new(Field::new_list_field(DataType::UInt32, true))),
    ]
}

impl AggregateUDFImpl for WindowFunnel {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() < 3 {
            return plan_err!("{NAME} takes a window, a timestamp and at least one condition");
        }
        let mut coerced = Vec::with_capacity(arg_types.len());
        match &arg_types[0] {
            DataType::Interval(_) | DataType::Duration(_) => coerced.push(arg_types[0].clone()),
            other => {
                return plan_err!("{NAME}: argument `window` must be an interval, not {other}");
            }
        }
        coerced.push(coerce_temporal(NAME, "ts", &arg_types[1])?);
        let mut steps = 0;
        let mut in_modes = false;
        for (index, data_type) in arg_types.iter().enumerate().skip(2) {
            match data_type {
                DataType::Boolean | DataType::Null if !in_modes => {
                    steps += 1;
                    coerced.push(DataType::Boolean);
                }
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 if steps > 0 => {
                    in_modes = true;
                    coerced.push(DataType::Utf8);
                }
                other if in_modes => {
                    return plan_err!(
                        "{NAME}: argument {} must be a mode (text) after the conditions, not {other}",
                        index + 1
                    );
                }
                other => {
                    return plan_err!(
                        "{NAME}: condition {} must be a boolean, not {other}",
                        index - 1
                    );
                }
            }
        }
        if steps > MAX_STEPS {
            return plan_err!("{NAME}: at most {MAX_STEPS} conditions, not {steps}");
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let [times, masks] = <[DataType; 2]>::try_from(state_types()).expect("two state types");
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "times"),
                times,
                false,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "conditions"),
                masks,
                false,
            )),
        ])
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|function: AggregateFunction, info| {
            let constants: Vec<Option<&ScalarValue>> =
                function.params.args.iter().map(logical_constant).collect();
            let types = function
                .params
                .args
                .iter()
                .map(|a| info.get_data_type(a))
                .collect::<Result<Vec<_>>>()?;
            funnel_spec(&constants, &types)?;
            Ok(datafusion::logical_expr::Expr::AggregateFunction(function))
        }))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let (spec, input_types) = spec_of(&args)?;
        Ok(Box::new(SingleGroup::new(
            Arc::new(move || {
                Ok(Box::new(WindowFunnelGroups::new(spec)) as Box<dyn GroupsAccumulator>)
            }),
            &input_types,
            state_types(),
        )?))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let (spec, _) = spec_of(&args)?;
        Ok(Box::new(WindowFunnelGroups::new(spec)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// The spec and the argument types of a physical call.
fn spec_of(args: &AccumulatorArgs) -> Result<(FunnelSpec, Vec<DataType>)> {
    let constants: Vec<Option<&ScalarValue>> = args.exprs.iter().map(physical_constant).collect();
    let types: Vec<DataType> = args
        .expr_fields
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    Ok((funnel_spec(&constants, &types)?, types))
}

/// Fills `masks` with the conditions each row of a batch meets (bit `i` = condition `i + 1`;
/// NULL counts as false).
fn fill_condition_masks(masks: &mut Vec<u32>, conditions: &[ArrayRef]) {
    let rows = conditions.first().map_or(0, |c| c.len());
    masks.clear();
    masks.resize(rows, 0);
    for (index, condition) in conditions.iter().enumerate() {
        let condition = condition.as_boolean();
        let met: BooleanBuffer = match condition.nulls() {
            Some(nulls) => condition.values() & nulls.inner(),
            None => condition.values().clone(),
        };
        for row in met.set_indices() {
            masks[row] |= 1 << index;
        }
    }
}

/// One event of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct GroupEvent {
    group: u32,
    time: i64,
    conditions: u32,
}

/// The events of every group, stored flat.
#[derive(Debug)]
struct WindowFunnelGroups {
    spec: FunnelSpec,
    events: Vec<GroupEvent>,
    groups: usize,
    scratch: Scratch,
    masks: Vec<u32>,
}

impl WindowFunnelGroups {
    fn new(spec: FunnelSpec) -> Self {
        Self {
            spec,
            events: Vec::new(),
            groups: 0,
            scratch: Scratch::default(),
            masks: Vec::new(),
        }
    }
}

impl FunnelEvent for GroupEvent {
    fn time(&self) -> i64 {
        self.time
    }

    fn conditions(&self) -> u32 {
        self.conditions
    }
}

impl GroupTagged for GroupEvent {
    fn group(&self) -> u32 {
        self.group
    }

    fn regroup(self, group: u32) -> Self {
        Self { group, ..self }
    }
}

impl GroupsAccumulator for WindowFunnelGroups {
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
        let times = instants(&values[1])?;
        fill_condition_masks(&mut self.masks, &values[2..2 + self.spec.steps]);
        let (masks, events) = (&self.masks, &mut self.events);
        for (row, group) in group_indices.iter().enumerate() {
            if masks[row] == 0 || times.is_null(row) || !selected(opt_filter, row) {
                continue;
            }
            events.push(GroupEvent {
                group: *group as u32,
                time: times.value(row),
                conditions: masks[row],
            });
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let grouped = take_grouped(
            &mut self.events,
            &mut self.groups,
            emit_to,
            WithinGroup::Sorted,
        );
        let mut levels = vec![0i32; grouped.groups()];
        for (group, level) in levels.iter_mut().enumerate() {
            let events = grouped.group(group);
            if events.is_empty() {
                continue;
            }
            *level = funnel_level(&self.spec, events, &mut self.scratch) as i32;
        }
        Ok(Arc::new(Int32Array::from(levels)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let grouped = take_grouped(
            &mut self.events,
            &mut self.groups,
            emit_to,
            WithinGroup::AnyOrder,
        );
        let events = grouped.items();
        let times: ArrayRef = Arc::new(Int64Array::from_iter_values(events.iter().map(|e| e.time)));
        let masks: ArrayRef = Arc::new(UInt32Array::from_iter_values(
            events.iter().map(|e| e.conditions),
        ));
        let lengths = grouped.lengths();
        Ok(vec![
            lists_from_lengths(&lengths, times)?,
            lists_from_lengths(&lengths, masks)?,
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
        let times = values[0]
            .as_list::<i32>()
            .values()
            .as_primitive::<Int64Type>();
        let masks = values[1]
            .as_list::<i32>()
            .values()
            .as_primitive::<UInt32Type>();
        for_each_paired_entry(
            NAME,
            &values[0],
            &values[1],
            group_indices,
            |group, index| {
                self.events.push(GroupEvent {
                    group,
                    time: times.value(index),
                    conditions: masks.value(index),
                });
            },
        )
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let times = instants(&values[1])?;
        let mut masks = Vec::new();
        fill_condition_masks(&mut masks, &values[2..2 + self.spec.steps]);
        let keep: Vec<bool> = (0..times.len())
            .map(|row| masks[row] != 0 && times.is_valid(row) && selected(opt_filter, row))
            .collect();
        let lengths: Vec<usize> = keep.iter().map(|k| usize::from(*k)).collect();
        let kept_times: ArrayRef = Arc::new(Int64Array::from_iter_values(
            (0..times.len())
                .filter(|r| keep[*r])
                .map(|r| times.value(r)),
        ));
        let kept_masks: ArrayRef = Arc::new(UInt32Array::from_iter_values(
            (0..times.len()).filter(|r| keep[*r]).map(|r| masks[r]),
        ));
        Ok(vec![
            lists_from_lengths(&lengths, kept_times)?,
            lists_from_lengths(&lengths, kept_masks)?,
        ])
    }

    fn size(&self) -> usize {
        self.events.capacity() * size_of::<GroupEvent>() + self.masks.capacity() * 4
    }
}
