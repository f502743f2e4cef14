//! [`DenseAggregateExec`]: DataFusion's final (or single-phase) `AggregateExec` for a `GROUP
//! BY` on one BIGINT key, with the hash table replaced by [`DenseKeys`].
//!
//! Sales queries group by opportunity and by rep, whose ids are dense integers; the hash
//! table behind such a group-by (hashing, probing, and rehashing it as millions of groups
//! arrive) is most of the time of the stage funnel and of every "deepest stage per
//! opportunity" step. Everything else (the aggregate functions' own accumulators, their
//! arguments and filters, the output schema, partitioning and statistics) is the replaced
//! `AggregateExec`'s, which the node keeps.
//!
//! When the memory pool refuses what its groups need, it turns the groups it holds into
//! partial states and hands them, followed by the rest of its input, to DataFusion's
//! aggregation, which spills: the `AggregateExec` it replaced when that merges partial states
//! (`Final`, `FinalPartitioned`), or for a single-phase one (`Single`, `SinglePartitioned`) a
//! final `AggregateExec` over those states and a partial `AggregateExec` of the rest.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, MutableArrayData, RecordBatch, make_array,
};
use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, internal_err};
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::OrderingRequirements;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::aggregates::{
    AggregateExec, AggregateInputMode, AggregateMode, AggregateOutputMode, aggregate_expressions,
};
use datafusion::physical_plan::execution_plan::CardinalityEffect;
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties,
    InputDistributionRequirements, InputOrderMode, PlanProperties, SendableRecordBatchStream,
    Statistics, displayable,
};
use futures::{StreamExt, TryStreamExt, stream};

use super::HOLDING;
use super::dense_keys::DenseKeys;
use super::replay::ReplayExec;
use super::text_equalities::Arguments;

/// A final or single-phase aggregation on one BIGINT key without a hash table.
#[derive(Debug)]
pub struct DenseAggregateExec {
    /// The aggregation this node performs: its expressions, schema and properties.
    aggregate: Arc<AggregateExec>,
    metrics: ExecutionPlanMetricsSet,
}

impl DenseAggregateExec {
    /// The dense version of `aggregate`, or `None` when it is not a plain final (or
    /// single-phase) aggregation grouped by one BIGINT expression whose functions all have a
    /// `GroupsAccumulator` and take no ordering.
    pub fn try_replace(aggregate: &AggregateExec) -> Option<Self> {
        let group_by = aggregate.group_expr();
        let input_schema = aggregate.input().schema();
        let applies = aggregate.mode().output_mode() == AggregateOutputMode::Final
            && group_by.is_single()
            && group_by.expr().len() == 1
            && group_by.expr()[0]
                .0
                .data_type(&input_schema)
                .is_ok_and(|t| t == DataType::Int64)
            && *aggregate.input_order_mode() == InputOrderMode::Linear
            && aggregate.limit_options().is_none()
            && aggregate.dynamic_expressions_produced().is_empty()
            && aggregate
                .aggr_expr()
                .iter()
                .all(|a| a.order_bys().is_empty() && a.groups_accumulator_supported());
        applies.then(|| Self {
            aggregate: Arc::new(aggregate.clone()),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

impl DisplayAs for DenseAggregateExec {
    fn fmt_as(&self, format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match format {
            DisplayFormatType::TreeRender => {
                self.aggregate.fmt_as(format, f)?;
                write!(f, "\ndense=true")
            }
            _ => {
                let inner = displayable(self.aggregate.as_ref()).one_line().to_string();
                let details = inner
                    .trim_end()
                    .strip_prefix("AggregateExec: ")
                    .unwrap_or(&inner);
                write!(f, "DenseAggregateExec: {details}")
            }
        }
    }
}

impl ExecutionPlan for DenseAggregateExec {
    fn name(&self) -> &str {
        "DenseAggregateExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.aggregate.properties()
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        self.aggregate.input_distribution_requirements()
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        self.aggregate.required_input_ordering()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        self.aggregate.benefits_from_input_partitioning()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.aggregate.input()]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.aggregate.apply_expressions(f)
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let replaced = Arc::clone(&self.aggregate).with_new_children(children)?;
        let Some(aggregate) = replaced.downcast_ref::<AggregateExec>() else {
            return internal_err!("DenseAggregateExec: new children changed the aggregation");
        };
        match Self::try_replace(aggregate) {
            Some(dense) => Ok(Arc::new(dense)),
            None => Ok(replaced),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self
            .aggregate
            .input()
            .execute(partition, Arc::clone(&context))?;
        let aggregation = Aggregation::new(&self.aggregate, partition, &context)?;
        let metrics = BaselineMetrics::new(&self.metrics, partition);
        let fallbacks = MetricBuilder::new(&self.metrics).counter("hash_fallbacks", partition);
        let slices_metric = MetricBuilder::new(&self.metrics).counter("emission_slices", partition);
        let fallback = Fallback {
            aggregate: Arc::clone(&self.aggregate),
            partition,
            context: Arc::clone(&context),
        };
        let batch_size = context.session_config().batch_size();
        let schema = self.schema();
        let counted = metrics.clone();
        let output = stream::once(async move {
            let output = match aggregation.run(input, &metrics).await? {
                Outcome::Done {
                    batches,
                    reservation,
                } => {
                    slices_metric.add(batches.len());
                    // The answer stays charged to the pool until its last slice is sent.
                    let sliced: Vec<RecordBatch> =
                        batches.iter().flat_map(|b| slices(b, batch_size)).collect();
                    let batches = sliced.into_iter().map(move |slice| {
                        let _charged = &reservation;
                        Ok(slice)
                    });
                    Box::pin(RecordBatchStreamAdapter::new(
                        fallback.aggregate.schema(),
                        stream::iter(batches),
                    )) as SendableRecordBatchStream
                }
                Outcome::OutOfMemory { held, rest } => {
                    fallbacks.add(1);
                    fallback.resume(slices(&held, batch_size), rest)?
                }
            };
            Ok::<_, DataFusionError>(output)
        })
        .try_flatten()
        .inspect_ok(move |batch| {
            counted.record_output(batch.num_rows());
            counted.output_batches().add(1);
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, output)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        self.aggregate.cardinality_effect()
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        self.aggregate.child_stats_requests(partition)
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        self.aggregate.statistics_from_inputs(input_stats, args)
    }
}

/// How one partition's aggregation ended.
enum Outcome {
    /// Every group, aggregated (in one batch, or in several when the pool did not grant the
    /// memory to evaluate them at once), and the reservation that counts them.
    Done {
        batches: Vec<RecordBatch>,
        reservation: MemoryReservation,
    },
    /// The memory pool refused more memory: the groups so far as partial states (in the
    /// input's schema), and the input not read yet.
    OutOfMemory {
        held: RecordBatch,
        rest: SendableRecordBatchStream,
    },
}

/// The aggregation a partition falls back to when memory runs out.
struct Fallback {
    aggregate: Arc<AggregateExec>,
    partition: usize,
    context: Arc<TaskContext>,
}

impl Fallback {
    /// DataFusion's aggregation of `held` (partial states, in batches it can spill one at a
    /// time) followed by `rest` (the input not read yet).
    #[allow(deprecated)]
    fn resume(
        self,
        held: Vec<RecordBatch>,
        rest: SendableRecordBatchStream,
    ) -> Result<SendableRecordBatchStream> {
        let aggregate = &self.aggregate;
        let partitions = aggregate.input().output_partitioning().partition_count();
        let (states, merging): (SendableRecordBatchStream, Arc<dyn ExecutionPlan>) =
            match aggregate.mode().input_mode() {
                AggregateInputMode::Partial => (rest, Arc::clone(aggregate) as _),
                AggregateInputMode::Raw => {
                    let rest = Arc::new(ReplayExec::new(rest, partitions)) as _;
                    let partial = with_mode(aggregate, AggregateMode::Partial, rest)?;
                    let states = partial.execute(self.partition, Arc::clone(&self.context))?;
                    let final_mode = match aggregate.mode() {
                        AggregateMode::Single => AggregateMode::Final,
                        _ => AggregateMode::FinalPartitioned,
                    };
                    let merging = AggregateExec::try_new(
                        final_mode,
                        aggregate.group_expr().as_final(),
                        aggregate.aggr_expr().to_vec(),
                        vec![None; aggregate.aggr_expr().len()],
                        Arc::new(partial),
                        aggregate.input_schema(),
                    )?;
                    (states, Arc::new(merging) as _)
                }
            };
        let schema = states.schema();
        let states = stream::iter(held.into_iter().map(Ok)).chain(states);
        let replay = ReplayExec::new(
            Box::pin(RecordBatchStreamAdapter::new(schema, states)),
            partitions,
        );
        let plan = merging.with_new_children(vec![Arc::new(replay)])?;
        plan.execute(self.partition, self.context)
    }
}

/// The schema of `aggregate`'s groups as partial states: its input's when it merges partial
/// states, else the output of the partial `AggregateExec` of its raw input.
fn state_schema(aggregate: &AggregateExec) -> Result<SchemaRef> {
    Ok(match aggregate.mode().input_mode() {
        AggregateInputMode::Partial => aggregate.input().schema(),
        AggregateInputMode::Raw => with_mode(
            aggregate,
            AggregateMode::Partial,
            Arc::clone(aggregate.input()),
        )?
        .schema(),
    })
}

/// `aggregate` (on raw rows: its group-by, functions and filters) in `mode` over `input`.
pub(super) fn with_mode(
    aggregate: &AggregateExec,
    mode: AggregateMode,
    input: Arc<dyn ExecutionPlan>,
) -> Result<AggregateExec> {
    AggregateExec::try_new(
        mode,
        aggregate.group_expr().clone(),
        aggregate.aggr_expr().to_vec(),
        aggregate.filter_expr().to_vec(),
        input,
        aggregate.input_schema(),
    )
}

/// One partition's aggregation: the key, the functions' arguments and filters, their
/// accumulators, and the memory they are charged to.
struct Aggregation {
    key: Arc<dyn PhysicalExpr>,
    arguments: Arguments,
    filters: Vec<Option<Arc<dyn PhysicalExpr>>>,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
    /// True when the input is partial states, false when it is raw rows.
    merging: bool,
    /// True when every function can be evaluated a slice of groups at a time at no more than
    /// its share of the cost ([`sliceable`]).
    sliceable: bool,
    aggregate: Arc<AggregateExec>,
    reservation: MemoryReservation,
}

impl Aggregation {
    fn new(
        aggregate: &Arc<AggregateExec>,
        partition: usize,
        context: &TaskContext,
    ) -> Result<Self> {
        let mode = aggregate.mode();
        let group_by = aggregate.group_expr();
        let merging = mode.input_mode() == AggregateInputMode::Partial;
        let sliceable = aggregate
            .aggr_expr()
            .iter()
            .all(|a| !a.is_distinct() && sliceable(a.fun().name()));
        let arguments = Arguments::new(
            aggregate_expressions(aggregate.aggr_expr(), mode, group_by.num_group_exprs())?,
            &aggregate.input().schema(),
        );
        let filters = if merging {
            vec![None; aggregate.aggr_expr().len()]
        } else {
            aggregate.filter_expr().to_vec()
        };
        let accumulators = aggregate
            .aggr_expr()
            .iter()
            .map(|a| a.create_groups_accumulator())
            .collect::<Result<Vec<_>>>()?;
        // It gives its memory back by falling back to DataFusion's aggregation, which spills
        // when the runtime can write temporary files: like DataFusion's own aggregations it
        // then counts as a spiller, which a fair pool holds to its share so that the other
        // operators of the query keep theirs.
        let can_spill = context.runtime_env().disk_manager.tmp_files_enabled();
        let reservation = MemoryConsumer::new(format!("DenseAggregateExec[{partition}]"))
            .with_can_spill(can_spill)
            .register(context.memory_pool());
        Ok(Self {
            key: Arc::clone(&group_by.expr()[0].0),
            arguments,
            filters,
            accumulators,
            merging,
            sliceable,
            aggregate: Arc::clone(aggregate),
            reservation,
        })
    }

    /// Aggregates the whole input, then emits every group in one batch, unless the memory
    /// pool refuses the memory the groups need.
    async fn run(
        mut self,
        mut input: SendableRecordBatchStream,
        metrics: &BaselineMetrics,
    ) -> Result<Outcome> {
        let mut keys = DenseKeys::default();
        let mut groups = Vec::new();
        while let Some(batch) = input.next().await {
            let batch = batch?;
            let _timer = metrics.elapsed_compute().timer();
            self.aggregate_batch(&batch, &mut keys, &mut groups)?;
            let held = keys.size()
                + groups.capacity() * size_of::<usize>()
                + self.accumulators.iter().map(|a| a.size()).sum::<usize>();
            if let Err(refused) = self.reservation.try_resize(held) {
                if !matches!(refused.find_root(), DataFusionError::ResourcesExhausted(_)) {
                    return Err(refused);
                }
                let schema = state_schema(&self.aggregate)?;
                let held = self.emit(&mut keys, &schema, |a| a.state(EmitTo::All))?;
                return Ok(Outcome::OutOfMemory { held, rest: input });
            }
        }
        let _timer = metrics.elapsed_compute().timer();
        let batches = self.evaluate(&mut keys)?;
        self.reservation
            .resize(batches.iter().map(|b| b.get_array_memory_size()).sum());
        Ok(Outcome::Done {
            batches,
            reservation: self.reservation,
        })
    }

    /// Every group, evaluated. Evaluating can take as much memory again as the groups hold (a
    /// function holding every value lays them out by group in a second store), so that is
    /// asked of the pool first. When the pool refuses, the groups are evaluated in slices, as
    /// many as it takes for one slice's share to be granted (at most [`MAX_SLICES`]; beyond,
    /// the slices go ahead ungranted, since the groups' own memory is already held).
    fn evaluate(&mut self, keys: &mut DenseKeys) -> Result<Vec<RecordBatch>> {
        let schema = self.aggregate.schema();
        let held: usize = self.accumulators.iter().map(|a| a.size()).sum();
        // Taking the groups apart a slice at a time would cost some functions more (a distinct
        // count rebuilds what stays of its table), so those evaluate at once.
        let mut count = 1;
        while self.reservation.try_grow(held / count).is_err() {
            if !self.sliceable || count == MAX_SLICES {
                break;
            }
            count *= 2;
        }
        if count == 1 {
            let batch = self.emit(keys, &schema, |a| {
                a.evaluate(EmitTo::All).map(|array| vec![array])
            })?;
            return Ok(vec![batch]);
        }
        let groups = keys.len();
        let key_data = keys.take_keys().into_data();
        let per_slice = groups.div_ceil(count).max(1);
        let mut batches = Vec::with_capacity(count);
        let mut start = 0;
        while start < groups {
            let length = per_slice.min(groups - start);
            let emit_to = match start + length == groups {
                true => EmitTo::All,
                false => EmitTo::First(length),
            };
            // A copy of the slice's keys: a slice of them would count the whole key array
            // against the pool once per slice.
            let mut keys = MutableArrayData::new(vec![&key_data], false, length);
            keys.try_extend(0, start, start + length)?;
            let mut columns: Vec<ArrayRef> = vec![make_array(keys.freeze())];
            for accumulator in &mut self.accumulators {
                columns.push(accumulator.evaluate(emit_to)?);
            }
            batches.push(RecordBatch::try_new(Arc::clone(&schema), columns)?);
            start += length;
        }
        self.accumulators.clear();
        self.reservation.free();
        Ok(batches)
    }

    /// Every group as one batch of `schema`: its key, then what `columns` makes of each
    /// accumulator. Frees the groups' memory.
    fn emit(
        &mut self,
        keys: &mut DenseKeys,
        schema: &SchemaRef,
        mut columns: impl FnMut(&mut Box<dyn GroupsAccumulator>) -> Result<Vec<ArrayRef>>,
    ) -> Result<RecordBatch> {
        let mut all: Vec<ArrayRef> = vec![Arc::new(keys.take_keys())];
        for accumulator in &mut self.accumulators {
            all.extend(columns(accumulator)?);
        }
        self.accumulators.clear();
        self.reservation.free();
        Ok(RecordBatch::try_new(Arc::clone(schema), all)?)
    }

    /// Feeds one input batch (raw rows or partial states) to every accumulator.
    fn aggregate_batch(
        &mut self,
        batch: &RecordBatch,
        keys: &mut DenseKeys,
        groups: &mut Vec<usize>,
    ) -> Result<()> {
        let rows = batch.num_rows();
        let key = self.key.evaluate(batch)?.into_array(rows)?;
        keys.intern(key.as_primitive::<Int64Type>(), groups)?;
        let total_groups = keys.len();
        let arguments = self.arguments.evaluate(batch)?;
        for ((accumulator, values), filter) in self
            .accumulators
            .iter_mut()
            .zip(arguments)
            .zip(&self.filters)
        {
            if self.merging {
                accumulator.merge_batch(&values, groups, total_groups)?;
            } else {
                let filter = filter
                    .as_ref()
                    .map(|f| f.evaluate(batch).and_then(|v| v.into_array(rows)))
                    .transpose()?;
                let filter = filter.as_ref().map(|f| f.as_boolean());
                accumulator.update_batch(&values, groups, filter, total_groups)?;
            }
        }
        Ok(())
    }
}

/// The most slices [`Aggregation::evaluate`] cuts the groups into when memory is short.
const MAX_SLICES: usize = 64;

/// Whether the groups of function `name` can be evaluated a slice at a time at no more than
/// the slice's share of the work: the functions that hold every value ([`HOLDING`]), whose
/// evaluation lays the values out by group (the memory slicing saves), and plain counters.
fn sliceable(name: &str) -> bool {
    HOLDING.contains(&name) || ["count", "sum", "min", "max", "avg"].contains(&name)
}

/// `batch` cut into batches of at most `batch_size` rows.
fn slices(batch: &RecordBatch, batch_size: usize) -> Vec<RecordBatch> {
    let rows = batch.num_rows();
    let size = batch_size.max(1);
    (0..rows)
        .step_by(size)
        .map(|start| batch.slice(start, size.min(rows - start)))
        .collect()
}
