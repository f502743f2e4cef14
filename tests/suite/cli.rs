//! The command line: exit codes, stdin, scripts of several statements, global options,
//! errors on stderr and data only on stdout.

use predicates::prelude::*;

use super::common::{dataset, empty_dir, salesql, stderr_of};

#[test]
fn a_query_prints_csv_on_stdout_and_nothing_on_stderr() {
    let output = salesql()
        .args(["query", "select 1 as one, 'x' as two"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout.clone()).unwrap(),
        "one,two\n1,x\n"
    );
    assert_eq!(stderr_of(&output), "");
}

#[test]
fn sql_errors_exit_1_with_one_line_on_stderr_and_nothing_on_stdout() {
    let output = salesql()
        .args(["query", "select nope from reps"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = stderr_of(&output);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    salesql()
        .args(["query", "select 1", "--format", "xml"])
        .assert()
        .code(2);
    salesql().args(["frobnicate"]).assert().code(2);
    salesql()
        .args(["run", "no_such_query"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("known: "));
    salesql()
        .args(["query", "select 1", "--memory-limit", "lots"])
        .assert()
        .code(2);
    salesql()
        .args(["query", "select 1", "--param", "novalue"])
        .assert()
        .code(2);
}

#[test]
fn help_and_version_exit_0() {
    salesql()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage"));
    salesql()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains("salesql"));
}

#[test]
fn a_missing_data_root_is_named_and_exits_1() {
    salesql()
        .args(["--data", "/no/such/root", "query", "select 1"])
        .assert()
        .code(1)
        .stderr("error: data root /no/such/root: no such directory\n");
}

#[test]
fn sql_is_read_from_stdin_when_it_is_not_a_terminal() {
    salesql()
        .write_stdin("select 40 + 2 as answer;")
        .assert()
        .success()
        .stdout("answer\n42\n");
    salesql()
        .args(["query", "-"])
        .write_stdin("select 'dash' as source")
        .assert()
        .success()
        .stdout("source\ndash\n");
}

#[test]
fn a_script_runs_every_statement_and_stops_at_the_first_failure() {
    let dir = empty_dir();
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "create view v as select 1 as a;\nselect a from v;\nselect broken from v;\nselect 'never' as b;\n",
    )
    .unwrap();
    let output = salesql()
        .arg("query")
        .arg("-f")
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8(output.stdout.clone()).unwrap(), "a\n1\n");
    let stderr = stderr_of(&output);
    assert!(stderr.contains("statement 3 of 4"), "{stderr}");
    assert!(stderr.contains("broken"), "{stderr}");
}

#[test]
fn a_missing_script_file_is_named() {
    salesql()
        .args(["query", "-f", "/no/such/script.sql"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/no/such/script.sql"));
}

#[test]
fn global_options_work_before_and_after_the_subcommand() {
    let data = dataset().to_str().unwrap();
    let before = salesql()
        .args([
            "--data",
            data,
            "--format",
            "tsv",
            "query",
            "select count(*) as n from reps",
        ])
        .output()
        .unwrap();
    let after = salesql()
        .args([
            "query",
            "select count(*) as n from reps",
            "--format",
            "tsv",
            "--data",
            data,
        ])
        .output()
        .unwrap();
    assert!(before.status.success());
    assert_eq!(before.stdout, after.stdout);
    assert!(String::from_utf8(before.stdout).unwrap().starts_with("n\n"));
}

#[test]
fn the_data_root_comes_from_the_environment_too() {
    salesql()
        .env("SALESQL_DATA", dataset())
        .args(["query", "select count(*) > 0 as has_reps from reps"])
        .assert()
        .success()
        .stdout("has_reps\ntrue\n");
}

#[test]
fn the_builtin_sample_needs_no_setup() {
    salesql()
        .args(["query", "select count(*) > 1000 as plenty from activities"])
        .assert()
        .success()
        .stdout("plenty\ntrue\n");
}

#[test]
fn the_default_stages_stand_in_when_the_root_has_none() {
    let dir = empty_dir();
    let output = salesql()
        .arg("--data")
        .arg(dir.path())
        .args([
            "query",
            "select stage, position, kind from stages order by position nulls last",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        text.starts_with("stage,position,kind\nprospecting,1,open\n"),
        "{text}"
    );
    assert!(
        text.ends_with("closed_won,6,won\nclosed_lost,,lost\n"),
        "{text}"
    );
}

#[test]
fn a_missing_standard_table_is_an_error_naming_it() {
    let dir = empty_dir();
    salesql()
        .arg("--data")
        .arg(dir.path())
        .args(["query", "select * from quotas"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("table `quotas`: the data root")
                .and(predicate::str::contains("no `quotas` folder")),
        );
}

#[cfg(not(feature = "distributed"))]
#[test]
fn cluster_needs_the_distributed_feature_and_says_so() {
    let output = salesql()
        .args(["--cluster", "df://127.0.0.1:50050", "run", "funnel"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("built without the `distributed` feature"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

/// The DataFusion settings salesql tunes have salesql's values unless a `DATAFUSION_*`
/// environment variable sets them, as in datafusion-cli.
#[test]
fn tuned_datafusion_settings_yield_to_their_environment_variables() {
    let sql = "select value from information_schema.df_settings \
               where name = 'datafusion.execution.parquet.metadata_size_hint'";
    salesql()
        .args(["query", sql])
        .assert()
        .success()
        .stdout("value\n65536\n");
    salesql()
        .env("DATAFUSION_EXECUTION_PARQUET_METADATA_SIZE_HINT", "1024")
        .args(["query", sql])
        .assert()
        .success()
        .stdout("value\n1024\n");
}
