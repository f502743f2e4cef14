//! What salesql changes in DataFusion's physical plans: [`DenseKeyAggregation`] runs
//! group-bys on one BIGINT key (opportunity and rep ids) without a hash table. It is on unless
//! `SET salesql.dense_aggregation = false` ([`SalesqlOptions`]).

mod dense_aggregate;
mod dense_keys;
mod replay;

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{Result, extensions_options};
use datafusion::config::{ConfigExtension, ConfigOptions};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::AggregateExec;

pub use dense_aggregate::DenseAggregateExec;
pub use dense_keys::DenseKeys;

extensions_options! {
    /// salesql's own settings, under `salesql.` (`SET salesql.dense_aggregation = false`).
    pub struct SalesqlOptions {
        /// Group-bys on one BIGINT key use a table indexed by the key instead of a hash table.
        pub dense_aggregation: bool, default = true
    }
}

impl ConfigExtension for SalesqlOptions {
    const PREFIX: &'static str = "salesql";
}

/// Replaces each final (or single-phase) `AggregateExec` grouped by one BIGINT expression
/// with a [`DenseAggregateExec`]. It runs after DataFusion's own rules, so the plan's shape
/// (partial aggregates, repartitioning) is DataFusion's.
#[derive(Debug, Default)]
pub struct DenseKeyAggregation;

impl PhysicalOptimizerRule for DenseKeyAggregation {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let enabled = config
            .extensions
            .get::<SalesqlOptions>()
            .is_none_or(|options| options.dense_aggregation);
        if !enabled {
            return Ok(plan);
        }
        plan.transform_up(|node| {
            let dense = node
                .downcast_ref::<AggregateExec>()
                .and_then(DenseAggregateExec::try_replace);
            Ok(match dense {
                Some(dense) => Transformed::yes(Arc::new(dense) as Arc<dyn ExecutionPlan>),
                None => Transformed::no(node),
            })
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
