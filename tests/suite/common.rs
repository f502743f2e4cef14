//! Helpers shared by the integration tests: the binary with a clean environment, generated
//! datasets made once per test run, and parsers for what the binary prints.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;

/// The `salesql` binary with no data root, queries folder or limits from the environment.
pub fn salesql() -> Command {
    Command::from_std(salesql_process())
}

/// [`salesql`] as a plain process, for binaries a test starts and stops itself.
pub fn salesql_process() -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("salesql"));
    for variable in [
        "SALESQL_DATA",
        "SALESQL_QUERIES",
        "SALESQL_MEMORY_LIMIT",
        "SALESQL_CLUSTER",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
    ] {
        command.env_remove(variable);
    }
    command.env("NO_COLOR", "1").env("COLUMNS", "200");
    command
}

/// A generated dataset (scale 0.02, unpartitioned), made once per test run.
pub fn dataset() -> &'static Path {
    static DATASET: OnceLock<PathBuf> = OnceLock::new();
    DATASET.get_or_init(|| generated("unpartitioned", &["--scale", "0.02"]))
}

/// A generated dataset with month partitions, made once per test run.
pub fn partitioned_dataset() -> &'static Path {
    static DATASET: OnceLock<PathBuf> = OnceLock::new();
    DATASET.get_or_init(|| generated("by-month", &["--scale", "0.01", "--partition", "month"]))
}

fn generated(name: &str, args: &[&str]) -> PathBuf {
    let dir = scratch().join(name);
    salesql()
        .args(["generate", "--out"])
        .arg(&dir)
        .args(args)
        .assert()
        .success();
    dir
}

/// A folder that lives as long as the test process.
pub fn scratch() -> &'static Path {
    static SCRATCH: OnceLock<tempfile::TempDir> = OnceLock::new();
    SCRATCH
        .get_or_init(|| tempfile::tempdir().expect("a temporary folder"))
        .path()
}

/// A fresh empty folder for one test.
pub fn empty_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// The records of CSV text, header first.
pub fn csv_records(text: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text)
        .records()
        .map(|r| r.expect("valid CSV").iter().map(str::to_string).collect())
        .collect()
}

/// Runs SQL against `data` and returns its CSV records (header first).
pub fn query_csv(data: &Path, sql: &str) -> Vec<Vec<String>> {
    let output = salesql()
        .arg("--data")
        .arg(data)
        .args(["query", sql, "--format", "csv"])
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "query failed: {sql}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    csv_records(&output.stdout)
}

/// Writes a Parquet file at `path` holding what `sql` returns (run on the built-in sample).
pub fn write_parquet(path: &Path, sql: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
    salesql()
        .args(["query", sql, "--format", "parquet", "-o"])
        .arg(path)
        .assert()
        .success();
}

/// Every file under `dir` with its size and modification time, for "nothing changed" checks.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("readable").flatten() {
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                found.push((entry.path(), meta.len(), meta.modified().expect("mtime")));
            }
        }
    }
    found.sort();
    found
}

/// Checks every Parquet file under `root` against salesql's column layout
/// (`salesql::parquet_layout`): 64-bit integer columns (ids, timestamps) are delta-encoded with
/// no dictionary, text columns keep theirs. Returns how many column chunks of each kind it saw.
pub fn assert_column_layout(root: &Path) -> (usize, usize) {
    use datafusion::parquet::basic::{Encoding, Type};
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

    let (mut delta, mut dictionary) = (0, 0);
    for (path, _, _) in snapshot(root) {
        if path.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        let file = std::fs::File::open(&path).unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        for row_group in reader.metadata().row_groups() {
            for chunk in row_group.columns() {
                let encodings: Vec<Encoding> = chunk.encodings().collect();
                let at = format!("{} {}: {encodings:?}", path.display(), chunk.column_path());
                match chunk.column_type() {
                    Type::INT64 => {
                        assert!(encodings.contains(&Encoding::DELTA_BINARY_PACKED), "{at}");
                        assert!(!encodings.contains(&Encoding::RLE_DICTIONARY), "{at}");
                        delta += 1;
                    }
                    Type::BYTE_ARRAY => {
                        assert!(encodings.contains(&Encoding::RLE_DICTIONARY), "{at}");
                        dictionary += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    (delta, dictionary)
}

/// stderr as text.
pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The rows a random case put in `partition` (`partition_of_row[i]` is row `i`'s), in order.
pub fn rows_of_partition<'a, R>(
    rows: &'a [R],
    partition_of_row: &[usize],
    partition: usize,
) -> Vec<&'a R> {
    rows.iter()
        .zip(partition_of_row)
        .filter(|(_, p)| **p == partition)
        .map(|(r, _)| r)
        .collect()
}

/// Registers `partitions` of batches as the in-memory table `t` of `context`.
pub fn register_table_t(
    context: &datafusion::prelude::SessionContext,
    schema: datafusion::arrow::datatypes::SchemaRef,
    partitions: Vec<Vec<datafusion::arrow::array::RecordBatch>>,
) {
    let table = datafusion::datasource::MemTable::try_new(schema, partitions).unwrap();
    context
        .register_table("t", std::sync::Arc::new(table))
        .unwrap();
}

/// The rows of `batches` as text (cells joined by `|`, NULL as `NULL`), sorted: answers to
/// compare whatever order the plan produced them in.
pub fn sorted_rows(batches: &[datafusion::arrow::array::RecordBatch]) -> Vec<String> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            rows.push(cells.join("|"));
        }
    }
    rows.sort();
    rows
}

/// Flips every byte of `column`'s chunk in the first row group of the Parquet file `file`,
/// page headers included.
pub fn damage_column(file: &Path, column: &str) {
    damage_bytes(file, column_chunk(file, column), 0x5a);
}

/// Flips the lowest bit of the last byte of `column`'s chunk (a value, in a plain-encoded
/// uncompressed chunk): still decodable, but wrong.
pub fn flip_last_value_bit(file: &Path, column: &str) {
    let chunk = column_chunk(file, column);
    damage_bytes(file, chunk.end - 1..chunk.end, 0x01);
}

/// Where `column`'s chunk of the first row group lies in the Parquet file `file`.
fn column_chunk(file: &Path, column: &str) -> std::ops::Range<usize> {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
    let (start, length) = reader
        .metadata()
        .row_group(0)
        .columns()
        .iter()
        .find(|c| c.column_path().string() == column)
        .expect("the column")
        .byte_range();
    start as usize..(start + length) as usize
}

/// XORs the bytes of `range` in `file` with `mask`.
fn damage_bytes(file: &Path, range: std::ops::Range<usize>, mask: u8) {
    let mut bytes = std::fs::read(file).unwrap();
    for byte in &mut bytes[range] {
        *byte ^= mask;
    }
    std::fs::write(file, bytes).unwrap();
}

/// Rows `x` (and `part`, 0 to 2) that fail past the 300 000th, with a division by zero, so that
/// dozens of batches are written out before the failure.
pub const FAILS_MIDWAY: &str = "select case when value <= 300000 then value else 1 / (value - value) end as x, \
     value % 3 as part from generate_series(1, 400000)";
