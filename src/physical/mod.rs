//! What salesql changes in DataFusion's physical plans: [`DenseKeyAggregation`] runs
//! group-bys on one BIGINT key (opportunity and rep ids) without a hash table, runs any
//! group-by without a partial aggregation when one of its functions holds every value
//! (`window_funnel`, `max_concurrent`, `median`, `percentile_cont`), and counts distinct
//! BIGINT values per group without a hash set of pairs ([`DenseDistinctCount`]). It is on
//! unless `SET salesql.dense_aggregation = false` ([`SalesqlOptions`]). [`SpreadScans`] lets
//! every partition read a time-sorted table whose order the query does not use
//! (`SET salesql.spread_scans = false` turns it off).

mod dense_aggregate;
mod dense_keys;
mod distinct_count;
mod key_table;
mod replay;
mod spread_scans;
mod text_equalities;

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{Result, extensions_options};
use datafusion::config::{ConfigExtension, ConfigOptions};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::InputOrderMode;
use datafusion::physical_plan::Partitioning;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::repartition::RepartitionExec;

pub use dense_aggregate::DenseAggregateExec;
pub use dense_keys::DenseKeys;
pub use distinct_count::{DenseDistinctCount, DistinctCountAccumulator};
pub use spread_scans::SpreadScans;

extensions_options! {
    /// salesql's own settings, under `salesql.` (`SET salesql.dense_aggregation = false`).
    pub struct SalesqlOptions {
        /// Group-bys on one BIGINT key use a table indexed by the key instead of a hash table,
        /// and so do distinct counts of BIGINT values.
        pub dense_aggregation: bool, default = true
        /// Parquet scans whose order no operator uses are read by every partition at once,
        /// their files split across the partitions ([`SpreadScans`]).
        pub spread_scans: bool, default = true
    }
}

impl SalesqlOptions {
    /// The settings of the session planning with `config` (the defaults when it has none).
    fn of(config: &ConfigOptions) -> Self {
        config.extensions.get::<Self>().cloned().unwrap_or_default()
    }
}

impl ConfigExtension for SalesqlOptions {
    const PREFIX: &'static str = "salesql";
}

/// Replaces a final aggregation of partial ones where a function holds every value
/// ([`HOLDING`]) with one aggregation of the rows repartitioned on the key, each final (or
/// single-phase) `AggregateExec` grouped by one BIGINT expression with a
/// [`DenseAggregateExec`], and counts the distinct BIGINT values of any aggregation with a
/// [`DistinctCountAccumulator`]. It runs after DataFusion's own rules, so the plan's shape
/// (partial aggregates, repartitioning) is otherwise DataFusion's.
#[derive(Debug, Default)]
pub struct DenseKeyAggregation;

impl PhysicalOptimizerRule for DenseKeyAggregation {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !SalesqlOptions::of(config).dense_aggregation {
            return Ok(plan);
        }
        plan.transform_up(|node| {
            let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
                return Ok(Transformed::no(node));
            };
            let single = single_phase(aggregate);
            let counting =
                distinct_count::with_dense_distinct_counts(single.as_ref().unwrap_or(aggregate));
            let rewritten = counting.or(single);
            let aggregate = rewritten.as_ref().unwrap_or(aggregate);
            Ok(
                match (DenseAggregateExec::try_replace(aggregate), rewritten) {
                    (Some(dense), _) => Transformed::yes(Arc::new(dense) as Arc<dyn ExecutionPlan>),
                    (None, Some(rewritten)) => Transformed::yes(Arc::new(rewritten) as _),
                    (None, None) => Transformed::no(node),
                },
            )
        })
        .data()
    }

    fn name(&self) -> &str {
        "dense_key_aggregation"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Aggregate functions whose partial state holds every input value they keep
/// (`window_funnel`'s events, `max_concurrent`'s openings and closings, the values `median`
/// and `percentile_cont` select from), so that a partial aggregation only turns rows into
/// lists, which are then flattened, shuffled and copied again to be merged.
const HOLDING: &[&str] = &[
    "window_funnel",
    "max_concurrent",
    "median",
    "percentile_cont",
];

/// For a final aggregation of a hash repartitioning of a partial one where some function
/// holds its values ([`HOLDING`]): one single-phase aggregation of the input repartitioned on
/// the group key. Its other functions lose their partial reduction, but the holding ones skip
/// building, shuffling and merging lists; at scale 50, cycle_time (two medians and a
/// percentile over six groups) took 0.62 s the first way and 0.47 s this way. Grouping sets
/// are left alone (a grand total cannot be computed per key), as are aggregations that need
/// or use their input's order.
fn single_phase(aggregate: &AggregateExec) -> Option<AggregateExec> {
    if *aggregate.mode() != AggregateMode::FinalPartitioned {
        return None;
    }
    let shuffle = aggregate.input().downcast_ref::<RepartitionExec>()?;
    let Partitioning::Hash(_, partitions) = shuffle.partitioning() else {
        return None;
    };
    let partial = shuffle.input().downcast_ref::<AggregateExec>()?;
    let holding = partial
        .aggr_expr()
        .iter()
        .any(|a| !a.is_distinct() && HOLDING.contains(&a.fun().name()));
    // `first_value(x ORDER BY t)` over an input sorted on `t` reads rows as they come, which a
    // repartitioning would shuffle.
    let unordered = partial.aggr_expr().iter().all(|a| !uses_input_order(a));
    let plain = *partial.mode() == AggregateMode::Partial
        && partial.group_expr().is_single()
        && *partial.input_order_mode() == InputOrderMode::Linear
        && partial
            .required_input_ordering()
            .iter()
            .all(Option::is_none)
        && partial.limit_options().is_none();
    if shuffle.preserve_order() || !plain || !holding || !unordered {
        return None;
    }
    let keys = partial.group_expr().input_exprs();
    let rows = RepartitionExec::try_new(
        Arc::clone(partial.input()),
        Partitioning::Hash(keys, *partitions),
    )
    .ok()?;
    dense_aggregate::with_mode(partial, AggregateMode::SinglePartitioned, Arc::new(rows))
        .ok()
        .filter(|single| single.schema() == aggregate.schema())
}

/// Whether `aggregate` may use the order its rows arrive in without requiring it: its
/// `ORDER BY` is one that DataFusion satisfies from a sorted input when it can (soft or
/// beneficial, as in `first_value(x ORDER BY t)`), not one the function sorts by itself
/// (`percentile_cont … WITHIN GROUP`) or that the plan enforces.
pub(crate) fn uses_input_order(aggregate: &AggregateFunctionExpr) -> bool {
    matches!(
        aggregate.order_sensitivity(),
        AggregateOrderSensitivity::SoftRequirement | AggregateOrderSensitivity::Beneficial
    )
}
