//! The saved queries, written with the sales functions (`queries/`), against the same
//! questions in plain SQL (`benches/plain_sql/`), on generated data — plus the stage funnel per
//! opportunity (`benches/stage_funnel/`): `window_funnel` against self-joins. Each pair is
//! first checked to give the same rows, then timed.
//!
//!     cargo bench --bench saved_queries                   # scale 10, generated on first use
//!     SALESQL_BENCH_SCALE=1 cargo bench --bench saved_queries
//!     SALESQL_BENCH_DATA=/data/crm cargo bench --bench saved_queries
//!
//! Generated data goes to `$CARGO_TARGET_DIR/bench-data/scale-S-v2` (never committed; see
//! `salesql::parquet_layout::LAYOUT_VERSION`).

use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::common::ParamValues;
use salesql::queries::param::bind;
use salesql::queries::{QueryOrigin, SavedQuery};
use salesql::session::{Session, SessionSettings};

/// A query file with its default parameters.
struct Prepared {
    sql: String,
    params: ParamValues,
}

fn prepare(path: &Path) -> Prepared {
    let text = std::fs::read_to_string(path).expect("the query file reads");
    let query = SavedQuery::parse("bench", QueryOrigin::File(path.to_path_buf()), text)
        .expect("the header parses");
    let params = bind(query.params(), &[]).expect("the defaults bind");
    Prepared {
        sql: query.sql,
        params,
    }
}

async fn run(session: &Session, query: &Prepared) -> Vec<RecordBatch> {
    let frame = session.context().sql(&query.sql).await.expect("plans");
    let frame = frame
        .with_param_values(query.params.clone())
        .expect("binds");
    frame.collect().await.expect("runs")
}

fn saved_queries(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let root = common::data_root(10.0);
    let settings = SessionSettings {
        data: Some(root.display().to_string()),
        ..SessionSettings::default()
    };
    let session = runtime
        .block_on(Session::open(&settings))
        .expect("the session opens");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pairs: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    let mut plain: Vec<PathBuf> = std::fs::read_dir(manifest.join("benches/plain_sql"))
        .expect("benches/plain_sql")
        .flatten()
        .map(|e| e.path())
        .collect();
    plain.sort();
    for path in plain {
        let name = path
            .file_stem()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        pairs.push((
            name.clone(),
            manifest.join(format!("queries/{name}.sql")),
            path,
        ));
    }
    pairs.push((
        "stage_funnel".into(),
        manifest.join("benches/stage_funnel/functions.sql"),
        manifest.join("benches/stage_funnel/plain.sql"),
    ));

    let mut group = c.benchmark_group("saved queries");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (name, with_functions, in_plain_sql) in &pairs {
        let (functions, plain) = (prepare(with_functions), prepare(in_plain_sql));
        let expected = pretty_format_batches(&runtime.block_on(run(&session, &plain)))
            .expect("formats")
            .to_string();
        let actual = pretty_format_batches(&runtime.block_on(run(&session, &functions)))
            .expect("formats")
            .to_string();
        assert_eq!(actual, expected, "{name}: the two formulations disagree");
        group.bench_function(format!("{name} / sales functions"), |b| {
            b.iter(|| runtime.block_on(run(&session, &functions)))
        });
        group.bench_function(format!("{name} / plain SQL"), |b| {
            b.iter(|| runtime.block_on(run(&session, &plain)))
        });
    }
    group.finish();
}

criterion_group!(benches, saved_queries);
criterion_main!(benches);
