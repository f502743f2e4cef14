//! Statements that write files (`COPY … TO`, `INSERT INTO` a table of files) keep what they
//! wrote only when they succeed: one that fails midway leaves the files as they were.

use std::path::{Path, PathBuf};

use super::common::{FAILS_MIDWAY, csv_records, empty_dir, salesql, stderr_of};

/// Runs `sql` in `dir` (relative paths are relative to it), over the built-in sample.
fn query(dir: &Path, sql: &str) -> std::process::Output {
    salesql()
        .current_dir(dir)
        .args(["query", sql, "--format", "csv"])
        .output()
        .unwrap()
}

fn fails_midway(dir: &Path, sql: &str) {
    let output = query(dir, sql);
    assert_eq!(output.status.code(), Some(1), "{sql}: {output:?}");
    assert!(
        stderr_of(&output).contains("Divide by zero"),
        "{sql}: {}",
        stderr_of(&output)
    );
}

fn succeeds(dir: &Path, sql: &str) -> Vec<Vec<String>> {
    let output = query(dir, sql);
    assert!(output.status.success(), "{sql}: {}", stderr_of(&output));
    csv_records(&output.stdout)
}

/// Every file and folder under `dir`, relative to it, sorted.
fn entries_under(dir: &Path) -> Vec<PathBuf> {
    let mut entries = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            entries.push(path.strip_prefix(dir).unwrap().to_path_buf());
            if path.is_dir() {
                folders.push(path);
            }
        }
    }
    entries.sort();
    entries
}

#[test]
fn a_failed_copy_leaves_no_file_and_keeps_the_one_it_would_replace() {
    let dir = empty_dir();
    let kept = dir.path().join("kept.csv");
    std::fs::write(&kept, "previous\n").unwrap();
    for (target, format) in [
        ("kept.csv", "csv"),
        ("new.csv", "csv"),
        ("new.parquet", "parquet"),
        ("folder/", "parquet"),
        ("no_extension", "csv"),
        ("nested/deeper/rows.csv", "csv"),
    ] {
        fails_midway(
            dir.path(),
            &format!("copy ({FAILS_MIDWAY}) to '{target}' stored as {format}"),
        );
    }
    fails_midway(
        dir.path(),
        &format!("copy ({FAILS_MIDWAY}) to 'parts/' stored as csv partitioned by (part)"),
    );
    // EXPLAIN ANALYZE runs the statement it explains.
    fails_midway(
        dir.path(),
        &format!("explain analyze copy ({FAILS_MIDWAY}) to 'explained.csv' stored as csv"),
    );
    assert_eq!(entries_under(dir.path()), [PathBuf::from("kept.csv")]);
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "previous\n");
}

#[test]
fn a_copy_that_succeeds_replaces_its_file_and_writes_its_folders() {
    let dir = empty_dir();
    let kept = dir.path().join("kept.csv");
    std::fs::write(&kept, "previous\n").unwrap();
    succeeds(
        dir.path(),
        "copy (select value as x from generate_series(1, 3)) to 'kept.csv' stored as csv",
    );
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "x\n1\n2\n3\n");

    let rows = "select value as x, value % 3 as part from generate_series(1, 20)";
    succeeds(
        dir.path(),
        &format!("copy ({rows}) to 'parts/' stored as parquet partitioned by (part)"),
    );
    succeeds(
        dir.path(),
        &format!("copy ({rows}) to 'one/folder/' stored as parquet"),
    );
    // Into a folder that already holds files: they stay.
    succeeds(
        dir.path(),
        &format!("copy ({rows}) to 'one/folder/' stored as parquet"),
    );
    // A name without an extension is a folder, as DataFusion has it.
    succeeds(
        dir.path(),
        &format!("copy ({rows}) to 'plain' stored as csv"),
    );
    let entries = entries_under(dir.path());
    let in_plain: Vec<_> = entries
        .iter()
        .filter(|e| e.starts_with("plain") && e.extension().is_some_and(|x| x == "csv"))
        .collect();
    assert_eq!(in_plain.len(), 1, "{entries:?}");
    assert!(
        !entries
            .iter()
            .any(|e| e.to_string_lossy().contains("salesql-staging")),
        "{entries:?}"
    );
    for part in 0..3 {
        assert!(
            entries
                .iter()
                .any(|e| e.starts_with(format!("parts/part={part}")) && e.extension().is_some()),
            "{entries:?}"
        );
    }
    let read_back = succeeds(
        dir.path(),
        &format!(
            "create external table parts stored as parquet location '{}/parts/'; \
             create external table folder stored as parquet location '{}/one/folder/'; \
             select (select count(*) from parts) as parts, (select sum(x) from folder) as folder",
            dir.path().display(),
            dir.path().display()
        ),
    );
    assert_eq!(read_back[1], ["20", "420"]);
}

#[test]
fn a_failed_insert_adds_no_rows_to_a_table_of_files() {
    let dir = empty_dir();
    let table = format!(
        "create external table t (x bigint) stored as csv location '{}/t/'",
        dir.path().display()
    );
    succeeds(
        dir.path(),
        &format!("{table}; insert into t values (1), (2)"),
    );
    fails_midway(
        dir.path(),
        &format!("{table}; insert into t select x from ({FAILS_MIDWAY})"),
    );
    let counted = succeeds(
        dir.path(),
        &format!("{table}; select count(*) as n, sum(x) as total from t"),
    );
    assert_eq!(counted[1], ["2", "3"]);
    assert_eq!(entries_under(&dir.path().join("t")).len(), 1);

    // A partitioned table keeps no partition folder the failed INSERT created.
    let partitioned = format!(
        "create external table p (x bigint, part bigint) stored as parquet partitioned by (part) \
         location '{}/p/'",
        dir.path().display()
    );
    succeeds(
        dir.path(),
        &format!("{partitioned}; insert into p values (1, 1)"),
    );
    fails_midway(
        dir.path(),
        &format!("{partitioned}; insert into p {FAILS_MIDWAY}"),
    );
    let entries = entries_under(&dir.path().join("p"));
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries[0].ends_with("part=1"), "{entries:?}");
}
