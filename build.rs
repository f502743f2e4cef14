//! Embeds the repository's saved queries (`queries/*.sql`) and the built-in sample dataset
//! (`data/sample/**.parquet`) into the binary, by generating a Rust file of `include_*!`s.

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

    println!("cargo::rerun-if-changed=queries");
    println!("cargo::rerun-if-changed=data/sample");
    for path in queries.iter().chain(&sample) {
        println!("cargo::rerun-if-changed={}", path.display());
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
