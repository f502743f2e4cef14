//! `salesql import`: the real Salesforce exports in `../shared/datasets/`, hand-made messy
//! files for every reading rule, the shipped CSV mapping, HubSpot exports, incremental imports
//! and imports that fail without touching the dataset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::common::{
    assert_column_layout, csv_records, empty_dir, query_csv, salesql, snapshot, stderr_of,
};
use super::saved_queries::BUILTIN;

/// A real CRM export from the project's shared datasets: `$SALESQL_SHARED_DATASETS`, or
/// `shared/datasets` next to the clone or above it, or `/work/shared/datasets`.
fn shared_dataset(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = std::env::var_os("SALESQL_SHARED_DATASETS")
        .map(PathBuf::from)
        .into_iter()
        .chain(manifest.ancestors().map(|dir| dir.join("shared/datasets")))
        .chain([PathBuf::from("/work/shared/datasets")]);
    let tried: Vec<PathBuf> = candidates.collect();
    tried
        .iter()
        .map(|dir| dir.join(name))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "the shared dataset {name} is missing (looked in {tried:?}; set SALESQL_SHARED_DATASETS)"
            )
        })
}

/// Runs an import; returns the process output.
fn import(args: &[&str], dir: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    salesql()
        .arg("import")
        .args(args)
        .arg(dir)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("the binary runs")
}

fn import_ok(args: &[&str], dir: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let report = out.with_extension("report.json");
    let mut all: Vec<&str> = extra.to_vec();
    let report_arg = report.to_str().unwrap().to_string();
    all.extend(["--report", &report_arg]);
    let output = import(args, dir, out, &all);
    assert!(
        output.status.success(),
        "import failed: {}",
        stderr_of(&output)
    );
    serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap()
}

/// Records of a CSV file as maps from column to value (the reference reader of the tests).
fn csv_maps(path: &Path) -> Vec<BTreeMap<String, String>> {
    let records = csv_records(&std::fs::read(path).unwrap());
    let header = &records[0];
    records[1..]
        .iter()
        .map(|r| header.iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

fn check_passes(root: &Path) {
    let output = salesql()
        .arg("--data")
        .arg(root)
        .arg("check")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "check failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr_of(&output)
    );
}

fn saved_queries_run(root: &Path) {
    for name in BUILTIN {
        let output = salesql()
            .arg("--data")
            .arg(root)
            .args(["run", name, "--format", "csv"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {}", stderr_of(&output));
    }
}

/// Asserts the rows of a query result (after its header).
fn assert_rows<const N: usize>(records: &[Vec<String>], expected: &[[&str; N]]) {
    let expected: Vec<Vec<String>> = expected
        .iter()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(records[1..], expected);
}

/// Asserts what a query over `root` returns (after the header).
fn assert_query<const N: usize>(root: &Path, sql: &str, expected: &[[&str; N]]) {
    assert_rows(&query_csv(root, sql), expected);
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn the_salesforce_sample_org_imports_with_the_answers_its_files_give() {
    let export = shared_dataset("salesforce-sample-org");
    let scratch = empty_dir();
    let root = scratch.path().join("crm");
    let report = import_ok(&["salesforce"], &export, &root, &[]);

    // The reference: the export itself, read plainly.
    let opportunities = csv_maps(&export.join("Opportunity.csv"));
    let won = opportunities
        .iter()
        .filter(|o| o["IsWon"] == "TRUE")
        .count();
    let lost = opportunities
        .iter()
        .filter(|o| o["IsClosed"] == "TRUE" && o["IsWon"] == "FALSE")
        .count();
    assert_eq!(
        report["tables"]["opportunities"]["read"],
        opportunities.len()
    );
    assert_eq!(
        report["tables"]["opportunities"]["new"],
        opportunities.len()
    );
    assert_eq!(report["tables"]["opportunities"]["rejected"], 0);
    // Times are delta-encoded as in generated data.
    let (delta, _) = assert_column_layout(&root);
    assert!(delta > 0);
    let counts = query_csv(
        &root,
        "select status, count(*) from opportunities group by status order by status",
    );
    let (lost, won, open) = (
        lost.to_string(),
        won.to_string(),
        (opportunities.len() - won - lost).to_string(),
    );
    assert_rows(
        &counts,
        &[["lost", lost.as_str()], ["open", &open], ["won", &won]],
    );
    // MM/DD/YY dates; closed_at only for closed opportunities; amounts as decimals.
    let first = query_csv(
        &root,
        "select created_at, closed_at, amount, stage from opportunities where opportunity_id = '006bm00000LKJNNAA5'",
    );
    assert_eq!(
        first[1],
        ["2026-02-23T00:00:00Z", "", "15000.00", "Qualification"]
    );
    let closed = query_csv(
        &root,
        "select count(*) from opportunities where status <> 'open' and closed_at is null",
    );
    assert_eq!(closed[1], ["0"]);

    // Stages: kinds from IsWon/IsClosed, open stages by probability.
    let stages = query_csv(
        &root,
        "select stage, position, kind from stages order by position nulls last",
    );
    assert_eq!(stages[1], ["Prospecting", "1", "open"]);
    assert_eq!(stages[2], ["Qualification", "2", "open"]);
    assert_eq!(stages[8], ["Negotiation/Review", "8", "open"]);
    assert_eq!(stages[9], ["Closed Won", "9", "won"]);
    assert_eq!(stages[10], ["Closed Lost", "", "lost"]);

    // Every history row whose stage differs from the row before it is an entry.
    let history = csv_maps(&export.join("OpportunityHistory.csv"));
    let mut by_opportunity: BTreeMap<&str, Vec<(chrono::NaiveDateTime, &str)>> = BTreeMap::new();
    for row in &history {
        let at = chrono::NaiveDateTime::parse_from_str(&row["CreatedDate"], "%m/%d/%y %I:%M %p")
            .unwrap();
        by_opportunity
            .entry(&row["OpportunityId"])
            .or_default()
            .push((at, &row["StageName"]));
    }
    let entries: usize = by_opportunity
        .values_mut()
        .map(|stages| {
            stages.sort_by_key(|(at, _)| *at);
            1 + stages.windows(2).filter(|w| w[0].1 != w[1].1).count()
        })
        .sum();
    let stored = query_csv(&root, "select count(*) from stage_history");
    assert_eq!(stored[1], [entries.to_string()]);

    // The export's other objects are listed as not read; check and every saved query work.
    let ignored = report["ignored_files"].as_array().unwrap();
    assert!(
        ignored
            .iter()
            .any(|f| f.as_str().unwrap().ends_with("Account.csv"))
    );
    check_passes(&root);
    saved_queries_run(&root);
}

#[test]
fn a_stages_file_sets_the_stage_order() {
    let export = shared_dataset("salesforce-sample-org");
    let scratch = empty_dir();
    let stages = scratch.path().join("stages.csv");
    std::fs::write(
        &stages,
        "stage,position,kind\nProspecting,1,open\nNegotiation/Review,2,open\nClosed Won,3,won\nClosed Lost,,lost\n",
    )
    .unwrap();
    let root = scratch.path().join("crm");
    let report = import_ok(
        &["salesforce"],
        &export,
        &root,
        &["--stages", stages.to_str().unwrap()],
    );
    assert_eq!(report["stages_origin"], "--stages");
    assert_eq!(report["tables"]["opportunities"]["written"], 36);
    assert_query(
        &root,
        "select stage, position, kind from stages order by position nulls last",
        &[
            ["Prospecting", "1", "open"],
            ["Negotiation/Review", "2", "open"],
            ["Closed Won", "3", "won"],
            ["Closed Lost", "", "lost"],
        ],
    );
    // A stages file with a bad kind is refused, naming the file and the line.
    std::fs::write(&stages, "stage,position,kind\nProspecting,1,maybe\n").unwrap();
    let output = import(
        &["salesforce"],
        &export,
        &scratch.path().join("other"),
        &["--stages", stages.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("stages.csv: line 2"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn the_elt_replica_with_snake_case_columns_imports() {
    let export = shared_dataset("salesforce-dbt-seeds");
    let scratch = empty_dir();
    let root = scratch.path().join("crm");
    let report = import_ok(&["salesforce"], &export, &root, &[]);

    // Every replicated opportunity is marked deleted: all skipped, none lost or rejected.
    let opportunities = csv_maps(&export.join("sf_opportunity_data.csv"));
    let deleted = opportunities
        .iter()
        .filter(|o| o["is_deleted"] == "true")
        .count();
    assert_eq!(report["tables"]["opportunities"]["skipped"], deleted);
    assert_eq!(
        report["tables"]["opportunities"]["new"],
        opportunities.len() - deleted
    );

    // Events become calls or meetings by their type, with minutes as seconds.
    let events = csv_maps(&export.join("sf_event_data.csv"));
    let calls = events.iter().filter(|e| e["type"] == "Call").count();
    let counted = query_csv(
        &root,
        "select type, count(*), sum(duration_s) from activities where activity_id like '00U%' group by type order by type",
    );
    assert_eq!(counted[1][0], "call");
    assert_eq!(counted[1][1], calls.to_string());
    let minutes: i64 = events
        .iter()
        .filter(|e| e["type"] == "Call")
        .map(|e| e["duration_in_minutes"].parse::<i64>().unwrap_or(0))
        .sum();
    assert_eq!(counted[1][2], (minutes * 60).to_string());
    // Tasks that are to-dos are not activities.
    let tasks = csv_maps(&export.join("sf_task_data.csv"));
    assert_eq!(
        report["tables"]["activities"]["read"],
        tasks.len() + events.len()
    );

    // Users in history mode: only the active version of each, and none deleted.
    let users = csv_maps(&export.join("sf_user_data.csv"));
    let active = users
        .iter()
        .filter(|u| u["_fivetran_active"] != "false" && u["_fivetran_deleted"] != "true")
        .count();
    let reps = query_csv(&root, "select count(*) from reps");
    assert_eq!(reps[1], [active.to_string()]);
    check_passes(&root);
    saved_queries_run(&root);
}

/// A mapping for the messy-file tests: one opportunities file, one activities file.
const MESSY_MAPPING: &str = r#"
time_zone = "America/New_York"

[[source]]
table = "opportunities"
files = ["deals.csv"]
skip_if_true = ["Deleted"]
[source.columns]
opportunity_id = "Deal Id"
owner_id = "Owner"
created_at = "Created"
closed_at = { column = "Closed", only_if_true = "Is Closed" }
status = { won = "Is Won", closed = "Is Closed" }
stage = "Stage"
amount = "Amount"
source = "Notes"
_updated = "Modified"

[[source]]
table = "activities"
files = ["touches.csv"]
skip_if_empty = ["type"]
[source.columns]
activity_id = "Id"
rep_id = "Owner"
opportunity_id = "Deal Id"
type = { column = "Kind", values = { phone = "call", "e-mail" = "email", visit = "meeting", note = "" }, unmapped = "reject" }
occurred_at = "When"
duration_s = { column = "Minutes", multiply = 60 }

[stages]
order = ["Intro", "Demo", "Won"]
won = ["Won"]
lost = ["Lost"]
"#;

/// The messy export in a fresh folder, with where to import it.
struct Messy {
    scratch: tempfile::TempDir,
    export: PathBuf,
    root: PathBuf,
    mapping: PathBuf,
}

impl Messy {
    fn new() -> Self {
        let scratch = empty_dir();
        let export = scratch.path().join("export");
        std::fs::create_dir(&export).unwrap();
        messy_export(&export);
        Messy {
            root: scratch.path().join("crm"),
            mapping: export.join("mapping.toml"),
            export,
            scratch,
        }
    }
}

fn messy_export(dir: &Path) {
    // A BOM, CRLF line ends, a quoted field with a newline, every date layout, booleans
    // spelled four ways, amounts with currency and separators, empty strings, a bad date and
    // a short record.
    let deals = "\u{feff}Deal Id,Owner,Created,Closed,Is Won,Is Closed,Stage,Amount,Notes,Modified,Deleted\r\n\
        D1,ann,01/15/24 09:30 AM,02/01/24,TRUE,TRUE,Won,\"$1,234.50\",\"two\r\nlines\",2024-02-01T10:00:00Z,FALSE\r\n\
        D2,bob,2024-01-20,,false,0,Demo,\"(200)\",,2024-02-01 10:00:00,no\r\n\
        D3,ann,2024-01-21T08:00:00+01:00,2024-03-01,0,1,Lost,EUR 99,,,\r\n\
        D4,bob,not a date,,FALSE,FALSE,Intro,10,,,\r\n\
        D5,ann,2024-01-22\r\n\
        D6,bob,2024-01-23,,FALSE,FALSE,Intro,1 000,,,TRUE\r\n";
    write(dir, "deals.csv", deals);
    let touches = "Id,Owner,Deal Id,Kind,When,Minutes\n\
        A1,ann,D1,Phone,2024-01-16 10:00,15\n\
        A2,ann,D1,E-mail,2024-01-17 11:00,\n\
        A3,bob,D2,note,2024-01-18 12:00,\n\
        A4,bob,D2,fax,2024-01-19 12:00,\n\
        A5,bob,,visit,2023-12-19 12:00,60\n";
    write(dir, "touches.csv", touches);
    write(dir, "mapping.toml", MESSY_MAPPING);
}

#[test]
fn messy_files_are_read_and_unreadable_records_are_kept_with_their_reason() {
    let Messy {
        scratch: _scratch,
        export,
        root,
        mapping,
    } = Messy::new();
    let report = import_ok(
        &["csv"],
        &export,
        &root,
        &["--mapping", mapping.to_str().unwrap()],
    );

    let deals = &report["tables"]["opportunities"];
    assert_eq!(
        (
            deals["read"].as_u64(),
            deals["skipped"].as_u64(),
            deals["rejected"].as_u64(),
            deals["new"].as_u64()
        ),
        (Some(6), Some(1), Some(2), Some(3))
    );
    let rows = query_csv(
        &root,
        "select opportunity_id, created_at, closed_at, status, amount, source from opportunities order by opportunity_id",
    );
    assert_eq!(
        rows[1..],
        [
            // New York time without a zone → UTC; a date-only close; a quoted newline kept.
            [
                "D1",
                "2024-01-15T14:30:00Z",
                "2024-02-01T05:00:00Z",
                "won",
                "1234.50",
                "two\r\nlines"
            ],
            ["D2", "2024-01-20T05:00:00Z", "", "open", "-200.00", ""],
            [
                "D3",
                "2024-01-21T07:00:00Z",
                "2024-03-01T05:00:00Z",
                "lost",
                "99.00",
                ""
            ],
        ]
    );
    let rejects =
        csv_records(&std::fs::read(root.join("_rejects/opportunities--deals.csv")).unwrap());
    assert_eq!(rejects[0][..3], ["_line", "_reason", "Deal Id"]);
    assert_eq!(rejects.len(), 3);
    assert!(
        rejects[1][1].contains("created_at") && rejects[1][1].contains("not a date"),
        "{:?}",
        rejects[1]
    );
    assert_eq!(rejects[1][2], "D4");
    assert!(rejects[2][1].contains("fields"), "{:?}", rejects[2]);

    // Activities: mapped kinds, minutes → seconds, a note skipped, an unknown kind rejected.
    let touches = &report["tables"]["activities"];
    assert_eq!(
        (touches["skipped"].as_u64(), touches["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert_query(
        &root,
        "select activity_id, type, duration_s, year from activities order by activity_id",
        &[
            ["A1", "call", "900", "2024"],
            ["A2", "email", "", "2024"],
            ["A5", "meeting", "3600", "2023"],
        ],
    );
    let rejected =
        csv_records(&std::fs::read(root.join("_rejects/activities--touches.csv")).unwrap());
    assert!(rejected[1][1].contains("'fax'"), "{:?}", rejected[1]);

    // The stage order of the mapping; check and the saved queries work on the result.
    assert_query(
        &root,
        "select stage, position, kind from stages order by position nulls last",
        &[
            ["Intro", "1", "open"],
            ["Demo", "2", "open"],
            ["Won", "3", "won"],
            ["Lost", "", "lost"],
        ],
    );
    check_passes(&root);
    saved_queries_run(&root);
}

#[test]
fn a_newer_export_updates_rows_and_rewrites_only_the_files_that_change() {
    let Messy {
        scratch: _scratch,
        export,
        root,
        mapping,
    } = Messy::new();
    let mapping_arg = ["--mapping", mapping.to_str().unwrap()];
    import_ok(&["csv"], &export, &root, &mapping_arg);
    let before = snapshot(&root);

    // The same export again changes nothing and writes no table file.
    let again = import_ok(&["csv"], &export, &root, &mapping_arg);
    assert_eq!(again["tables"]["opportunities"]["unchanged"], 3);
    assert_eq!(again["tables"]["opportunities"]["files_written"], 0);
    let tables_only = |files: Vec<(PathBuf, u64, std::time::SystemTime)>| -> Vec<_> {
        files
            .into_iter()
            .filter(|(p, _, _)| p.extension().is_some_and(|e| e == "parquet"))
            .collect()
    };
    assert_eq!(tables_only(snapshot(&root)), tables_only(before.clone()));

    // A newer export: D2 won (newer), D1 in an older version (ignored), a 2025 activity.
    write(
        &export,
        "deals.csv",
        "Deal Id,Owner,Created,Closed,Is Won,Is Closed,Stage,Amount,Notes,Modified,Deleted\n\
         D1,ann,01/15/24 09:30 AM,,FALSE,FALSE,Demo,5,,2024-01-20T10:00:00Z,FALSE\n\
         D2,bob,2024-01-20,2024-03-05,true,1,Won,300,,2024-03-05T10:00:00Z,FALSE\n",
    );
    write(
        &export,
        "touches.csv",
        "Id,Owner,Deal Id,Kind,When,Minutes\nA9,bob,D2,phone,2025-01-02 09:00,5\n",
    );
    let report = import_ok(&["csv"], &export, &root, &mapping_arg);
    let deals = &report["tables"]["opportunities"];
    assert_eq!(
        (
            deals["new"].as_u64(),
            deals["updated"].as_u64(),
            deals["unchanged"].as_u64()
        ),
        (Some(0), Some(1), Some(1))
    );
    assert_query(
        &root,
        "select opportunity_id, status, amount from opportunities order by opportunity_id",
        &[
            ["D1", "won", "1234.50"],
            ["D2", "won", "300.00"],
            ["D3", "lost", "99.00"],
        ],
    );
    // Activities of 2023 and 2024 are untouched files; 2025 is a new one.
    assert_eq!(report["tables"]["activities"]["files_written"], 1);
    let after = tables_only(snapshot(&root));
    for (path, size, modified) in tables_only(before) {
        if path.to_string_lossy().contains("activities") {
            assert!(
                after.contains(&(path.clone(), size, modified)),
                "{} was rewritten",
                path.display()
            );
        }
    }
    let count = query_csv(&root, "select count(*) from activities");
    assert_eq!(count[1], ["4"]);
    // The rejects of this import replace those of the last one.
    assert!(!root.join("_rejects/opportunities--deals.csv").exists());
}

#[test]
fn deleted_records_leave_and_a_delta_export_does_not_repeat_a_stage() {
    let Messy {
        scratch: _scratch,
        export,
        root,
        mapping,
    } = Messy::new();
    let mapping_arg = ["--mapping", mapping.to_str().unwrap()];
    import_ok(&["csv"], &export, &root, &mapping_arg);

    // D3 is deleted in the CRM: the next export marks it so, and it leaves the dataset.
    write(
        &export,
        "deals.csv",
        "Deal Id,Owner,Created,Closed,Is Won,Is Closed,Stage,Amount,Notes,Modified,Deleted\n\
         D3,ann,2024-01-21,2024-03-01,0,1,Lost,99,,2024-04-01T00:00:00Z,TRUE\n",
    );
    std::fs::remove_file(export.join("touches.csv")).unwrap();
    let report = import_ok(&["csv"], &export, &root, &mapping_arg);
    assert_eq!(report["tables"]["opportunities"]["deleted"], 1);
    assert_query(
        &root,
        "select opportunity_id from opportunities order by 1",
        &[["D1"], ["D2"]],
    );

    // Stage history: a delta export repeating the stored stage adds no entry.
    let history_mapping = export.join("history.toml");
    write(
        &export,
        "history.toml",
        "[[source]]\ntable = \"stage_history\"\nfiles = [\"history.csv\"]\n\
         columns = { opportunity_id = \"Deal\", stage = \"Stage\", entered_at = \"At\" }\n",
    );
    let history_arg = ["--mapping", history_mapping.to_str().unwrap()];
    std::fs::remove_file(export.join("deals.csv")).unwrap();
    write(
        &export,
        "history.csv",
        "Deal,Stage,At\nD1,Intro,2024-01-01\nD1,Demo,2024-01-05\n",
    );
    import_ok(&["csv"], &export, &root, &history_arg);
    write(
        &export,
        "history.csv",
        "Deal,Stage,At\nD1,Demo,2024-01-09\nD1,Won,2024-01-10\n",
    );
    let report = import_ok(&["csv"], &export, &root, &history_arg);
    assert_eq!(report["tables"]["stage_history"]["new"], 1);
    assert_eq!(report["tables"]["stage_history"]["repeated_stages"], 1);
    assert_query(
        &root,
        "select stage, entered_at from stage_history order by entered_at",
        &[
            ["Intro", "2024-01-01T00:00:00Z"],
            ["Demo", "2024-01-05T00:00:00Z"],
            ["Won", "2024-01-10T00:00:00Z"],
        ],
    );
}

#[test]
fn a_table_first_imported_empty_fills_in_later() {
    let Messy {
        scratch: _scratch,
        export,
        root,
        mapping,
    } = Messy::new();
    let touches = std::fs::read_to_string(export.join("touches.csv")).unwrap();
    std::fs::remove_file(export.join("touches.csv")).unwrap();
    let mapping_arg = ["--mapping", mapping.to_str().unwrap()];
    import_ok(&["csv"], &export, &root, &mapping_arg);
    // No activities in the export: an empty table, so that queries and check still work.
    assert_query(&root, "select count(*) from activities", &[["0"]]);
    check_passes(&root);

    write(&export, "touches.csv", &touches);
    import_ok(&["csv"], &export, &root, &mapping_arg);
    assert_query(
        &root,
        "select year, count(*) from activities group by year order by year",
        &[["2023", "1"], ["2024", "2"]],
    );
    // The empty placeholder at the table's top level is gone: only year folders remain.
    let top_level_files = std::fs::read_dir(root.join("activities"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count();
    assert_eq!(top_level_files, 0);
    check_passes(&root);
}

#[test]
fn a_failed_import_leaves_the_previous_dataset_as_it_was() {
    let Messy {
        scratch,
        export,
        root,
        mapping,
    } = Messy::new();
    let mapping_arg = ["--mapping", mapping.to_str().unwrap()];
    import_ok(&["csv"], &export, &root, &mapping_arg);
    let before = snapshot(&root);

    // The second file lacks a column every activity needs: the import fails after the first
    // file was read, and nothing of it lands.
    write(
        &export,
        "deals.csv",
        "Deal Id,Owner,Created,Closed,Is Won,Is Closed,Stage,Amount,Notes,Modified,Deleted\nD7,ann,2024-05-01,,0,0,Intro,1,,,\n",
    );
    write(
        &export,
        "touches.csv",
        "Id,Owner,Deal Id,Kind,Minutes\nA1,ann,D1,Phone,15\n",
    );
    let output = import(&["csv"], &export, &root, &mapping_arg);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let message = stderr_of(&output);
    assert!(
        message.contains("touches.csv")
            && message.contains("occurred_at")
            && message.contains("When"),
        "{message}"
    );
    assert_eq!(snapshot(&root), before, "the dataset changed");

    // Nor does an import into a folder of someone else's files touch them.
    let foreign = scratch.path().join("foreign");
    std::fs::create_dir_all(foreign.join("notes")).unwrap();
    std::fs::write(foreign.join("notes/a.txt"), "mine").unwrap();
    let output = import(&["csv"], &export, &foreign, &mapping_arg);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("did not write"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);

    // A mapping that names a column the table does not have is a usage error naming it.
    write(
        &export,
        "bad.toml",
        "[[source]]\ntable = \"opportunities\"\nfiles = [\"deals.csv\"]\ncolumns = { opportunity_id = \"Deal Id\", colour = \"x\" }\n",
    );
    let output = import(
        &["csv"],
        &export,
        &scratch.path().join("new"),
        &["--mapping", export.join("bad.toml").to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("`colour`"),
        "{}",
        stderr_of(&output)
    );
    assert!(
        !scratch.path().join("new").exists()
            || std::fs::read_dir(scratch.path().join("new"))
                .unwrap()
                .count()
                == 0
    );
}

#[test]
fn the_shipped_mapping_reads_the_crm_sales_opportunities_layout() {
    let scratch = empty_dir();
    let export = scratch.path().join("export");
    std::fs::create_dir(&export).unwrap();
    write(
        &export,
        "sales_pipeline.csv",
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n\
         1C1I7A6R,Moses Frase,GTX Plus Basic,Cancity,Won,2016-10-20,2017-03-01,1054\n\
         Z063OYW0,Darcel Schlecht,GTXPro,Isdom,Won,2016-10-25,2017-03-11,4514\n\
         EC4QE1BX,Darcel Schlecht,MG Special,Cancity,Won,2016-10-25,2017-03-07,50\n\
         MV1LWRNH,Moses Frase,GTX Basic,Codehow,Lost,2016-10-25,2017-03-09,0\n\
         PE84CX4O,Zane Levy,GTX Basic,Hatfan,Engaging,2016-10-26,,\n\
         ZNBS69V1,Anna Snelling,MG Special,Ron-tech,Prospecting,,,\n",
    );
    write(
        &export,
        "sales_teams.csv",
        "sales_agent,manager,regional_office\nMoses Frase,Dustin Brinkmann,Central\nDarcel Schlecht,Melvin Marxen,Central\nZane Levy,Summer Sewald,West\nAnna Snelling,Dustin Brinkmann,Central\n",
    );
    let root = scratch.path().join("crm");
    let mapping =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mappings/crm-sales-opportunities.toml");
    import_ok(
        &["csv"],
        &export,
        &root,
        &["--mapping", mapping.to_str().unwrap()],
    );
    assert_query(
        &root,
        "select status, count(*), sum(amount) from opportunities group by status order by status",
        &[
            ["lost", "1", "0.00"],
            ["open", "2", ""],
            ["won", "3", "5618.00"],
        ],
    );
    // Five deals were engaged, four closed: Engaging and Won/Lost entries.
    assert_query(
        &root,
        "select stage, count(*) from stage_history group by stage order by stage",
        &[["Engaging", "5"], ["Lost", "1"], ["Won", "3"]],
    );
    check_passes(&root);
    saved_queries_run(&root);
}

#[test]
fn hubspot_exports_import_with_their_column_labels() {
    let scratch = empty_dir();
    let export = scratch.path().join("export");
    std::fs::create_dir(&export).unwrap();
    write(
        &export,
        "hubspot-crm-exports-all-deals-2024-06-01.csv",
        "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Deal owner,Last Modified Date,Is Closed Won,Is Closed,Associated Company IDs\n\
         101,Acme renewal,closedwon,\"12,000\",2024-05-02 10:00,2024-03-01 09:00,Jane Roe,2024-05-02 10:00,true,true,9001;9002\n\
         102,Globex pilot,presentationscheduled,5000,2024-07-01 00:00,2024-04-01 09:00,Jane Roe,2024-05-03 10:00,false,false,9003\n\
         103,Initech,closedlost,800,2024-05-20 00:00,2024-04-05 09:00,Max Poe,2024-05-20 10:00,false,true,\n",
    );
    write(
        &export,
        "deal_stage.csv",
        "deal_id,value,date_entered\n101,appointmentscheduled,2024-03-01 09:00\n101,presentationscheduled,2024-03-20 09:00\n101,closedwon,2024-05-02 10:00\n\
         102,appointmentscheduled,2024-04-01 09:00\n102,presentationscheduled,2024-04-15 09:00\n103,appointmentscheduled,2024-04-05 09:00\n103,closedlost,2024-05-20 00:00\n",
    );
    write(
        &export,
        "engagements.csv",
        "engagement_id,type,timestamp,owner_id,deal_id,company_id,hs_call_duration\n\
         1,CALL,2024-03-02 10:00,Jane Roe,101,9001,120000\n2,EMAIL,2024-03-03 10:00,Jane Roe,101,9001,\n\
         3,NOTE,2024-03-04 10:00,Jane Roe,101,9001,\n4,MEETING,2024-04-02 10:00,Max Poe,103,,\n",
    );
    let root = scratch.path().join("crm");
    let report = import_ok(&["hubspot"], &export, &root, &[]);
    assert_eq!(report["tables"]["activities"]["skipped"], 1, "the note");
    assert_query(
        &root,
        "select opportunity_id, status, amount, account_id, closed_at is null from opportunities order by 1",
        &[
            ["101", "won", "12000.00", "9001", "false"],
            ["102", "open", "5000.00", "9003", "true"],
            ["103", "lost", "800.00", "", "false"],
        ],
    );
    assert_query(
        &root,
        "select stage, position, kind from stages order by position nulls last",
        &[
            ["appointmentscheduled", "1", "open"],
            ["presentationscheduled", "2", "open"],
            ["closedwon", "3", "won"],
            ["closedlost", "", "lost"],
        ],
    );
    assert_query(
        &root,
        "select type, duration_s from activities order by activity_id",
        &[["call", "120"], ["email", ""], ["meeting", ""]],
    );
    check_passes(&root);
    saved_queries_run(&root);
}
