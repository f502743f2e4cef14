//! Criterion benchmarks of the sales aggregates on one million in-memory rows, grouped the way
//! they are used: `window_funnel` and `funnel` per opportunity-sized group (250,000 groups),
//! `win_rate` per account-sized group (100,000), `max_concurrent` and `open_series` per rep
//! (1,000 groups, 60 month-end instants); and the fiscal calendar's `fiscal_trunc` over the
//! same rows.
//!
//!     cargo bench --bench aggregates

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use datafusion::arrow::array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

const ROWS: usize = 1_000_000;
const BATCH: usize = 8192;
const FIVE_YEARS_MICROS: i64 = 5 * 365 * 86_400_000_000;
/// 2021-01-01 in microseconds.
const START: i64 = 1_609_459_200_000_000;

/// Rows with a group key of `groups` values, a time, a stage position, a status and a close.
fn table(groups: i64) -> Arc<MemTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new(
            "closed",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("position", DataType::Int32, false),
        Field::new("status", DataType::Utf8, false),
    ]));
    let mut rng = Pcg64Mcg::seed_from_u64(7);
    let mut batches = Vec::new();
    for _ in 0..ROWS / BATCH {
        let g: Vec<i64> = (0..BATCH).map(|_| rng.random_range(0..groups)).collect();
        let ts: Vec<i64> = (0..BATCH)
            .map(|_| START + rng.random_range(0..FIVE_YEARS_MICROS))
            .collect();
        let closed: Vec<Option<i64>> = ts
            .iter()
            .map(|t| {
                rng.random_bool(0.9)
                    .then(|| t + rng.random_range(0..90 * 86_400_000_000))
            })
            .collect();
        let position: Vec<i32> = (0..BATCH).map(|_| rng.random_range(1..7)).collect();
        let status: Vec<&str> = (0..BATCH)
            .map(|_| ["won", "lost", "lost", "open"][rng.random_range(0..4)])
            .collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(g)),
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
            Arc::new(TimestampMicrosecondArray::from(closed).with_timezone("UTC")),
            Arc::new(Int32Array::from(position)),
            Arc::new(StringArray::from(status)),
        ];
        batches.push(RecordBatch::try_new(Arc::clone(&schema), columns).expect("valid batch"));
    }
    let partitions: Vec<Vec<RecordBatch>> = batches
        .chunks(batches.len().div_ceil(2))
        .map(<[_]>::to_vec)
        .collect();
    Arc::new(MemTable::try_new(schema, partitions).expect("valid table"))
}

fn context(groups: i64) -> SessionContext {
    let mut context =
        SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
    salesql::functions::register_all(&mut context).expect("functions register");
    context
        .register_table("t", table(groups))
        .expect("table registers");
    context
}

fn bench(c: &mut Criterion, name: &str, context: &SessionContext, sql: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .build()
        .expect("a runtime");
    c.bench_function(name, |b| {
        b.iter(|| {
            runtime.block_on(async {
                let batches = context
                    .sql(sql)
                    .await
                    .expect("plans")
                    .collect()
                    .await
                    .expect("runs");
                batches.iter().map(RecordBatch::num_rows).sum::<usize>()
            })
        })
    });
}

fn aggregates(c: &mut Criterion) {
    let opportunities = context(250_000);
    bench(
        c,
        "window_funnel, 1M rows, 250k groups, 6 steps",
        &opportunities,
        "SELECT g, window_funnel(INTERVAL '90 days', ts, position = 1, position = 2, position = 3, position = 4, \
         position = 5, position = 6) FROM t GROUP BY g",
    );
    bench(
        c,
        "funnel, 1M rows, 250k groups",
        &opportunities,
        "SELECT g, funnel(position, 6) FROM t GROUP BY g",
    );
    let accounts = context(100_000);
    bench(
        c,
        "win_rate, 1M rows, 100k groups",
        &accounts,
        "SELECT g, win_rate(status) FROM t GROUP BY g",
    );
    let reps = context(1_000);
    bench(
        c,
        "max_concurrent, 1M rows, 1k groups",
        &reps,
        "SELECT g, max_concurrent(ts, closed) FROM t GROUP BY g",
    );
    bench(
        c,
        "open_series, 1M rows, 1k groups, 60 instants",
        &reps,
        "SELECT g, open_series(ts, closed, TIMESTAMP '2021-02-01T00:00:00', TIMESTAMP '2026-01-01T00:00:00', \
         INTERVAL '1 month') FROM t GROUP BY g",
    );
    bench(
        c,
        "fiscal_trunc, 1M rows over five years",
        &reps,
        "SELECT max(fiscal_trunc('quarter', ts, 7)) FROM t",
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = aggregates
}
criterion_main!(benches);
