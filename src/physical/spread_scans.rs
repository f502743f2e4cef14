//! [`SpreadScans`]: Parquet scans whose order nothing uses are read by every partition at once.
//!
//! `salesql generate` (and most exports) write each table sorted by time and declare it in the
//! files' `sorting_columns`, so DataFusion knows every scan's output order. To keep that order
//! it hands each partition a contiguous run of files and turns off its work stealing between
//! partitions. A query over a recent window (`occurred_at >= '2025-01-01'`) then finds all its
//! row groups in the last files, which one partition reads while the others idle: the scan of
//! rep_scorecard's year of activities ran on one core.
//!
//! Where no operator above the scan needs its order (every one up to the root is known to read
//! its input in any order, or passes the order on to one that does), this rule drops the
//! declared order and splits each file into one byte range per partition, dealt across the
//! partitions, so that any window of files is shared among them. DataFusion's work stealing
//! (on unless `datafusion.execution.enable_file_stream_work_stealing` is off), allowed again
//! once the order is dropped, evens out the rest.

use std::sync::Arc;

use datafusion::common::{HashMap, Result};
use datafusion::config::ConfigOptions;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::union::UnionExec;

use super::{DenseAggregateExec, SalesqlOptions, uses_input_order};

/// Files smaller than this are not split (one range would hold no row group).
const MIN_SPLIT_BYTES: u64 = 1 << 20;

/// Reads Parquet scans whose order nothing uses in any order, their files split across the
/// partitions (see the module documentation). On unless `SET salesql.spread_scans = false`.
#[derive(Debug, Default)]
pub struct SpreadScans;

impl PhysicalOptimizerRule for SpreadScans {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !SalesqlOptions::of(config).spread_scans {
            return Ok(plan);
        }
        // The root's order is the answer's: kept.
        Ok(spread(plan, true))
    }

    fn name(&self) -> &str {
        "spread_scans"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `plan` with its unordered scans spread; `order_needed` tells whether what consumes `plan`
/// relies on its output order.
fn spread(plan: Arc<dyn ExecutionPlan>, order_needed: bool) -> Arc<dyn ExecutionPlan> {
    if !order_needed && let Some(spread) = spread_scan(&plan) {
        return spread;
    }
    let children = plan.children();
    if children.is_empty() {
        return plan;
    }
    let mut changed = false;
    let new_children: Vec<Arc<dyn ExecutionPlan>> = children
        .into_iter()
        .enumerate()
        .map(|(index, child)| {
            let needed = child_order_needed(plan.as_ref(), index, order_needed);
            let new_child = spread(Arc::clone(child), needed);
            changed |= !Arc::ptr_eq(&new_child, child);
            new_child
        })
        .collect();
    if !changed {
        return plan;
    }
    // Should a node refuse its new children, it keeps its old ones (the order they had).
    let recompute = ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute);
    Arc::clone(&plan)
        .replace_children(new_children, recompute)
        .unwrap_or(plan)
}

/// Whether child `index` of `plan` must keep its order, given whether `plan`'s own order is
/// `needed`: when `plan` requires it, when `plan` passes it on to a consumer that needs it,
/// and for any operator not known to read its input in any order. (`UnnestExec` passes its
/// input's order on without saying so; a partial aggregation's `first_value(x ORDER BY t)`
/// reads rows as they come when its input was sorted on `t`, and requires nothing.)
fn child_order_needed(plan: &dyn ExecutionPlan, index: usize, needed: bool) -> bool {
    let required = plan
        .required_input_ordering()
        .get(index)
        .is_none_or(Option::is_some);
    let passed_on = needed
        && plan
            .maintains_input_order()
            .get(index)
            .is_none_or(|kept| *kept);
    if required || passed_on {
        return true;
    }
    if let Some(aggregate) = plan.downcast_ref::<AggregateExec>() {
        return aggregate.aggr_expr().iter().any(|a| uses_input_order(a));
    }
    let any_order = plan.is::<FilterExec>()
        || plan.is::<ProjectionExec>()
        || plan.is::<RepartitionExec>()
        || plan.is::<CoalescePartitionsExec>()
        || plan.is::<UnionExec>()
        || plan.is::<HashJoinExec>()
        || plan.is::<SortExec>()
        || plan.is::<DenseAggregateExec>();
    !any_order
}

/// The scan `plan` without its declared order, its files split across its partitions; `None`
/// when `plan` is not a Parquet scan over several partitions that keeps an order or its files
/// are not read whole.
fn spread_scan(plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
    let scan = plan.downcast_ref::<DataSourceExec>()?;
    let (config, _) = scan.downcast_to_file_source::<ParquetSource>()?;
    let partitions = config.file_groups.len();
    // Only a declared order is dropped: DataFusion also keeps files in order, undeclared, for
    // a sort's early stop (`ORDER BY … LIMIT` over files sorted by their statistics).
    let declared = config.preserve_order && !config.output_ordering.is_empty();
    if partitions < 2 || !declared || config.output_partitioning.is_some() {
        return None;
    }
    let files = whole_files(&config.file_groups)?;
    let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); partitions];
    let mut next = 0;
    for file in files {
        for piece in split(file, partitions) {
            groups[next % partitions].push(piece);
            next += 1;
        }
    }
    let mut spread: FileScanConfig = config.clone();
    spread.file_groups = groups.into_iter().map(FileGroup::new).collect();
    spread.output_ordering.clear();
    spread.preserve_order = false;
    Some(Arc::new(scan.clone().with_data_source(Arc::new(spread))))
}

/// Every file of `groups` once, whole, in order of first appearance; `None` unless the ranges
/// of each file add up to its size (DataFusion's ranges of a file never overlap, so they then
/// cover it exactly once).
fn whole_files(groups: &[FileGroup]) -> Option<Vec<PartitionedFile>> {
    let mut files: Vec<(PartitionedFile, u64)> = Vec::new();
    let mut index = HashMap::new();
    for file in groups.iter().flat_map(FileGroup::iter) {
        let at = *index.entry(file.path().clone()).or_insert_with(|| {
            files.push((file.clone(), 0));
            files.len() - 1
        });
        files[at].1 += file.effective_size();
    }
    files
        .into_iter()
        .map(|(mut file, covered)| {
            file.range = None;
            (covered == file.object_meta.size).then_some(file)
        })
        .collect()
}

/// `file` as `pieces` byte ranges of equal length (whole when it is small).
fn split(file: PartitionedFile, pieces: usize) -> Vec<PartitionedFile> {
    let size = file.object_meta.size;
    if size < MIN_SPLIT_BYTES {
        return vec![file];
    }
    let pieces = pieces as u64;
    let bound = |piece: u64| (u128::from(size) * u128::from(piece) / u128::from(pieces)) as i64;
    (0..pieces)
        .map(|piece| file.clone().with_range(bound(piece), bound(piece + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use datafusion::datasource::listing::PartitionedFile;

    use super::*;

    fn file(name: &str, size: u64) -> PartitionedFile {
        PartitionedFile::new(name.to_string(), size)
    }

    #[test]
    fn ranges_of_a_file_are_merged_back_and_split_evenly() {
        let groups = vec![
            FileGroup::new(vec![
                file("a", 10 << 20),
                file("b", 3 << 20).with_range(0, 1 << 20),
            ]),
            FileGroup::new(vec![
                file("b", 3 << 20).with_range(1 << 20, 3 << 20),
                file("c", 10),
            ]),
        ];
        let files = whole_files(&groups).expect("each file is covered once");
        let names: Vec<_> = files.iter().map(|f| f.path().to_string()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(files.iter().all(|f| f.range.is_none()));

        let pieces: Vec<_> = split(files[1].clone(), 3)
            .iter()
            .map(|f| f.range())
            .collect();
        assert_eq!(
            pieces,
            [(0, 1 << 20), (1 << 20, 2 << 20), (2 << 20, 3 << 20)]
        );
        assert_eq!(
            split(files[2].clone(), 3).len(),
            1,
            "small files stay whole"
        );
    }

    #[test]
    fn files_read_in_part_are_left_alone() {
        let groups = vec![FileGroup::new(vec![
            file("a", 10 << 20).with_range(0, 5 << 20),
        ])];
        assert!(whole_files(&groups).is_none());
    }
}
