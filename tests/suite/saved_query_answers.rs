//! Every built-in saved query on a small hand-made dataset whose answers were worked out by
//! hand (the arithmetic is in the comments), and every saved query against its plain-SQL
//! formulation in `benches/plain_sql/` on generated data: the two must agree row for row.
//!
//! The dataset: four reps (Ana, Ben and Cy in team East, Dee in West), six opportunities in the
//! first half of 2024 (string ids), their stage history, eleven activities at noon and monthly
//! quotas from January to June. Everything happens at 09:00 UTC unless said otherwise.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::common::{csv_records, dataset, salesql, scratch, stderr_of, write_parquet};
use super::saved_queries::BUILTIN;

fn handmade() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = scratch().join("handmade");
        write_parquet(
            &root.join("reps/reps.parquet"),
            "SELECT * FROM (VALUES \
             (1, 'Ana', 'East', 'EMEA', CAST(NULL AS BIGINT), TIMESTAMP '2020-01-01T00:00:00'), \
             (2, 'Ben', 'East', 'EMEA', 1, TIMESTAMP '2020-01-01T00:00:00'), \
             (3, 'Cy', 'East', 'EMEA', 1, TIMESTAMP '2020-01-01T00:00:00'), \
             (4, 'Dee', 'West', 'AMER', CAST(NULL AS BIGINT), TIMESTAMP '2020-01-01T00:00:00')) \
             AS t(rep_id, name, team, region, manager_id, hired_at)",
        );
        write_parquet(
            &root.join("opportunities/opportunities.parquet"),
            "SELECT opportunity_id, account_id, owner_id, created_at, closed_at, status, stage, \
             CAST(amount AS DECIMAL(18, 2)) AS amount, source, segment FROM (VALUES \
             ('O1', 101, 1, TIMESTAMP '2024-01-02T09:00:00', TIMESTAMP '2024-01-12T09:00:00', 'won', 'closed_won', 1000, 'inbound', 'smb'), \
             ('O2', 102, 1, TIMESTAMP '2024-01-03T09:00:00', TIMESTAMP '2024-02-02T09:00:00', 'lost', 'closed_lost', 2000, 'inbound', 'smb'), \
             ('O3', 103, 2, TIMESTAMP '2024-01-10T09:00:00', TIMESTAMP '2024-03-29T09:00:00', 'won', 'closed_won', 5000, 'outbound', 'mid_market'), \
             ('O4', 104, 2, TIMESTAMP '2024-02-01T10:00:00', CAST(NULL AS TIMESTAMP), 'open', 'proposal', 3000, 'outbound', 'mid_market'), \
             ('O5', 105, 3, TIMESTAMP '2024-02-05T09:00:00', TIMESTAMP '2024-02-06T09:00:00', 'lost', 'closed_lost', 500, 'event', 'smb'), \
             ('O6', 106, 4, TIMESTAMP '2024-04-01T09:00:00', TIMESTAMP '2024-06-28T09:00:00', 'won', 'closed_won', 8000, 'partner', 'enterprise')) \
             AS t(opportunity_id, account_id, owner_id, created_at, closed_at, status, stage, amount, source, segment)",
        );
        let history = [
            ("O1", 1, &["prospecting:01-02", "qualification:01-04", "discovery:01-05", "proposal:01-08", "negotiation:01-10", "closed_won:01-12"][..]),
            ("O2", 1, &["prospecting:01-03", "qualification:01-10", "closed_lost:02-02"][..]),
            ("O3", 2, &["prospecting:01-10", "qualification:01-15", "discovery:02-01", "proposal:03-01", "negotiation:03-15", "closed_won:03-29"][..]),
            ("O4", 2, &["prospecting:02-01", "qualification:02-10", "discovery:02-20", "proposal:03-05"][..]),
            ("O5", 3, &["prospecting:02-05", "closed_lost:02-06"][..]),
            ("O6", 4, &["prospecting:04-01", "qualification:04-15", "discovery:05-01", "proposal:05-15", "negotiation:06-01", "closed_won:06-28"][..]),
        ];
        let rows: Vec<String> = history
            .iter()
            .flat_map(|(opportunity, owner, entries)| {
                entries.iter().map(move |entry| {
                    let (stage, day) = entry.split_once(':').unwrap();
                    format!("('{opportunity}', '{stage}', TIMESTAMP '2024-{day}T09:00:00', {owner})")
                })
            })
            .collect();
        write_parquet(
            &root.join("stage_history/history.parquet"),
            &format!(
                "SELECT * FROM (VALUES {}) AS t(opportunity_id, stage, entered_at, owner_id)",
                rows.join(", ")
            ),
        );
        write_parquet(
            &root.join("activities/activities.parquet"),
            "SELECT activity_id, rep_id, opportunity_id, account_id, type, occurred_at, CAST(duration_s AS INT) AS duration_s, outcome FROM (VALUES \
             (1, 1, 'O1', 101, 'call', TIMESTAMP '2024-01-03T12:00:00', 300, 'connected'), \
             (2, 1, 'O1', 101, 'email', TIMESTAMP '2024-01-05T12:00:00', NULL, 'sent'), \
             (3, 1, 'O1', 101, 'meeting', TIMESTAMP '2024-01-09T12:00:00', 1800, 'held'), \
             (4, 1, 'O1', 101, 'call', TIMESTAMP '2024-01-11T12:00:00', 600, NULL), \
             (5, 1, 'O2', 102, 'email', TIMESTAMP '2024-01-04T12:00:00', NULL, 'sent'), \
             (6, 1, 'O2', 102, 'voicemail', TIMESTAMP '2024-01-15T12:00:00', 30, 'left_message'), \
             (7, 2, 'O3', 103, 'call', TIMESTAMP '2024-01-12T12:00:00', 900, 'connected'), \
             (8, 2, 'O3', 103, 'meeting', TIMESTAMP '2024-02-15T12:00:00', 3600, 'held'), \
             (9, 2, 'O3', 103, 'email', TIMESTAMP '2024-03-20T12:00:00', NULL, 'replied'), \
             (10, 2, 'O4', 104, 'email', TIMESTAMP '2024-02-02T12:00:00', NULL, 'sent'), \
             (11, 3, CAST(NULL AS VARCHAR), 30, 'call', TIMESTAMP '2024-02-01T12:00:00', 120, 'no_answer'), \
             (12, 4, 'O6', 106, 'meeting', TIMESTAMP '2024-05-20T12:00:00', 1800, 'held')) \
             AS t(activity_id, rep_id, opportunity_id, account_id, type, occurred_at, duration_s, outcome)",
        );
        write_parquet(
            &root.join("quotas/quotas.parquet"),
            "SELECT rep_id, 'month' AS period, CAST(month_start AS DATE) AS period_start, \
             CAST(month_start + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) AS period_end, \
             CAST(amount AS DECIMAL(18, 2)) AS amount \
             FROM (VALUES (1, 1000), (2, 2000), (3, 500), (4, 3000)) AS r(rep_id, amount) \
             CROSS JOIN (SELECT unnest(generate_series(DATE '2024-01-01', DATE '2024-06-01', INTERVAL '1 month')) AS month_start)",
        );
        root
    })
}

/// Runs a saved query on the hand-made data and returns its CSV lines.
fn answer(name: &str, params: &[&str]) -> Vec<String> {
    let mut command = salesql();
    command
        .arg("--data")
        .arg(handmade())
        .args(["run", name, "--format", "csv"]);
    for param in params {
        command.args(["--param", param]);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{name}: {}", stderr_of(&output));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn funnel_on_the_handmade_data() {
    // Q1 cohort: O1..O5 reach positions 6, 2, 6, 4, 1 → at least k: [5, 4, 3, 3, 2, 2].
    // Conversions 4/5, 3/4, 3/3, 2/3, 2/2; mean 0.84333, stddev_pop 0.13483 → shape 0.8401;
    // the lowest (2/3) is proposal → negotiation. Q2: O6 alone, even funnel, first step leaks.
    assert_eq!(
        answer("funnel", &["since=2024-01-01"]),
        [
            "cohort,opportunities,stage_counts,step_conversion,shape,leakiest_step",
            "2024-01-01,5,\"[5, 4, 3, 3, 2, 2]\",\"[0.8, 0.75, 1.0, 0.6666666666666666, 1.0]\",0.8401,proposal → negotiation",
            "2024-04-01,1,\"[1, 1, 1, 1, 1, 1]\",\"[1.0, 1.0, 1.0, 1.0, 1.0]\",1.0,prospecting → qualification",
        ]
    );
}

#[test]
fn conversion_on_the_handmade_data() {
    // Decided: O1 (Ana, level 6), O2 (Ana, 2), O3 (Ben, 6), O5 (Cy, 1), O6 (Dee, 6).
    // Team East levels 6, 2, 6, 1 → [4, 3, 2, 2, 2, 2]: 0.75, 0.6667, 1, 1, 1; win rate 2/4.
    let lines = answer("conversion", &["since=2024-01-01"]);
    assert_eq!(
        lines[0],
        "rep_id,name,team,step,entered,advanced,rate,team_rate,gap"
    );
    let ana: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("1,"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        ana,
        [
            "1,Ana,East,overall,2,1,0.5,0.5,0.0",
            "1,Ana,East,prospecting → qualification,2,2,1.0,0.75,0.25",
            "1,Ana,East,qualification → discovery,2,1,0.5,0.6667,-0.1667",
            "1,Ana,East,discovery → proposal,1,1,1.0,1.0,0.0",
            "1,Ana,East,proposal → negotiation,1,1,1.0,1.0,0.0",
            "1,Ana,East,negotiation → closed_won,1,1,1.0,1.0,0.0",
        ]
    );
    let cy: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("3,"))
        .map(String::as_str)
        .collect();
    assert_eq!(cy[0], "3,Cy,East,overall,1,0,0.0,0.5,-0.5");
    assert_eq!(
        cy[1],
        "3,Cy,East,prospecting → qualification,1,0,0.0,0.75,-0.75"
    );
    assert_eq!(cy[2], "3,Cy,East,qualification → discovery,0,0,,0.6667,");
    assert!(
        lines.contains(&"4,Dee,West,overall,1,1,1.0,1.0,0.0".to_string()),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 1 + 4 * 6);
}

#[test]
fn conversion_outliers_on_the_handmade_data() {
    // East, prospecting → qualification: 1.0, 1.0, 0.0 → mean 0.6667, stddev 0.4714, Cy −1.41.
    // East overall: 0.5, 1.0, 0.0 → mean 0.5, stddev 0.4082, Cy −1.22. Later steps have fewer
    // than three reps with an entry.
    assert_eq!(
        answer(
            "conversion_outliers",
            &["since=2024-01-01", "threshold=-1.0", "min_entered=1"]
        ),
        [
            "rep_id,name,team,step,entered,rate,team_average,z_score",
            "3,Cy,East,prospecting → qualification,1,0.0,0.6667,-1.41",
            "3,Cy,East,overall,1,0.0,0.5,-1.22",
        ]
    );
}

#[test]
fn open_pipeline_on_the_handmade_data() {
    // Ana: O2 open on Feb 1. Ben: O3 (to Mar 29) and O4 (from Feb 1 10:00, still open).
    // Cy's O5 lives between month ends. Dee: O6 from Apr 1 09:00 to Jun 28.
    let lines = answer("open_pipeline", &["since=2024-02-01", "until=2024-07-01"]);
    assert_eq!(lines[0], "as_of,rep_id,open_opportunities");
    let counts: Vec<String> = lines[1..]
        .iter()
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect();
    #[rustfmt::skip]
    let expected = [
        "1", "1", "0", "0", // Feb 1: Ana, Ben, Cy, Dee
        "0", "2", "0", "0", // Mar 1
        "0", "1", "0", "0", // Apr 1
        "0", "1", "0", "1", // May 1
        "0", "1", "0", "1", // Jun 1
        "0", "1", "0", "0", // Jul 1
    ];
    assert_eq!(counts, expected);
    assert!(
        lines[1].starts_with("2024-02-01T00:00:00,1,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[24].starts_with("2024-07-01T00:00:00,4,"),
        "{}",
        lines[24]
    );
}

#[test]
fn hasty_openers_on_the_handmade_data() {
    // Peaks 2, 2, 1, 1 (median 1.5). Ana opened O2 a day after O1, closed them in 10 and 30
    // days; Ben opened O4 22 days and an hour after O3 (closed in 79 days); Dee's O6 took 88.
    assert_eq!(
        answer("hasty_openers", &["since=2024-01-01"]),
        [
            "rep_id,name,team,opened,closed,open_now,peak_open,peak_vs_median_rep,median_days_between_openings,median_days_to_close",
            "1,Ana,East,2,2,0,2,1.33,1.0,20.0",
            "2,Ben,East,2,1,1,2,1.33,22.04,79.0",
            "3,Cy,East,1,1,0,1,0.67,,1.0",
            "4,Dee,West,1,1,0,1,0.67,,88.0",
        ]
    );
}

#[test]
fn cycle_time_on_the_handmade_data() {
    // Business days: O1 Tue Jan 2 → Fri Jan 12: 8; O2 Wed Jan 3 → Fri Feb 2: 22; O5 Mon → Tue: 1;
    // O3 Wed Jan 10 → Fri Mar 29: 57; O6 Mon Apr 1 → Fri Jun 28: 64. smb lost p90 of 1 and 30
    // days: 1 + 0.9 × 29 = 27.1; their median business days: (22 + 1) / 2.
    assert_eq!(
        answer("cycle_time", &["since=2024-01-01"]),
        [
            "segment,outcome,deals,avg_days,median_days,p90_days,median_business_days",
            "enterprise,won,1,88.0,88.0,88.0,64.0",
            "mid_market,won,1,79.0,79.0,79.0,57.0",
            "smb,won,1,10.0,10.0,10.0,8.0",
            "smb,lost,2,15.5,15.5,27.1,11.5",
        ]
    );
}

#[test]
fn quota_attainment_on_the_handmade_data() {
    // Quarterly quotas are three monthly ones: Ana 3000, Ben 6000, Cy 1500, Dee 9000 (19500).
    // Won: O1 1000 (Ana, Jan), O3 5000 (Ben, Mar), O6 8000 (Dee, Jun).
    assert_eq!(
        answer("quota_attainment", &[]),
        [
            "period_start,fiscal_year,fiscal_quarter,rep_id,name,quota,won,attainment,change",
            "2024-01-01,2024,1,,company,19500.00,6000.00,0.3077,",
            "2024-01-01,2024,1,1,Ana,3000.00,1000.00,0.3333,",
            "2024-01-01,2024,1,2,Ben,6000.00,5000.00,0.8333,",
            "2024-01-01,2024,1,3,Cy,1500.00,0.00,0.0,",
            "2024-01-01,2024,1,4,Dee,9000.00,0.00,0.0,",
            "2024-04-01,2024,2,,company,19500.00,8000.00,0.4103,0.1026",
            "2024-04-01,2024,2,1,Ana,3000.00,0.00,0.0,-0.3333",
            "2024-04-01,2024,2,2,Ben,6000.00,0.00,0.0,-0.8333",
            "2024-04-01,2024,2,3,Cy,1500.00,0.00,0.0,0.0",
            "2024-04-01,2024,2,4,Dee,9000.00,8000.00,0.8889,0.8889",
        ]
    );
    // A fiscal year starting in July: January to June 2024 is fiscal 2024, which began in
    // July 2023. Company: 14000 / 39000.
    assert_eq!(
        answer("quota_attainment", &["period=year", "fiscal_start=7"]),
        [
            "period_start,fiscal_year,fiscal_quarter,rep_id,name,quota,won,attainment,change",
            "2023-07-01,2024,1,,company,39000.00,14000.00,0.359,",
            "2023-07-01,2024,1,1,Ana,6000.00,1000.00,0.1667,",
            "2023-07-01,2024,1,2,Ben,12000.00,5000.00,0.4167,",
            "2023-07-01,2024,1,3,Cy,3000.00,0.00,0.0,",
            "2023-07-01,2024,1,4,Dee,18000.00,8000.00,0.4444,",
        ]
    );
}

#[test]
fn rep_scorecard_on_the_handmade_data() {
    // Touches and accounts from the activities; quotas Jan–Jun; levels Ana (6+2)/2, Ben (6+4)/2;
    // win rates 1/2, 1/1, 0/1, 1/1 against East 2/4 and West 1/1; Ben's O4 is open on Jul 1.
    assert_eq!(
        answer("rep_scorecard", &["since=2024-01-01", "until=2024-07-01"]),
        [
            "rep_id,name,team,touches,accounts_touched,quota,won_amount,attainment,decided,win_rate,team_win_rate,avg_stage_reached,open_at_until,peak_open",
            "1,Ana,East,6,2,6000.00,1000.00,0.1667,2,0.5,0.5,4.0,0,2",
            "2,Ben,East,4,2,12000.00,5000.00,0.4167,1,1.0,0.5,5.0,1,2",
            "3,Cy,East,1,1,3000.00,0.00,0.0,1,0.0,0.5,1.0,0,1",
            "4,Dee,West,1,1,18000.00,8000.00,0.4444,1,1.0,1.0,6.0,0,1",
        ]
    );
}

#[test]
fn activity_reach_on_the_handmade_data() {
    // Talk hours are calls and meetings: Ana 2,700 s, Ben 4,500 s, Cy 120 s, Dee 1,800 s.
    assert_eq!(
        answer("activity_reach", &["since=2024-01-01", "until=2024-07-01"]),
        [
            "rep_id,name,team,calls,emails,voicemails,meetings,touches,opportunities_touched,accounts_touched,touches_per_opportunity,talk_hours",
            "1,Ana,East,2,2,1,1,6,2,2,3.0,0.8",
            "2,Ben,East,1,2,0,1,4,2,2,2.0,1.3",
            "3,Cy,East,1,0,0,0,1,0,1,,0.0",
            "4,Dee,West,0,0,0,1,1,1,1,1.0,0.5",
        ]
    );
}

#[test]
fn touches_to_win_on_the_handmade_data() {
    // O1 (10 days): touches at 1.125, 3.125, 7.125 and 9.125 days, one per quarter of the cycle.
    // O2 (30 days): 1.125 and 12.125 days; O5 none. O3 (79 days): 2.125, 36.125, 70.125.
    // O6 (88 days): 49.125, the third quarter.
    assert_eq!(
        answer("touches_to_win", &["since=2024-01-01"]),
        [
            "segment,outcome,deals,avg_touches,median_touches,share_first_quarter,share_second_quarter,share_third_quarter,share_last_quarter",
            "enterprise,won,1,1.0,1.0,0.0,0.0,1.0,0.0",
            "mid_market,won,1,3.0,3.0,0.333,0.333,0.0,0.333",
            "smb,won,1,4.0,4.0,0.25,0.25,0.25,0.25",
            "smb,lost,2,1.0,1.0,0.5,0.5,0.0,0.0",
        ]
    );
}

#[test]
fn the_handmade_data_passes_check() {
    salesql()
        .arg("--data")
        .arg(handmade())
        .arg("check")
        .assert()
        .success();
}

#[test]
fn saved_queries_agree_with_their_plain_sql_formulations() {
    let plain_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/plain_sql");
    let mut compared = 0;
    for name in BUILTIN {
        let plain = plain_dir.join(format!("{name}.sql"));
        if !plain.exists() {
            continue;
        }
        for data in [dataset(), handmade()] {
            let run = |query: &Path| {
                let output = salesql()
                    .arg("--data")
                    .arg(data)
                    .arg("run")
                    .arg(query)
                    .args(["--format", "csv"])
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{}: {}",
                    query.display(),
                    stderr_of(&output)
                );
                csv_records(&output.stdout)
            };
            let builtin = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("queries/{name}.sql"));
            assert_eq!(run(&builtin), run(&plain), "{name} on {}", data.display());
        }
        compared += 1;
    }
    assert_eq!(
        compared, 9,
        "every saved query but activity_reach has a plain formulation"
    );
}
