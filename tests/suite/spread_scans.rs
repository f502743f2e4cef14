//! `salesql::physical::SpreadScans`: a table written sorted by time (and saying so in its
//! files) is read by every partition when a query over a late window does not use the order,
//! with the same answers; queries that use the order keep it.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::source::DataSourceExec;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_plan::{ExecutionPlan, collect, displayable};
use datafusion::prelude::SessionContext;
use salesql::{Session, SessionSettings};

use super::common::{empty_dir, sorted_rows};

const FILES: i64 = 4;
const ROWS_PER_FILE: i64 = 60_000;

/// Table `events` under `root`: `FILES` files of three row groups each, uncompressed (so each
/// is over a MiB and gets split), sorted by `ts` across files and declaring it.
fn write_events(root: &Path) {
    let dir = root.join("events");
    std::fs::create_dir_all(&dir).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("k", DataType::Int64, false),
        Field::new("v", DataType::Int64, false),
    ]));
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(ROWS_PER_FILE as usize / 3))
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: 0,
            descending: false,
            nulls_first: false,
        }]))
        .build();
    for file in 0..FILES {
        let rows = (file * ROWS_PER_FILE)..((file + 1) * ROWS_PER_FILE);
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(rows.clone().map(|r| r * 1_000))
                        .with_timezone("UTC"),
                ),
                Arc::new(Int64Array::from_iter_values(rows.clone().map(|r| r % 97))),
                Arc::new(Int64Array::from_iter_values(
                    rows.map(|r| r.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64) >> 20),
                )),
            ],
        )
        .unwrap();
        let path = dir.join(format!("part-{file:05}.parquet"));
        let mut writer = ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            Arc::clone(&schema),
            Some(properties.clone()),
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 1 << 20);
    }
}

/// A session over `root` with two partitions, salesql's physical rules on or off, and work
/// stealing between partitions on or off (off, each partition reads exactly its own files and
/// ranges).
async fn session(root: &Path, rules: bool, stealing: bool) -> Session {
    let session = Session::open(&SessionSettings {
        data: Some(root.display().to_string()),
        target_partitions: Some(2),
        ..SessionSettings::default()
    })
    .await
    .unwrap();
    for setting in [
        format!("SET datafusion.execution.enable_file_stream_work_stealing = {stealing}"),
        format!("SET salesql.spread_scans = {rules}"),
        format!("SET salesql.dense_aggregation = {rules}"),
    ] {
        session.context().sql(&setting).await.unwrap();
    }
    session
}

async fn physical_plan(context: &SessionContext, sql: &str) -> Arc<dyn ExecutionPlan> {
    let frame = context.sql(sql).await.unwrap();
    frame.create_physical_plan().await.unwrap()
}

/// The plan of `sql`, once it has run to completion (its metrics filled in).
async fn executed_plan(context: &SessionContext, sql: &str) -> Arc<dyn ExecutionPlan> {
    let plan = physical_plan(context, sql).await;
    collect(Arc::clone(&plan), context.task_ctx())
        .await
        .unwrap();
    plan
}

/// The plan's scan of `events`.
fn scan(plan: &Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
    fn find(plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
        if plan.downcast_ref::<DataSourceExec>().is_some() {
            return Some(Arc::clone(plan));
        }
        plan.children().into_iter().find_map(find)
    }
    find(plan).expect("a scan")
}

/// Rows each partition of `plan`'s scan produced, once it has run.
fn rows_per_partition(plan: &Arc<dyn ExecutionPlan>) -> Vec<usize> {
    let metrics = scan(plan).metrics().expect("scan metrics");
    let mut rows = vec![0; 2];
    for metric in metrics.iter() {
        if metric.value().name() == "output_rows"
            && let Some(partition) = metric.partition()
        {
            rows[partition] += metric.value().as_usize();
        }
    }
    rows
}

async fn answer(context: &SessionContext, sql: &str) -> Vec<String> {
    let batches = context.sql(sql).await.unwrap().collect().await.unwrap();
    sorted_rows(&batches)
}

/// In order, as returned.
async fn answer_in_order(context: &SessionContext, sql: &str) -> Vec<String> {
    let batches = context.sql(sql).await.unwrap().collect().await.unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap();
    text.to_string().lines().map(str::to_string).collect()
}

/// The last file's window, as SQL.
fn late() -> String {
    let start = (FILES - 1) * ROWS_PER_FILE * 1_000;
    format!("ts >= arrow_cast({start}, 'Timestamp(Microsecond, Some(\"UTC\"))')")
}

#[tokio::test]
async fn a_late_window_is_read_by_every_partition() {
    let root = empty_dir();
    write_events(root.path());
    let spread = session(root.path(), true, false).await;
    let kept = session(root.path(), false, false).await;
    let sql = format!(
        "SELECT k, count(*), sum(v), min(ts) FROM events WHERE {} GROUP BY k",
        late()
    );

    let plan = executed_plan(spread.context(), &sql).await;
    let shown = displayable(scan(&plan).as_ref()).one_line().to_string();
    assert!(!shown.contains("output_ordering"), "{shown}");
    let rows = rows_per_partition(&plan);
    assert!(
        rows.iter().all(|r| *r > 0),
        "every partition reads: {rows:?}"
    );
    assert_eq!(rows.iter().sum::<usize>(), ROWS_PER_FILE as usize);

    // As DataFusion plans it, one partition holds the last file.
    let plan = executed_plan(kept.context(), &sql).await;
    assert!(rows_per_partition(&plan).contains(&0));

    assert_eq!(
        answer(spread.context(), &sql).await,
        answer(kept.context(), &sql).await
    );
}

#[tokio::test]
async fn queries_that_use_the_order_keep_it() {
    let root = empty_dir();
    write_events(root.path());
    // With work stealing, a partition may read a later range before an earlier one.
    let spread = session(root.path(), true, true).await;
    let kept = session(root.path(), false, true).await;
    for sql in [
        format!(
            "SELECT ts, v FROM events WHERE {} ORDER BY ts LIMIT 7",
            late()
        ),
        format!("SELECT ts, v FROM events WHERE {} AND v % 5 = 0", late()),
        format!(
            "SELECT ts, v - lag(v) OVER (ORDER BY ts) AS change FROM events WHERE {} \
             ORDER BY ts LIMIT 20",
            late()
        ),
        // A partial aggregation reads `first_value(… ORDER BY ts)` as rows come when its
        // input is sorted on `ts` (and requires nothing); so does one with a median.
        "SELECT first_value(v ORDER BY ts), last_value(v > 0 ORDER BY ts) FROM events \
         WHERE ts >= arrow_cast(30000000, 'Timestamp(Microsecond, Some(\"UTC\"))')"
            .to_string(),
        "SELECT k % 3 AS g, median(v), first_value(v > 0 ORDER BY ts) FROM events \
         GROUP BY k % 3 ORDER BY g"
            .to_string(),
        // `UnnestExec` passes its input's order on to the sort above without saying so.
        "SELECT ts FROM (SELECT ts, unnest(make_array(1, 2)) AS u FROM events) \
         ORDER BY ts LIMIT 5 OFFSET 150000"
            .to_string(),
    ] {
        // The scan is DataFusion's, ordered, unsplit.
        let mut scans = Vec::new();
        for session in [&spread, &kept] {
            let plan = physical_plan(session.context(), &sql).await;
            let shown = displayable(scan(&plan).as_ref()).one_line().to_string();
            assert!(!shown.contains(".parquet:"), "{sql}\n{shown}");
            scans.push(shown);
        }
        assert_eq!(scans[0], scans[1], "{sql}");
        assert_eq!(
            answer_in_order(spread.context(), &sql).await,
            answer_in_order(kept.context(), &sql).await,
            "{sql}"
        );
    }
}
