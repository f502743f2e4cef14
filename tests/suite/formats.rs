//! Every output format, parsed back; atomic `-o`; the table view's footer on stderr.

use std::io::Cursor;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::common::{dataset, empty_dir, salesql, salesql_process, snapshot, stderr_of};

const SQL: &str = "select rep_id, name, hired_at, manager_id from reps order by rep_id limit 3";

fn run(format: &str) -> std::process::Output {
    let output = salesql()
        .arg("--data")
        .arg(dataset())
        .args(["query", SQL, "--format", format])
        .output()
        .unwrap();
    assert!(output.status.success(), "{format}: {}", stderr_of(&output));
    output
}

#[test]
fn csv_and_tsv_have_a_header_and_one_line_per_row() {
    for (format, separator) in [("csv", ','), ("tsv", '\t')] {
        let text = String::from_utf8(run(format).stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(
            lines[0],
            ["rep_id", "name", "hired_at", "manager_id"].join(&separator.to_string())
        );
    }
}

#[test]
fn json_is_one_valid_array_with_nulls() {
    let value: serde_json::Value = serde_json::from_slice(&run("json").stdout).unwrap();
    let rows = value.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["rep_id"], 1);
    assert!(
        rows[0]["manager_id"].is_null(),
        "rep 1 manages a team: {value}"
    );
    assert!(rows[0].get("name").unwrap().is_string());
}

#[test]
fn an_empty_result_is_still_valid_in_every_text_format() {
    let empty = |format: &str| {
        let output = salesql()
            .args(["query", "select 1 as a where false", "--format", format])
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout.clone()).unwrap()
    };
    assert_eq!(empty("json"), "[]\n");
    assert_eq!(empty("csv"), "a\n");
    assert_eq!(empty("ndjson"), "");
    assert_eq!(empty("markdown"), "| a |\n| ---: |\n");
}

#[test]
fn ndjson_is_one_object_per_line() {
    let text = String::from_utf8(run("ndjson").stdout).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["rep_id"], 3);
}

#[test]
fn markdown_is_a_table_with_aligned_numbers() {
    let text = String::from_utf8(run("markdown").stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "| rep_id | name | hired_at | manager_id |");
    assert_eq!(lines[1], "| ---: | --- | --- | ---: |");
    assert_eq!(lines.len(), 5);
}

#[test]
fn arrow_is_a_readable_ipc_stream() {
    let bytes = run("arrow").stdout;
    let reader = StreamReader::try_new(Cursor::new(bytes), None).unwrap();
    let batches: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    let ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn parquet_goes_to_a_file_and_reads_back() {
    let dir = empty_dir();
    let path = dir.path().join("reps.parquet");
    salesql()
        .arg("--data")
        .arg(dataset())
        .args(["query", SQL, "-o"])
        .arg(&path)
        .assert()
        .success()
        .stdout("");
    let file = std::fs::File::open(&path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 3);
}

#[test]
fn the_table_view_draws_a_box_and_counts_rows_on_stderr() {
    let output = run("table");
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(text.starts_with("┌"), "{text}");
    assert!(text.contains("│ rep_id │"), "{text}");
    assert_eq!(stderr_of(&output), "3 rows\n");
}

#[test]
fn the_table_view_elides_rows_and_says_so_while_machine_formats_never_do() {
    let sql = "select * from unnest(range(1000)) as t(n)";
    let output = salesql()
        .args(["query", sql, "--format", "table", "--max-rows", "10"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 4 + 10 + 1, "{text}");
    assert!(text.contains("│   … │") || text.contains("│ … "), "{text}");
    assert_eq!(stderr_of(&output), "1000 rows (10 shown)\n");
    let csv = salesql()
        .args(["query", sql, "--format", "csv", "--max-rows", "10"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(csv.stdout).unwrap().lines().count(), 1001);
}

#[test]
fn lists_are_written_as_text_in_csv() {
    salesql()
        .args(["query", "select [1, 2, 3] as counts", "--format", "csv"])
        .assert()
        .success()
        .stdout("counts\n\"[1, 2, 3]\"\n");
}

#[test]
fn the_output_file_format_follows_its_extension() {
    let dir = empty_dir();
    let path = dir.path().join("out.json");
    salesql()
        .args(["query", "select 7 as n", "-o"])
        .arg(&path)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "[{\"n\":7}]\n");
}

#[test]
fn a_failed_query_leaves_no_output_file_and_no_temporary_file() {
    let dir = empty_dir();
    let path = dir.path().join("out.csv");
    let script = "select 1 as ok; select nope;";
    salesql()
        .args(["query", script, "-o"])
        .arg(&path)
        .assert()
        .code(1);
    assert!(
        snapshot(dir.path()).is_empty(),
        "{:?}",
        snapshot(dir.path())
    );
}

#[test]
fn a_failed_query_keeps_the_previous_output_file_intact() {
    let dir = empty_dir();
    let path = dir.path().join("out.csv");
    std::fs::write(&path, "previous\n").unwrap();
    salesql()
        .args(["query", "select nope", "-o"])
        .arg(&path)
        .assert()
        .code(1);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous\n");
    salesql()
        .args(["query", "select 2 as n", "-o"])
        .arg(&path)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "n\n2\n");
}

#[test]
fn binary_formats_hold_one_result_set() {
    let dir = empty_dir();
    let path = dir.path().join("two.arrow");
    salesql()
        .args(["query", "select 1 as a; select 2 as b;", "-o"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("holds one result set"));
    assert!(!path.exists());
}

#[test]
fn nulls_and_missing_values_render_in_the_table_view() {
    let output = salesql()
        .args([
            "query",
            "select cast(null as int) as x",
            "--format",
            "table",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(output.stdout.clone())
            .unwrap()
            .contains("NULL")
    );
}

/// `-o` through a symlink replaces the file it points to (keeping its permissions) and keeps
/// the link; a dangling link's target is created.
#[cfg(unix)]
#[test]
fn an_output_symlink_is_followed_and_kept() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = empty_dir();
    let real = dir.path().join("real.csv");
    std::fs::write(&real, "previous\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("link.csv");
    symlink("real.csv", &link).unwrap();
    salesql()
        .args(["query", "select 2 as n", "-o"])
        .arg(&link)
        .assert()
        .success();
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "n\n2\n");
    let mode = real.metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let dangling = dir.path().join("dangling.csv");
    symlink("made.csv", &dangling).unwrap();
    salesql()
        .args(["query", "select 3 as n", "-o"])
        .arg(&dangling)
        .assert()
        .success();
    assert!(
        dangling
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let made = dir.path().join("made.csv");
    assert_eq!(std::fs::read_to_string(&made).unwrap(), "n\n3\n");
    assert_eq!(made.metadata().unwrap().permissions().mode() & 0o777, 0o644);
}

/// `-o` to a FIFO writes into it, as a shell's `>` would, and leaves it a FIFO.
#[cfg(unix)]
#[test]
fn an_output_fifo_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = empty_dir();
    let fifo = dir.path().join("pipe.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // The reader reports through a channel, so a salesql that never opens the FIFO fails the
    // test instead of leaving it blocked in `open`.
    let (sender, received) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || sender.send(std::fs::read_to_string(fifo).unwrap()));
    }
    salesql()
        .args(["query", "select 4 as n", "-o"])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .success();
    assert!(fifo.metadata().unwrap().file_type().is_fifo());
    let read = received
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the FIFO's reader got the output");
    assert_eq!(read, "n\n4\n");
    assert_eq!(snapshot(dir.path()).len(), 1, "{:?}", snapshot(dir.path()));
}

/// `-o /dev/stdout` writes through the descriptor, whether it is a pipe or a file the shell
/// opened for appending (which keeps what it held).
#[cfg(target_os = "linux")]
#[test]
fn an_output_descriptor_is_written_through() {
    let piped = salesql()
        .args(["query", "select 5 as n", "-o", "/dev/stdout"])
        .output()
        .unwrap();
    assert!(piped.status.success(), "{}", stderr_of(&piped));
    assert_eq!(String::from_utf8_lossy(&piped.stdout), "n\n5\n");

    let dir = empty_dir();
    let log = dir.path().join("log.csv");
    std::fs::write(&log, "kept\n").unwrap();
    let appended = salesql_process()
        .args(["query", "select 6 as n", "-o", "/dev/stdout"])
        .stdout(std::fs::OpenOptions::new().append(true).open(&log).unwrap())
        .output()
        .unwrap();
    assert!(appended.status.success(), "{}", stderr_of(&appended));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "kept\nn\n6\n");
}
