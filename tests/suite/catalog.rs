//! Data roots: Hive partitions and pruning, broken and disagreeing files, empty tables,
//! `check`, and the rule that queries never modify the data root.

use predicates::prelude::*;

use super::common::{
    damage_column, dataset, empty_dir, flip_last_value_bit, partitioned_dataset, query_csv,
    salesql, snapshot, stderr_of, write_parquet,
};

#[test]
fn partition_columns_are_integers_and_filters_prune_files() {
    let data = partitioned_dataset();
    let types = query_csv(
        data,
        "select arrow_typeof(year) as y, arrow_typeof(month) as m from activities limit 1",
    );
    assert_eq!(types[1], ["Int64", "Int64"]);

    let plan = query_csv(
        data,
        "explain select sum(duration_s) from activities where year = 2024 and month = 3",
    );
    let physical = &plan
        .iter()
        .find(|r| r[0] == "physical_plan")
        .expect("a physical plan")[1];
    assert!(physical.contains("year=2024/month=3/"), "{physical}");
    let files_scanned = physical.matches(".parquet").count();
    assert_eq!(
        files_scanned, 1,
        "only the March 2024 file is read: {physical}"
    );

    let counts = query_csv(
        data,
        "select count(*) from activities where year = 2024 and month = 3",
    );
    let by_time = query_csv(
        data,
        "select count(*) from activities where occurred_at >= '2024-03-01T00:00:00Z' and occurred_at < '2024-04-01T00:00:00Z'",
    );
    assert_eq!(counts[1], by_time[1]);
}

#[test]
fn string_partition_values_are_varchar() {
    let dir = empty_dir();
    write_parquet(
        &dir.path().join("deals/region=emea/a.parquet"),
        "select 1 as id",
    );
    write_parquet(
        &dir.path().join("deals/region=amer/b.parquet"),
        "select 2 as id",
    );
    let rows = query_csv(
        dir.path(),
        "select region, arrow_typeof(region) as t, id from deals order by id",
    );
    assert_eq!(
        rows[1..],
        [vec!["emea", "Utf8", "1"], vec!["amer", "Utf8", "2"]]
    );
}

/// A file that is not Parquet is named by its full path, without a panic, also when its footer
/// lengths do not add up (`PAR1PAR1` panicked parquet 59's reader: a subtraction overflowed).
#[test]
fn a_corrupt_parquet_file_is_named_without_a_panic() {
    for corrupt in [&b"this is not parquet"[..], b"PAR1PAR1"] {
        let dir = empty_dir();
        write_parquet(&dir.path().join("deals/a.parquet"), "select 1 as id");
        let file = dir.path().join("deals/b.parquet");
        std::fs::write(&file, corrupt).unwrap();
        failing_query(
            dir.path(),
            &["query", "select count(*) from deals"],
            &format!(
                "table `deals`: {} is not a valid Parquet file",
                file.display()
            ),
        );
        // Other tables stay usable.
        write_parquet(&dir.path().join("other/x.parquet"), "select 5 as v");
        assert_eq!(query_csv(dir.path(), "select v from other")[1], ["5"]);
    }
}

/// A damaged column chunk (the footer intact) fails a statement that reads it with the table,
/// the file and the column named, leaves no partial `-o` file, and leaves the file's other
/// columns and the table's other files readable.
#[test]
fn a_damaged_column_is_named_with_its_file() {
    let dir = empty_dir();
    let rows = "select value as id, value * 3 as amount from generate_series(1, 5000)";
    write_parquet(&dir.path().join("deals/a.parquet"), rows);
    let damaged = dir.path().join("deals/b.parquet");
    write_parquet(&damaged, rows);
    damage_column(&damaged, "amount");

    let elsewhere = empty_dir();
    let out = elsewhere.path().join("sums.csv");
    failing_query(
        dir.path(),
        &[
            "query",
            "select sum(amount) from deals",
            "-o",
            &out.display().to_string(),
        ],
        &format!(
            "table `deals`: file {} is damaged: column `amount` cannot be decoded (",
            damaged.display()
        ),
    );
    assert!(!out.exists(), "a failed query leaves no output file");

    // Columns read under another name, or inside an expression, are the ones decoded again;
    // a self-join reading the file twice, once without the damaged column, still finds it.
    for sql in [
        "select id, amount as revenue from deals",
        "select sum(amount * 2) as twice from deals where id > 10",
        "select a.id, b.amount from deals a join deals b on a.id = b.id",
        // CREATE TABLE … AS runs its query while it is planned, with no plan at hand.
        "create table copied as select amount from deals; select count(*) from copied",
        // Writers of other formats raise no Parquet errors, so their reads are diagnosed.
        "create table kept (amount bigint); insert into kept select amount from deals",
        &format!(
            "copy (select amount from deals) to '{}' stored as csv",
            elsewhere.path().join("copied.csv").display()
        ),
    ] {
        failing_query(
            dir.path(),
            &["query", sql],
            &format!(
                "table `deals`: file {} is damaged: column `amount`",
                damaged.display()
            ),
        );
    }

    let left: Vec<_> = std::fs::read_dir(elsewhere.path())
        .unwrap()
        .flatten()
        .collect();
    assert!(left.is_empty(), "a failed COPY leaves no file: {left:?}");

    let ids = query_csv(dir.path(), "select count(*), sum(id) from deals");
    assert_eq!(ids[1], ["10000", "25005000"]);

    // `check` reads footers only; `check --deep` decodes everything and names the file.
    let check = |deep: bool| {
        let mut command = salesql();
        command
            .arg("--data")
            .arg(dir.path())
            .args(["check", "--format", "csv"]);
        if deep {
            command.arg("--deep");
        }
        command.output().unwrap()
    };
    let shallow = check(false);
    assert!(
        String::from_utf8_lossy(&shallow.stdout).contains("\ndeals,ok,10000,2,"),
        "{shallow:?}"
    );
    let deep = check(true);
    assert_eq!(deep.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&deep.stdout).contains("\ndeals,problem,10000,2,"),
        "{deep:?}"
    );
    let problems = stderr_of(&deep);
    assert!(
        problems.contains(&format!(
            "problem: deals: file {} is damaged: column `amount` cannot be decoded (",
            damaged.display()
        )),
        "{problems}"
    );
    assert!(!problems.contains("a.parquet"), "{problems}");
}

/// Page checksums are verified where a writer stored them (parquet-mr and Spark do by
/// default): a flipped bit in a value fails the statement, naming the file and the column,
/// instead of giving a wrong answer. The fixture was written by pyarrow 26
/// (`write_page_checksum=True`, uncompressed, plain encoding): 200 rows of `id` and
/// `amount` = 3 · `id`.
#[test]
fn a_page_whose_checksum_fails_is_named() {
    let dir = empty_dir();
    let file = dir.path().join("deals/a.parquet");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/page_checksums.parquet");
    std::fs::copy(fixture, &file).unwrap();
    let sql = "select count(*), sum(amount) from deals";
    assert_eq!(query_csv(dir.path(), sql)[1], ["200", "60300"]);

    flip_last_value_bit(&file, "amount");
    failing_query(
        dir.path(),
        &["query", sql],
        &format!(
            "table `deals`: file {} is damaged: column `amount` cannot be decoded (Page CRC \
             checksum mismatch)",
            file.display()
        ),
    );
    assert_eq!(
        query_csv(dir.path(), "select sum(id) from deals")[1],
        ["20100"]
    );
}

/// Runs salesql with `args` on the data root `data`, expecting exit code 1 and an error that
/// contains `expected`, with no panic report.
fn failing_query(data: &std::path::Path, args: &[&str], expected: &str) {
    let output = salesql()
        .env_remove("RUST_BACKTRACE")
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn files_that_disagree_on_the_schema_are_both_named() {
    let dir = empty_dir();
    write_parquet(
        &dir.path().join("deals/a.parquet"),
        "select 1 as id, 'x' as name",
    );
    write_parquet(
        &dir.path().join("deals/b.parquet"),
        "select 'two' as id, 'y' as name",
    );
    salesql()
        .arg("--data")
        .arg(dir.path())
        .args(["query", "select * from deals"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("deals/b.parquet has column `id` of type Utf8")
                .and(predicate::str::contains("deals/a.parquet")),
        );
}

#[test]
fn empty_tables_return_no_rows() {
    let dir = empty_dir();
    write_parquet(
        &dir.path().join("deals/a.parquet"),
        "select 1 as id where false",
    );
    assert_eq!(
        query_csv(dir.path(), "select count(*) as n from deals")[1],
        ["0"]
    );
    std::fs::create_dir_all(dir.path().join("quotas")).unwrap();
    let rows = query_csv(
        dir.path(),
        "select count(*) as n, sum(amount) as total from quotas",
    );
    assert_eq!(rows[1], ["0", ""]);
}

#[test]
fn ids_may_be_strings_and_timestamps_any_unit_or_zone() {
    let dir = empty_dir();
    write_parquet(
        &dir.path().join("opportunities/a.parquet"),
        "select 'opp-1' as opportunity_id, 'acc-1' as account_id, 'rep-1' as owner_id, \
         arrow_cast('2024-01-01T00:00:00', 'Timestamp(Second, None)') as created_at, \
         arrow_cast(null, 'Timestamp(Second, None)') as closed_at, 'open' as status, 'proposal' as stage, \
         cast(100 as decimal(18,2)) as amount, 'inbound' as source, 'smb' as segment",
    );
    write_parquet(
        &dir.path().join("reps/a.parquet"),
        "select 'rep-1' as rep_id, 'Ada' as name, 't' as team, 'EMEA' as region, \
         cast(null as varchar) as manager_id, arrow_cast('2020-01-01T00:00:00', 'Timestamp(Nanosecond, Some(\"Europe/Paris\"))') as hired_at",
    );
    let rows = query_csv(
        dir.path(),
        "select r.name, o.opportunity_id from opportunities o join reps r on r.rep_id = o.owner_id",
    );
    assert_eq!(rows[1], ["Ada", "opp-1"]);
}

#[test]
fn check_passes_on_generated_data_and_reports_every_table() {
    let output = salesql()
        .arg("--data")
        .arg(dataset())
        .args(["check", "--format", "csv"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    for table in [
        "reps",
        "opportunities",
        "stage_history",
        "activities",
        "quotas",
        "stages",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{table},ok,"))),
            "{table}: {text}"
        );
    }
    salesql()
        .arg("--data")
        .arg(partitioned_dataset())
        .arg("check")
        .assert()
        .success();
}

#[test]
fn check_fails_on_missing_tables_bad_columns_and_unreadable_files() {
    let dir = empty_dir();
    write_parquet(
        &dir.path().join("reps/a.parquet"),
        "select 1 as rep_id, 'x' as name",
    );
    std::fs::create_dir_all(dir.path().join("notes")).unwrap();
    std::fs::write(dir.path().join("notes/n.parquet"), b"garbage").unwrap();
    let output = salesql()
        .arg("--data")
        .arg(dir.path())
        .args(["check", "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(text.contains("reps,problem,1,1,"), "{text}");
    assert!(
        text.contains("missing column `hired_at` (a timestamp)"),
        "{text}"
    );
    assert!(text.contains("opportunities,missing,"), "{text}");
    assert!(text.contains("stages,default,7,"), "{text}");
    assert!(
        text.contains("notes/n.parquet is not a valid Parquet file"),
        "{text}"
    );
    let stderr = stderr_of(&output);
    assert!(stderr.contains("problem(s) found"), "{stderr}");
}

#[test]
fn queries_never_modify_the_data_root() {
    let dir = empty_dir();
    let root = dir.path().join("root");
    write_parquet(&root.join("deals/a.parquet"), "select 1 as id");
    let before = snapshot(&root);
    let refused = |sql: &str| {
        let output = salesql()
            .arg("--data")
            .arg(&root)
            .args(["query", sql])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{sql}");
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains("never modifies the data root"),
            "{sql}: {stderr}"
        );
    };
    refused("insert into deals values (2)");
    refused(&format!(
        "copy (select 1 as id) to '{}/deals/b.parquet'",
        root.display()
    ));
    refused(&format!(
        "copy (select 1 as id) to '{}/new_table/' stored as parquet",
        root.display()
    ));
    refused("drop table deals");
    let output = salesql()
        .arg("--data")
        .arg(&root)
        .args(["query", "select 1", "-o"])
        .arg(root.join("deals/out.csv"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    // Nor through a symlink outside it that points in.
    #[cfg(unix)]
    {
        let link = dir.path().join("innocent.csv");
        std::os::unix::fs::symlink(root.join("deals/a.parquet"), &link).unwrap();
        let output = salesql()
            .arg("--data")
            .arg(&root)
            .args(["query", "select 1", "-o"])
            .arg(&link)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains("never writes under the data root"),
            "{stderr}"
        );
    }
    assert_eq!(snapshot(&root), before);

    // Writing elsewhere works, and session tables can be created.
    let elsewhere = dir.path().join("copy.parquet");
    salesql()
        .arg("--data")
        .arg(&root)
        .args(["query"])
        .arg(format!(
            "create table t as select id + 1 as id from deals; copy t to '{}'",
            elsewhere.display()
        ))
        .assert()
        .success();
    assert!(elsewhere.exists());
}

#[test]
fn folders_starting_with_underscore_or_dot_are_not_tables() {
    let dir = empty_dir();
    write_parquet(&dir.path().join("deals/a.parquet"), "select 1 as id");
    write_parquet(&dir.path().join("_rejects/a.parquet"), "select 1 as id");
    let rows = query_csv(
        dir.path(),
        "select table_name from information_schema.tables where table_schema = 'public' order by 1",
    );
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["deals", "stages"]);
}
