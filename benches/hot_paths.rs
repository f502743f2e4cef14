//! The paths every command takes, whatever its SQL: opening a data root (listing, schema
//! inference, table registration), scanning Parquet (all row groups, and pruned to one month),
//! and writing results in each output format.
//!
//!     cargo bench --bench hot_paths                       # scale 1, generated on first use
//!     SALESQL_BENCH_SCALE=10 cargo bench --bench hot_paths

mod common;

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use datafusion::arrow::array::RecordBatch;
use salesql::output::{Format, OutputOptions, TableOptions, batch_writer};
use salesql::session::{Session, SessionSettings};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn settings() -> SessionSettings {
    SessionSettings {
        data: Some(common::data_root(1.0).display().to_string()),
        ..SessionSettings::default()
    }
}

async fn collect(session: &Session, sql: &str) -> Vec<RecordBatch> {
    let frame = session.context().sql(sql).await.expect("plans");
    frame.collect().await.expect("runs")
}

fn open_data_root(c: &mut Criterion) {
    let runtime = runtime();
    let settings = settings();
    let mut group = c.benchmark_group("open data root");
    group.sample_size(20);
    group.bench_function("list, infer schemas, register six tables", |b| {
        b.iter(|| runtime.block_on(Session::open(&settings)).expect("opens"))
    });
    group.finish();
}

fn parquet_scan(c: &mut Criterion) {
    let runtime = runtime();
    let session = runtime.block_on(Session::open(&settings())).expect("opens");
    let scans = [
        ("one column", "SELECT count(account_id) FROM activities"),
        (
            "three columns",
            "SELECT count(account_id), max(occurred_at), count(DISTINCT rep_id) FROM activities",
        ),
        (
            "one month (row-group pruning)",
            "SELECT count(*) FROM activities \
             WHERE occurred_at >= TIMESTAMP '2024-03-01T00:00:00Z' \
             AND occurred_at < TIMESTAMP '2024-04-01T00:00:00Z'",
        ),
        ("whole rows", "SELECT * FROM activities"),
    ];
    let mut group = c.benchmark_group("parquet scan of activities");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (name, sql) in scans {
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(collect(&session, sql)))
        });
    }
    group.finish();
}

fn output_writers(c: &mut Criterion) {
    let runtime = runtime();
    let session = runtime.block_on(Session::open(&settings())).expect("opens");
    let batches = runtime.block_on(collect(
        &session,
        "SELECT * FROM activities ORDER BY activity_id LIMIT 200000",
    ));
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let schema = batches[0].schema();
    let formats = [
        Format::Table,
        Format::Csv,
        Format::Tsv,
        Format::Json,
        Format::Ndjson,
        Format::Markdown,
        Format::Arrow,
        Format::Parquet,
    ];
    let mut group = c.benchmark_group("output writers");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(rows as u64));
    for format in formats {
        let options = OutputOptions {
            format,
            table: TableOptions::default(),
        };
        group.bench_with_input(
            BenchmarkId::new(format.name(), rows),
            &batches,
            |b, batches| {
                b.iter(|| {
                    let mut out = std::io::sink();
                    let mut writer =
                        batch_writer(options, &mut out, Arc::clone(&schema)).expect("a writer");
                    for batch in batches {
                        writer.write(batch).expect("writes");
                    }
                    writer.finish().expect("finishes")
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, open_data_root, parquet_scan, output_writers);
criterion_main!(benches);
