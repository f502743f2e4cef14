//! Ballista's execution engine with tasks that report no per-operator metrics.
//!
//! Ballista 55's scheduler adds each task's operator metrics to its stage's and refuses a task
//! whose list is longer or shorter than the first one's ("task metrics array size … does not
//! equal …"). Tasks of one stage can differ: an operator with nothing to read may report no
//! metrics. The refusal drops the whole status update, so the scheduler never learns that
//! the task finished and the job never ends. Without operator metrics (which the scheduler
//! accepts, and uses only for display) every update goes through; the stage's own timings
//! and shuffle statistics are still reported.

use std::fmt;
use std::sync::Arc;

use ballista_core::JobId;
use ballista_core::serde::protobuf::{
    RuntimeStatsReport, ShuffleWritePartition, TaskColumnStats, WindowStateReport,
};
use ballista_executor::execution_engine::{
    DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor,
};
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::prelude::SessionConfig;

/// Ballista's default engine, wrapping each stage in [`WithoutOperatorMetrics`].
#[derive(Default)]
pub struct UniformMetricsEngine(DefaultExecutionEngine);

impl ExecutionEngine for UniformMetricsEngine {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        let stage = self.0.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(WithoutOperatorMetrics(stage)))
    }
}

/// A query stage that reports everything but its operators' metrics.
#[derive(Debug)]
pub struct WithoutOperatorMetrics(Arc<dyn QueryStageExecutor>);

impl fmt::Display for WithoutOperatorMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for WithoutOperatorMetrics {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ShuffleWritePartition>> {
        self.0.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        Vec::new()
    }

    fn collect_runtime_stats_reports(&self) -> Vec<RuntimeStatsReport> {
        self.0.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(&self) -> Result<Vec<WindowStateReport>> {
        self.0.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<TaskColumnStats> {
        self.0.collect_column_stats()
    }
}
