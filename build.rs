//! Embeds the repository's saved queries (`queries/*.sql`) and the built-in sample dataset
//! (`data/sample/**.parquet`) into the binary, by generating a Rust file of `include_*!`s, and
//! links the executable at a fixed address where that speeds up its start.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));

    let queries = files_under(&manifest.join("queries"), "sql");
    let sample = files_under(&manifest.join("data/sample"), "parquet");

    let mut code = String::new();
    code.push_str(
        "/// The saved queries of the repository's `queries/` folder: (file stem, text).\n",
    );
    code.push_str("pub static BUILTIN_QUERIES: &[(&str, &str)] = &[\n");
    for path in &queries {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name");
        writeln!(code, "    ({stem:?}, include_str!({:?})),", path.display()).expect("string");
    }
    code.push_str("];\n");
    code.push_str("/// The files of the built-in sample dataset: (path under the root, bytes).\n");
    code.push_str("pub static SAMPLE_FILES: &[(&str, &[u8])] = &[\n");
    let sample_root = manifest.join("data/sample");
    for path in &sample {
        let relative = path.strip_prefix(&sample_root).expect("under the root");
        let relative = relative.to_str().expect("utf-8 path").replace('\\', "/");
        writeln!(
            code,
            "    ({relative:?}, include_bytes!({:?})),",
            path.display()
        )
        .expect("string");
    }
    code.push_str("];\n");
    std::fs::write(out.join("embedded.rs"), code).expect("OUT_DIR is writable");

    link_position_dependent();
    println!("cargo::rerun-if-changed=queries");
    println!("cargo::rerun-if-changed=data/sample");
    for path in queries.iter().chain(&sample) {
        println!("cargo::rerun-if-changed={}", path.display());
    }
}

/// Links the executable at a fixed address on Linux (glibc). A position-independent
/// executable makes the loader apply about 250 000 relative relocations at every start, each
/// a write that copies a page of `.data.rel.ro` (DataFusion's function tables): 1 677 page
/// faults and 11.5 ms for `salesql query "select 1"`, against 866 faults and 7.8 ms linked
/// at a fixed address (`perf stat -r 20`). The code is compiled position-independent as
/// before, so only the final link changes; the executable's own address is no longer
/// randomized (shared libraries, stack and heap still are).
fn link_position_dependent() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}

/// Every file with the given extension under `dir`, recursively, in a stable order.
fn files_under(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
