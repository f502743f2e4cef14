//! The saved queries, written with the sales functions (`queries/`), against the same
//! questions in plain SQL (`benches/plain_sql/`), on generated data — plus the stage funnel per
//! opportunity (`benches/stage_funnel/`): `window_funnel` against self-joins. Each pair is
//! first checked to give the same rows, then timed.
//!
//!     cargo bench --bench saved_queries                   # scale 10, generated on first use
//!     SALESQL_BENCH_SCALE=1 cargo bench --bench saved_queries
//!     SALESQL_BENCH_DATA=/data/crm cargo bench --bench saved_queries
//!
//! Generated data goes to `$CARGO_TARGET_DIR/bench-data/scale-S` (never committed).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::common::ParamValues;
use salesql::generate::{GenerateArgs, Partitioning, generate};
use salesql::queries::param::bind;
use salesql::queries::{QueryOrigin, SavedQuery};
use salesql::session::{Session, SessionSettings};

/// The generated dataset, made on first use.
fn data_root() -> PathBuf {
    if let Ok(path) = std::env::var("SALESQL_BENCH_DATA") {
        return PathBuf::from(path);
    }
    let scale: f64 = std::env::var("SALESQL_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let root = Path::new(&target).join(format!("bench-data/scale-{scale}"));
    if !root.join("activities").exists() {
        eprintln!("generating scale {scale} into {}", root.display());
        let args = GenerateArgs {
            out: root.clone(),
            scale,
            seed: 42,
            partition: Partitioning::None,
            force: true,
            threads: None,
        };
        generate(&args, &AtomicBool::new(false)).expect("the dataset generates");
    }
    root
}

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
    let root = data_root();
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
