//! Parameters: typed binding through placeholders, never text substitution, and errors that
//! name the parameter and list the declared ones.

use predicates::prelude::*;

use super::common::{csv_records, empty_dir, salesql, stderr_of};

fn saved_query(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.sql"));
    std::fs::write(&path, text).unwrap();
    path
}

const ECHO: &str = "-- description: echoes its parameters with their types\n\
                    -- param: who VARCHAR = 'world'\n\
                    -- param: n INT = 3\n\
                    -- param: since DATE = 2024-01-31\n\
                    -- param: ratio DOUBLE = 0.5\n\
                    -- param: flag BOOLEAN = false\n\
                    -- param: span INTERVAL = 30 days\n\
                    SELECT $who AS who, $n + 1 AS n_plus_one, $since + INTERVAL '1 day' AS next_day,\n\
                    $ratio * 2 AS doubled, NOT $flag AS flipped, $since + $span AS later,\n\
                    arrow_typeof($n) AS n_type, arrow_typeof($since) AS since_type;\n";

#[test]
fn declared_defaults_are_bound_with_their_types() {
    let dir = empty_dir();
    let path = saved_query(dir.path(), "echo", ECHO);
    let output = salesql().arg("run").arg(&path).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let records = csv_records(&output.stdout);
    assert_eq!(
        records[1],
        [
            "world",
            "4",
            "2024-02-01",
            "1.0",
            "true",
            "2024-03-01",
            "Int32",
            "Date32"
        ]
    );
}

#[test]
fn given_values_override_defaults() {
    let dir = empty_dir();
    let path = saved_query(dir.path(), "echo", ECHO);
    let output = salesql()
        .arg("run")
        .arg(&path)
        .args([
            "--param",
            "who=Ada",
            "--param",
            "n=41",
            "--param",
            "flag=true",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let records = csv_records(&output.stdout);
    assert_eq!(
        &records[1][..5],
        ["Ada", "42", "2024-02-01", "1.0", "false"]
    );
}

#[test]
fn a_string_parameter_is_a_value_never_sql() {
    let dir = empty_dir();
    let path = saved_query(
        dir.path(),
        "lookup",
        "-- param: name VARCHAR = nobody\nSELECT count(*) AS n FROM reps WHERE name = $name;\n",
    );
    let injection = "x' OR '1'='1";
    let output = salesql()
        .arg("run")
        .arg(&path)
        .arg("--param")
        .arg(format!("name={injection}"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(String::from_utf8(output.stdout.clone()).unwrap(), "n\n0\n");
    let echoed = salesql()
        .args(["query", "select $name as name"])
        .arg("--param")
        .arg(format!("name={injection}"))
        .output()
        .unwrap();
    assert_eq!(csv_records(&echoed.stdout)[1], [injection]);
}

#[test]
fn unknown_parameters_are_usage_errors_listing_the_declared_ones() {
    let dir = empty_dir();
    let path = saved_query(dir.path(), "echo", ECHO);
    salesql()
        .arg("run")
        .arg(&path)
        .args(["--param", "whom=x"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("parameter `whom`: unknown")
                .and(predicate::str::contains("who VARCHAR = world")),
        );
}

#[test]
fn ill_typed_values_name_the_parameter_and_the_type() {
    let dir = empty_dir();
    let path = saved_query(dir.path(), "echo", ECHO);
    salesql()
        .arg("run")
        .arg(&path)
        .args(["--param", "since=last tuesday"])
        .assert()
        .code(2)
        .stderr("error: parameter `since`: \"last tuesday\" is not a valid DATE\n");
}

/// A DATE compared with timestamps must fit DataFusion's nanosecond timestamps; beyond 2262
/// the refusal names the parameter, not a Date32 day count.
#[test]
fn a_date_beyond_what_timestamps_hold_names_the_parameter() {
    salesql()
        .args(["run", "funnel", "--param", "since=9999-12-31"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: parameter `since`: 9999-12-31 is compared with timestamps, which hold \
             dates from 1677-09-22 to 2262-04-11 only",
        ));
    salesql()
        .args(["run", "funnel", "--param", "since=2262-04-11"])
        .assert()
        .success();
}

/// A well-typed value that a sales function refuses is still the parameter's fault.
#[test]
fn a_value_a_function_refuses_names_the_parameter() {
    salesql()
        .args(["run", "quota_attainment", "--param", "period=fortnight"])
        .assert()
        .code(2)
        .stderr(
            "error: parameter `period`: fiscal_trunc: argument `granularity` must be 'month', \
             'quarter' or 'year', not 'fortnight'\n",
        );
    salesql()
        .args(["run", "quota_attainment", "--param", "fiscal_start=13"])
        .assert()
        .code(2)
        .stderr(
            "error: parameter `fiscal_start`: fiscal_trunc: argument `start_month` must be \
             between 1 and 12, not 13\n",
        );
}

/// Only a function that takes the parameter can be refusing it: a constant expression that a
/// function refuses is the statement's fault, even when a parameter holds the same value.
#[test]
fn a_refused_constant_expression_is_not_blamed_on_a_parameter() {
    salesql()
        .args([
            "query",
            "select fiscal_year(DATE '2024-05-01', 6 + 7) AS y, $x AS x",
        ])
        .args(["--param", "x=13"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("fiscal_year: argument `start_month`")
                .and(predicate::str::contains("parameter").not()),
        );
    salesql()
        .args([
            "query",
            "select fiscal_year(DATE '2024-05-01', $x + 0) AS y",
        ])
        .args(["--param", "x=13"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: parameter `x`: fiscal_year: argument `start_month`",
        ));
}

#[test]
fn a_parameter_given_twice_is_a_usage_error() {
    salesql()
        .args(["run", "funnel", "--param", "since=2024-01-01"])
        .args(["--param", "since=2025-01-01"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--param since is given twice (since=2024-01-01 and since=2025-01-01)",
        ));
}

#[test]
fn required_parameters_must_be_given() {
    let dir = empty_dir();
    let path = saved_query(
        dir.path(),
        "needs",
        "-- param: region VARCHAR\nSELECT $region AS r;\n",
    );
    salesql().arg("run").arg(&path).assert().code(2).stderr(
        predicate::str::contains("parameter `region`: missing")
            .and(predicate::str::contains("region VARCHAR (required)")),
    );
    salesql()
        .arg("run")
        .arg(&path)
        .args(["--param", "region=EMEA"])
        .assert()
        .success()
        .stdout("r\nEMEA\n");
}

#[test]
fn an_undeclared_placeholder_is_reported() {
    let dir = empty_dir();
    let path = saved_query(
        dir.path(),
        "undeclared",
        "-- description: oops\nSELECT $missing AS m;\n",
    );
    salesql().arg("run").arg(&path).assert().code(2).stderr(
        predicate::str::contains("parameter `missing`")
            .and(predicate::str::contains("declares no parameters")),
    );
}

#[test]
fn ad_hoc_query_parameters_are_typed_by_their_look() {
    let output = salesql()
        .args([
            "query",
            "select arrow_typeof($a) as a, arrow_typeof($b) as b, arrow_typeof($c) as c",
        ])
        .args([
            "--param",
            "a=12",
            "--param",
            "b=2024-05-01",
            "--param",
            "c=EMEA",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(csv_records(&output.stdout)[1], ["Int64", "Date32", "Utf8"]);
}

#[test]
fn a_broken_header_is_reported_with_its_line() {
    let dir = empty_dir();
    let path = saved_query(
        dir.path(),
        "broken",
        "-- description: x\n-- param: since DATETIME\nSELECT 1;\n",
    );
    salesql()
        .arg("run")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "line 2: parameter `since`: unknown type `DATETIME`",
        ));
}

#[test]
fn saved_queries_are_found_in_the_queries_folder_before_the_builtins() {
    let dir = empty_dir();
    saved_query(
        dir.path(),
        "funnel",
        "-- description: mine\nSELECT 'shadowed' AS who;\n",
    );
    salesql()
        .args(["run", "funnel", "--queries"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout("who\nshadowed\n");
    salesql()
        .env("SALESQL_QUERIES", dir.path())
        .args(["run", "funnel"])
        .assert()
        .success()
        .stdout("who\nshadowed\n");
}
