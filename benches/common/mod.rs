//! What the criterion benchmarks share: the generated dataset they run on.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use salesql::generate::{GenerateArgs, Partitioning, generate};
use salesql::parquet_layout::LAYOUT_VERSION;

/// The dataset to benchmark on: `SALESQL_BENCH_DATA` when set, else data generated at
/// `SALESQL_BENCH_SCALE` (or `default_scale`) into
/// `$CARGO_TARGET_DIR/bench-data/scale-S-LAYOUT` on first use (never committed; `LAYOUT` is
/// [`LAYOUT_VERSION`]).
pub fn data_root(default_scale: f64) -> PathBuf {
    if let Ok(path) = std::env::var("SALESQL_BENCH_DATA") {
        return PathBuf::from(path);
    }
    let scale: f64 = std::env::var("SALESQL_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_scale);
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let root = Path::new(&target).join(format!("bench-data/scale-{scale}-{LAYOUT_VERSION}"));
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
