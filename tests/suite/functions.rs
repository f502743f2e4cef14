//! `salesql functions` and the sales functions' documentation: every function is listed, and
//! every documented example runs.

use super::common::{csv_records, salesql, stderr_of};

const FUNCTIONS: [&str; 14] = [
    "window_funnel",
    "funnel",
    "step_conversion",
    "funnel_shape",
    "funnel_leak",
    "win_rate",
    "cycle_days",
    "business_days",
    "fiscal_year",
    "fiscal_quarter",
    "fiscal_trunc",
    "open_at",
    "open_series",
    "max_concurrent",
];

fn listing() -> Vec<Vec<String>> {
    let output = salesql()
        .args(["functions", "--format", "csv"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    csv_records(&output.stdout)
}

#[test]
fn every_sales_function_is_listed_with_its_documentation() {
    let records = listing();
    assert_eq!(
        records[0],
        [
            "name",
            "kind",
            "syntax",
            "description",
            "arguments",
            "example"
        ]
    );
    let names: Vec<&str> = records[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, FUNCTIONS);
    for row in &records[1..] {
        assert!(row[2].starts_with(&row[0]), "{row:?}");
        assert!(row[3].len() > 40, "{} has a description", row[0]);
        assert!(
            !row[4].is_empty() && !row[5].is_empty(),
            "{} has arguments and an example",
            row[0]
        );
    }
    let kinds: Vec<(&str, &str)> = records[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert!(kinds.contains(&("window_funnel", "aggregate")));
    assert!(kinds.contains(&("fiscal_trunc", "scalar")));
}

#[test]
fn every_documented_example_runs_and_shows_its_answer() {
    for row in &listing()[1..] {
        let example = &row[5];
        let sql: String = example
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        let output = salesql()
            .args(["query", &sql, "--format", "csv"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {sql}\n{}",
            row[0],
            stderr_of(&output)
        );
        // Where the example states its answer in a comment, check it.
        if let Some(answer) = example.lines().find_map(|l| l.trim().strip_prefix("-- ")) {
            let values: Vec<String> = csv_records(&output.stdout)[1].clone();
            let shown = values.join(", ");
            let expected = answer.trim_end_matches('…');
            assert!(
                shown.starts_with(expected),
                "{}: expected {answer}, got {shown}",
                row[0]
            );
        }
    }
}

#[tokio::test]
async fn sessions_use_the_utc_fast_paths_of_date_trunc_and_date_part() {
    use salesql::functions::utc_as_naive::{date_part, date_trunc};
    let session = salesql::Session::open(&salesql::SessionSettings::default())
        .await
        .unwrap();
    let state = session.context().state();
    for (name, function) in [
        ("date_trunc", date_trunc()),
        ("datetrunc", date_trunc()),
        ("date_part", date_part()),
        ("datepart", date_part()),
    ] {
        assert_eq!(
            state.scalar_functions().get(name),
            Some(&function),
            "{name}"
        );
    }
    // `extract` is planned as date_part, and `extract(year …) = N` still prunes: DataFusion
    // rewrites it to a range on the column through date_part's preimage.
    let plan = session
        .context()
        .sql(
            "EXPLAIN SELECT count(*) FROM opportunities WHERE extract(year FROM created_at) = 2023",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&plan)
        .unwrap()
        .to_string();
    assert!(text.contains("created_at >="), "{text}");
    assert!(!text.contains("date_part"), "{text}");
}
