//! Property tests of the dense-key aggregation (`salesql::physical`): on random rows (dense,
//! sparse, extreme and NULL keys; NULL values) split into random partitions and batches, every
//! group-by answers the same through `DenseAggregateExec` as through DataFusion's hash
//! aggregation, and the dense plan is the one that ran.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, RecordBatch, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use proptest::prelude::*;

use super::common::{register_table_t, rows_of_partition, sorted_rows};
use datafusion::physical_plan::aggregates::AggregateExec;
use salesql::physical::{DenseDistinctCount, DenseKeyAggregation};

/// One random row: group key, value, flag, time (seconds).
type Row = (Option<i64>, Option<i64>, Option<bool>, i64);

/// One random table and how it is stored and read.
#[derive(Debug, Clone)]
struct Case {
    rows: Vec<Row>,
    partition_of_row: Vec<usize>,
    partitions: usize,
    rows_per_batch: usize,
    target_partitions: usize,
}

fn key() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        8 => (0i64..40).prop_map(Some),
        1 => prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()].prop_map(Some),
        1 => Just(None),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..4, 1usize..4, 1usize..9).prop_flat_map(
        |(partitions, target_partitions, rows_per_batch)| {
            let row = (
                key(),
                proptest::option::weighted(0.9, -3i64..10),
                proptest::option::weighted(0.9, any::<bool>()),
                0i64..30,
            );
            proptest::collection::vec((row, 0..partitions), 0..120).prop_map(move |rows| Case {
                partition_of_row: rows.iter().map(|(_, p)| *p).collect(),
                rows: rows.into_iter().map(|(r, _)| r).collect(),
                partitions,
                rows_per_batch,
                target_partitions,
            })
        },
    )
}

/// A session over the case's rows as table `t`, with or without the dense-key rule.
fn session(case: &Case, dense: bool) -> SessionContext {
    session_with_memory(case, dense, None)
}

/// [`session`] whose queries may use at most `memory_limit` bytes.
fn session_with_memory(case: &Case, dense: bool, memory_limit: Option<usize>) -> SessionContext {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, true),
        Field::new("v", DataType::Int64, true),
        Field::new("f", DataType::Boolean, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]));
    let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); case.partitions];
    for (partition, batches) in partitions.iter_mut().enumerate() {
        let rows = rows_of_partition(&case.rows, &case.partition_of_row, partition);
        for chunk in rows.chunks(case.rows_per_batch) {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from_iter(chunk.iter().map(|r| r.0))),
                Arc::new(Int64Array::from_iter(chunk.iter().map(|r| r.1))),
                Arc::new(chunk.iter().map(|r| r.2).collect::<BooleanArray>()),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        chunk.iter().map(|r| r.3 * 1_000_000),
                    )
                    .with_timezone("UTC"),
                ),
            ];
            batches.push(RecordBatch::try_new(Arc::clone(&schema), columns).unwrap());
        }
    }
    let config = SessionConfig::new()
        .with_target_partitions(case.target_partitions)
        .with_batch_size(case.rows_per_batch.max(2));
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(limit) = memory_limit {
        runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(limit)));
    }
    let mut builder = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime.build_arc().unwrap())
        .with_default_features();
    if dense {
        builder = builder.with_physical_optimizer_rule(Arc::new(DenseKeyAggregation));
    }
    let mut state = builder.build();
    salesql::functions::register_all(&mut state).unwrap();
    let context = SessionContext::new_with_state(state);
    register_table_t(&context, schema, partitions);
    context
}

/// The rows of `sql`'s answer as text, sorted.
async fn answer(context: &SessionContext, sql: &str) -> Vec<String> {
    sorted_rows(&context.sql(sql).await.unwrap().collect().await.unwrap())
}

/// The physical plan of `sql`, as text.
async fn plan(context: &SessionContext, sql: &str) -> String {
    answer(context, &format!("EXPLAIN {sql}")).await.join("\n")
}

const QUERIES: &[&str] = &[
    "SELECT k, count(*), count(v), sum(v), min(v), max(v), avg(v), count(DISTINCT v), \
     count(*) FILTER (WHERE f), sum(v) FILTER (WHERE v > 2), bool_or(f) FROM t GROUP BY k",
    "SELECT k, window_funnel(INTERVAL '10 seconds', ts, v >= 0, v > 3, f) AS level, \
     max_concurrent(ts, ts + INTERVAL '5 seconds') AS peak FROM t GROUP BY k",
    "SELECT k % 7 AS bucket, sum(v), count(*) FROM t WHERE v <> 1 GROUP BY k % 7 HAVING count(*) > 1",
    "SELECT level, count(*) FROM (SELECT k, max(v) AS level FROM t GROUP BY k) GROUP BY level",
    FUNNEL,
    TEXT_FUNNEL,
    DISTINCT_COUNTS,
    "SELECT f, count(DISTINCT k), count(DISTINCT k + v) FILTER (WHERE v > 2) FROM t GROUP BY f",
    HOLDING,
    "SELECT k, median(v) FILTER (WHERE f), percentile_cont(0.9) WITHIN GROUP (ORDER BY v + k), \
     avg(v), count(DISTINCT v) FROM t GROUP BY k",
    "SELECT f, median(v), count(*) FROM t GROUP BY ROLLUP (f)",
    "SELECT median(v), percentile_cont(0.5) WITHIN GROUP (ORDER BY v DESC) FROM t",
    "SELECT f, median(DISTINCT v), count(*) FROM t GROUP BY f",
];

/// A group-by on a key that is not BIGINT with functions that hold every value (`median`,
/// `percentile_cont`) next to ones that reduce them: planned as one aggregation of the rows
/// repartitioned on the key.
const HOLDING: &str = "SELECT f, median(v), percentile_cont(0.25) WITHIN GROUP (ORDER BY v), \
     count(*), count(DISTINCT k), sum(v) FILTER (WHERE v > 2) FROM t GROUP BY f";

/// Funnel conditions testing one text column against constants, inline (12 bytes or fewer)
/// and not, with NULLs: evaluated together by the dense aggregation.
const TEXT_FUNNEL: &str = "SELECT k, window_funnel(INTERVAL '10 seconds', ts, \
     stage = 'new', stage = 'qualification', stage = 'qualificatiom', stage = 'won') AS level \
     FROM (SELECT k, ts, arrow_cast(CASE WHEN v < 0 THEN 'new' WHEN v < 4 THEN 'qualification' \
     WHEN v < 7 THEN 'qualificatiom' WHEN v < 9 THEN 'won' END, 'Utf8View') AS stage FROM t) \
     GROUP BY k";

/// Distinct counts of BIGINT values, most of them seen by several groups.
const DISTINCT_COUNTS: &str =
    "SELECT v, count(DISTINCT k), count(DISTINCT k) FILTER (WHERE f), count(*) FROM t GROUP BY v";

/// A group-by whose only function collects its rows: planned as one aggregation of the rows
/// repartitioned on the key (no partial aggregation) when the plan has several partitions.
const FUNNEL: &str = "SELECT k, window_funnel(INTERVAL '10 seconds', ts, v >= 0, v > 3, f) AS level \
                      FROM t GROUP BY k";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn dense_aggregation_answers_as_hash_aggregation(case in case()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let dense = session(&case, true);
            let hashed = session(&case, false);
            for sql in QUERIES {
                prop_assert_eq!(answer(&dense, sql).await, answer(&hashed, sql).await, "{}", sql);
            }
            // The aggregation producing final values is dense, whatever the plan's shape.
            let first = plan(&dense, QUERIES[0]).await;
            let hashed_final = first
                .lines()
                .map(|line| line.trim_start_matches("physical_plan|").trim_start())
                .any(|line| line.starts_with("AggregateExec: mode=Final") || line.starts_with("AggregateExec: mode=Single"));
            prop_assert!(!hashed_final, "{}", first);
            prop_assert!(first.contains("DenseAggregateExec"), "{}", first);
            prop_assert!(!plan(&hashed, QUERIES[0]).await.contains("DenseAggregateExec"));
            Ok(())
        })?;
    }
}

/// A key that is not BIGINT, or grouping sets, keep DataFusion's aggregation.
#[tokio::test]
async fn other_group_bys_keep_the_hash_aggregation() {
    let case = Case {
        rows: vec![(Some(1), Some(2), Some(true), 0)],
        partition_of_row: vec![0],
        partitions: 1,
        rows_per_batch: 4,
        target_partitions: 2,
    };
    let dense = session(&case, true);
    for sql in [
        "SELECT f, count(*) FROM t GROUP BY f",
        "SELECT k, v, count(*) FROM t GROUP BY k, v",
        "SELECT k, count(*) FROM t GROUP BY ROLLUP (k)",
        "SELECT k, array_agg(v ORDER BY ts) FROM t GROUP BY k",
    ] {
        let plan = plan(&dense, sql).await;
        assert!(!plan.contains("DenseAggregateExec"), "{sql}\n{plan}");
    }
}

/// When the memory pool refuses what the groups need, the dense aggregation hands its groups
/// and the rest of its input to DataFusion's aggregation, which spills: same answer.
#[tokio::test]
async fn out_of_memory_falls_back_to_the_spilling_hash_aggregation() {
    let rows = 200_000;
    // Two partitions: a final aggregation of partial states; one: a single-phase one.
    // Grouping the output of a join on the key: a single-phase aggregation of partitions.
    let joined = "SELECT a.k, count(*), sum(a.v), max(a.v) FILTER (WHERE a.f) FROM t a \
                  JOIN (SELECT DISTINCT k FROM t) b ON a.k = b.k GROUP BY a.k";
    let grouped = "SELECT k, count(*), sum(v), max(v) FILTER (WHERE f) FROM t GROUP BY k";
    for (partitions, sql, mode) in [
        (2, grouped, "mode=FinalPartitioned"),
        (1, grouped, "mode=Single"),
        (2, joined, "mode=SinglePartitioned"),
    ] {
        let case = Case {
            rows: (0..rows)
                .map(|i| (Some(i % 150_000), Some(i % 7), Some(i % 3 == 0), i % 30))
                .collect(),
            partition_of_row: (0..rows).map(|i| (i % partitions) as usize).collect(),
            partitions: partitions as usize,
            rows_per_batch: 8192,
            target_partitions: partitions as usize,
        };
        let limited = session_with_memory(&case, true, Some(6 << 20));
        let expected = answer(&session(&case, false), sql).await;
        assert_eq!(expected.len(), 150_000);
        assert_eq!(answer(&limited, sql).await, expected, "{mode}");
        let dense = analyzed_line(&limited, sql, &format!("DenseAggregateExec: {mode}")).await;
        assert!(dense.contains("hash_fallbacks="), "{dense}");
        assert!(!dense.contains("hash_fallbacks=0"), "{dense}");
        assert!(dense.contains("output_rows=150.0 K"), "{dense}");
    }
}

/// `count(DISTINCT)` of BIGINT values runs salesql's accumulator in the dense plans only, and
/// under a memory pool too small for its groups, the partial aggregation hands groups out early
/// (DataFusion's emission of the first groups) with the same answer.
#[tokio::test]
async fn distinct_counts_of_bigints_use_the_first_group_table() {
    let rows = 200_000;
    let case = Case {
        rows: (0..rows)
            .map(|i| (Some(i % 150_000), Some(i % 7), Some(i % 3 == 0), 0))
            .collect(),
        partition_of_row: (0..rows).map(|i| (i % 2) as usize).collect(),
        partitions: 2,
        rows_per_batch: 8192,
        target_partitions: 2,
    };
    let counting = |context: SessionContext| async move {
        let plan = context
            .sql(DISTINCT_COUNTS)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let mut dense_counts = 0;
        let mut nodes = vec![plan];
        while let Some(node) = nodes.pop() {
            if let Some(aggregate) = node.downcast_ref::<AggregateExec>() {
                dense_counts += aggregate
                    .aggr_expr()
                    .iter()
                    .filter(|f| {
                        f.fun()
                            .inner()
                            .downcast_ref::<DenseDistinctCount>()
                            .is_some()
                    })
                    .count();
            }
            nodes.extend(node.children().into_iter().cloned());
        }
        dense_counts
    };
    assert_eq!(
        counting(session(&case, true)).await,
        2,
        "the partial aggregation's two"
    );
    assert_eq!(counting(session(&case, false)).await, 0);

    let sql =
        "SELECT k % 50000 AS g, count(DISTINCT v), count(DISTINCT k) FROM t GROUP BY k % 50000";
    let expected = answer(&session(&case, false), sql).await;
    assert_eq!(expected.len(), 50_000);
    assert_eq!(answer(&session(&case, true), sql).await, expected);
    let limited = session_with_memory(&case, true, Some(6 << 20));
    assert_eq!(answer(&limited, sql).await, expected);

    // 150 K groups under a 6 MiB pool: the final aggregation falls back to DataFusion's
    // (which may spill and merge sorted runs back, handing groups out after every batch).
    let sql = "SELECT k, count(DISTINCT v), count(DISTINCT k * 1000) FROM t GROUP BY k";
    let expected = answer(&session(&case, false), sql).await;
    assert_eq!(expected.len(), 150_000);
    let analyzed = answer(&limited, &format!("EXPLAIN ANALYZE {sql}"))
        .await
        .join("\n");
    assert!(analyzed.contains("hash_fallbacks="), "{analyzed}");
    assert!(!analyzed.contains("hash_fallbacks=0"), "{analyzed}");
    assert_eq!(answer(&limited, sql).await, expected);
}

/// salesql sessions plan group-bys by opportunity densely, unless told not to.
#[tokio::test]
async fn sessions_aggregate_densely_unless_set_off() {
    let session = salesql::Session::open(&salesql::SessionSettings::default())
        .await
        .unwrap();
    let context = session.context();
    let sql = "SELECT opportunity_id, count(*) FROM stage_history GROUP BY opportunity_id";
    assert!(plan(context, sql).await.contains("DenseAggregateExec"));
    let on = answer(context, sql).await;
    context
        .sql("SET salesql.dense_aggregation = false")
        .await
        .unwrap();
    assert!(!plan(context, sql).await.contains("DenseAggregateExec"));
    assert_eq!(answer(context, sql).await, on);
    assert!(on.len() > 100, "the sample has opportunities");
}

/// Under a memory limit, the dense aggregation counts as a spiller (as DataFusion's do), so it
/// does not starve another aggregation of the same pipeline: here `array_agg(DISTINCT v)`
/// plans a group-by on (k, v) under the final aggregation on k.
#[tokio::test]
async fn a_dense_aggregation_leaves_other_operators_their_share_of_memory() {
    let rows = 120_000;
    let case = Case {
        rows: (0..rows)
            .map(|i| (Some(i % 40_000), Some(i % 3), Some(true), 0))
            .collect(),
        partition_of_row: (0..rows).map(|i| (i % 2) as usize).collect(),
        partitions: 2,
        rows_per_batch: 8192,
        target_partitions: 2,
    };
    let sql = "SELECT k, sum(v), array_length(array_agg(DISTINCT v)) FROM t GROUP BY k";
    let expected = answer(&session(&case, false), sql).await;
    assert_eq!(expected.len(), 40_000);
    // Wherever DataFusion's aggregation completes under a pool, the dense one does too.
    let mut completed = 0;
    for limit in [3 << 20, 4 << 20, 6 << 20] {
        let mut outcomes = Vec::new();
        for dense in [false, true] {
            let limited = session_with_memory(&case, dense, Some(limit));
            answer(
                &limited,
                "SET datafusion.optimizer.repartition_aggregations = false",
            )
            .await;
            if dense {
                assert!(plan(&limited, sql).await.contains("DenseAggregateExec"));
            }
            outcomes.push(limited.sql(sql).await.unwrap().collect().await.is_ok());
        }
        if outcomes[0] {
            completed += 1;
            assert!(
                outcomes[1],
                "the dense aggregation failed under a pool of {limit} bytes"
            );
            let limited = session_with_memory(&case, true, Some(limit));
            answer(
                &limited,
                "SET datafusion.optimizer.repartition_aggregations = false",
            )
            .await;
            assert_eq!(
                answer(&limited, sql).await,
                expected,
                "pool of {limit} bytes"
            );
        }
    }
    assert!(
        completed >= 2,
        "the pools are large enough for DataFusion's aggregation"
    );
}

/// `window_funnel` keeps every event in its partial state (as `median` keeps every value), so
/// its group-by skips the partial aggregation: rows are repartitioned on the key and
/// aggregated once, with the same answer.
#[tokio::test]
async fn holding_group_bys_aggregate_once_after_repartitioning_rows() {
    let rows = 5_000;
    let case = Case {
        rows: (0..rows)
            .map(|i| (Some(i % 700), Some(i % 5), Some(i % 4 == 0), i % 30))
            .collect(),
        partition_of_row: (0..rows).map(|i| (i % 3) as usize).collect(),
        partitions: 3,
        rows_per_batch: 512,
        target_partitions: 2,
    };
    let dense = session(&case, true);
    let funnel = plan(&dense, FUNNEL).await;
    assert!(
        funnel.contains("DenseAggregateExec: mode=SinglePartitioned"),
        "{funnel}"
    );
    assert!(!funnel.contains("mode=Partial"), "{funnel}");
    assert_eq!(
        answer(&dense, FUNNEL).await,
        answer(&session(&case, false), FUNNEL).await
    );
    // So are group-bys on other keys where a function holds every value, but not grouping
    // sets, whose grand total spans every key.
    let holding = plan(&dense, HOLDING).await;
    assert!(
        holding.contains("AggregateExec: mode=SinglePartitioned"),
        "{holding}"
    );
    assert!(!holding.contains("mode=Partial"), "{holding}");
    let rollup = "SELECT f, median(v) FROM t GROUP BY ROLLUP (f)";
    assert!(plan(&dense, rollup).await.contains("mode=Partial"));
    for sql in [HOLDING, rollup] {
        assert_eq!(
            answer(&dense, sql).await,
            answer(&session(&case, false), sql).await
        );
    }
}

/// When the pool grants the groups but not as much again to evaluate them (`window_funnel`
/// lays its events out by group in a second store), the dense aggregation evaluates its groups
/// in slices instead of taking memory it was not granted: same answer, no fallback.
#[tokio::test]
async fn groups_are_evaluated_in_slices_when_the_pool_grants_too_little_to_do_it_at_once() {
    // 20 rows for each of 20 000 keys, whose values and times differ from key to key, so that
    // keys and results shifted by a slice would not go unnoticed.
    let rows = 400_000;
    let case = Case {
        rows: (0..rows)
            .map(|i| {
                let (k, j) = (i % 20_000, i / 20_000);
                (
                    Some(k),
                    Some((j + k * k) % 7),
                    Some(i % 3 == 0),
                    (j * 13 + k) % 97,
                )
            })
            .collect(),
        partition_of_row: vec![0; rows as usize],
        partitions: 1,
        rows_per_batch: 8192,
        target_partitions: 1,
    };
    let sql = "SELECT k, window_funnel(INTERVAL '30 seconds', ts, v = 1, v = 2, v = 3) AS level, \
               sum(v) FROM t GROUP BY k";
    let expected = answer(&session(&case, false), sql).await;
    assert_eq!(expected.len(), 20_000);
    let levels: std::collections::BTreeSet<&str> = expected
        .iter()
        .map(|row| row.split('|').nth(1).unwrap())
        .collect();
    assert!(levels.len() >= 3, "{levels:?}");
    let mut sliced = Vec::new();
    for limit_mib in [5, 6, 7, 10, 64] {
        let limited = session_with_memory(&case, true, Some(limit_mib << 20));
        assert_eq!(answer(&limited, sql).await, expected, "{limit_mib} MiB");
        let dense = analyzed_line(&limited, sql, "DenseAggregateExec").await;
        let (slices, fallbacks) = (
            counter(&dense, "emission_slices"),
            counter(&dense, "hash_fallbacks"),
        );
        if fallbacks == 0 && slices > 1 {
            sliced.push(limit_mib);
        }
        if limit_mib == 64 {
            assert_eq!((slices, fallbacks), (1, 0), "{dense}");
        }
    }
    assert!(!sliced.is_empty(), "no limit made the emission sliced");

    // A distinct count would rebuild what stays of its table for every slice: evaluated at once.
    let distinct = sql.replace("sum(v)", "count(DISTINCT v)");
    let expected = answer(&session(&case, false), &distinct).await;
    for limit_mib in [5, 6, 7, 8, 10, 12] {
        let limited = session_with_memory(&case, true, Some(limit_mib << 20));
        assert_eq!(
            answer(&limited, &distinct).await,
            expected,
            "{limit_mib} MiB"
        );
        let dense = analyzed_line(&limited, &distinct, "DenseAggregateExec").await;
        assert!(
            counter(&dense, "emission_slices") <= 1,
            "{limit_mib} MiB: {dense}"
        );
    }
}

/// The line of `sql`'s `EXPLAIN ANALYZE` that contains `marker` (an operator and its metrics).
async fn analyzed_line(context: &SessionContext, sql: &str, marker: &str) -> String {
    let analyzed = answer(context, &format!("EXPLAIN ANALYZE {sql}"))
        .await
        .join("\n");
    analyzed
        .lines()
        .find(|line| line.contains(marker))
        .unwrap_or_else(|| panic!("no {marker} in {analyzed}"))
        .to_string()
}

/// The value of the counter `name` in one plan line of `EXPLAIN ANALYZE`.
fn counter(line: &str, name: &str) -> usize {
    let at = line
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name}: {line}"));
    let digits: String = line[at + name.len() + 1..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or_else(|_| panic!("{name}: {line}"))
}
