//! `salesql generate`: deterministic, atomic, and realistic enough for the saved queries to
//! find what SPEC §5 promises.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::TimestampMicrosecondType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use predicates::prelude::*;

use super::common::{assert_column_layout, empty_dir, query_csv, salesql, scratch, snapshot};

fn generate(out: &Path, args: &[&str]) {
    salesql()
        .args(["generate", "--out"])
        .arg(out)
        .args(args)
        .assert()
        .success();
}

fn file_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    snapshot(dir)
        .into_iter()
        .map(|(path, _, _)| {
            (
                path.strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_files_whatever_the_thread_count() {
    let dir = empty_dir();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    generate(&a, &["--scale", "0.01", "--seed", "7", "--threads", "1"]);
    generate(&b, &["--scale", "0.01", "--seed", "7", "--threads", "3"]);
    generate(&c, &["--scale", "0.01", "--seed", "8"]);
    assert_eq!(file_bytes(&a), file_bytes(&b));
    assert_ne!(file_bytes(&a), file_bytes(&c));
}

#[test]
fn an_existing_dataset_is_replaced_only_with_force() {
    let dir = empty_dir();
    let out = dir.path().join("data");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    salesql()
        .args(["generate", "--scale", "0.01", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("use --force"));
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );
    generate(&out, &["--scale", "0.01", "--force"]);
    assert!(!out.join("keep.txt").exists());
    assert!(out.join("activities").is_dir());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, ["data"], "no temporary folder is left behind");
}

#[test]
fn bad_scales_are_usage_errors() {
    let dir = empty_dir();
    for scale in ["0", "-1", "nan", "5000"] {
        salesql()
            .args(["generate", "--scale", scale, "--out"])
            .arg(dir.path().join("x"))
            .assert()
            .code(2);
    }
    assert!(!dir.path().join("x").exists());
}

#[test]
fn the_builtin_sample_is_what_the_documented_command_produces() {
    let out = empty_dir();
    let regenerated = out.path().join("sample");
    // The command documented in README.md and data/README.md.
    generate(&regenerated, &["--scale", "0.02", "--seed", "42"]);
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    assert_eq!(
        file_bytes(&regenerated),
        file_bytes(&committed),
        "regenerate data/sample"
    );

    let fingerprint = "select (select count(*) from activities) as a, (select sum(amount) from opportunities) as o, \
                       (select max(entered_at) from stage_history) as h, (select sum(amount) from quotas) as q";
    let embedded = salesql().args(["query", fingerprint]).output().unwrap();
    assert!(embedded.status.success());
    assert_eq!(
        super::common::csv_records(&embedded.stdout),
        query_csv(&regenerated, fingerprint)
    );
}

#[test]
fn files_are_sorted_by_time() {
    let dir = realistic();
    for (table, column) in [
        ("activities", 5),
        ("stage_history", 2),
        ("opportunities", 3),
    ] {
        for (path, _, _) in snapshot(&dir.join(table)) {
            let file = std::fs::File::open(&path).unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap();
            let mut previous = i64::MIN;
            for batch in reader {
                let batch = batch.unwrap();
                for value in batch
                    .column(column)
                    .as_primitive::<TimestampMicrosecondType>()
                    .values()
                {
                    assert!(*value >= previous, "{} is not sorted", path.display());
                    previous = *value;
                }
            }
        }
    }
}

#[test]
fn ids_and_times_are_delta_encoded_and_text_keeps_its_dictionary() {
    let (delta, dictionary) = assert_column_layout(&realistic());
    // Every table has 64-bit ids or times, and all but quotas' have text columns.
    assert!(delta >= 6 && dictionary >= 5, "{delta} {dictionary}");
}

/// A dataset large enough for stable statistics (scale 0.05: ~5,000 opportunities).
fn realistic() -> PathBuf {
    static DATASET: OnceLock<PathBuf> = OnceLock::new();
    DATASET
        .get_or_init(|| {
            let dir = scratch().join("realistic");
            generate(&dir, &["--scale", "0.05"]);
            dir
        })
        .clone()
}

fn number(data: &Path, sql: &str) -> f64 {
    let rows = query_csv(data, sql);
    rows[1][0]
        .parse()
        .unwrap_or_else(|_| panic!("{sql} gave {:?}", rows[1]))
}

#[test]
fn scale_sets_the_size() {
    let data = realistic();
    let activities = number(&data, "select count(*) from activities");
    let opportunities = number(&data, "select count(*) from opportunities");
    assert!((40_000.0..60_000.0).contains(&activities), "{activities}");
    assert!(
        (4_000.0..6_000.0).contains(&opportunities),
        "{opportunities}"
    );
    let reps = number(&data, "select count(*) from reps");
    assert_eq!(reps, (100.0 * 0.05_f64.sqrt()).round());
    let span = query_csv(
        &data,
        "select min(occurred_at) >= '2021-01-01T00:00:00Z', max(occurred_at) < '2026-01-01T00:00:00Z' from activities",
    );
    assert_eq!(span[1], ["true", "true"]);
}

#[test]
fn the_funnel_narrows_stage_by_stage_to_a_plausible_win_rate() {
    let data = realistic();
    let rows = query_csv(
        &data,
        "select s.position, count(distinct h.opportunity_id) from stage_history h join stages s on s.stage = h.stage \
         where s.position is not null group by s.position order by s.position",
    );
    let counts: Vec<f64> = rows[1..].iter().map(|r| r[1].parse().unwrap()).collect();
    assert_eq!(counts.len(), 6);
    assert!(counts.windows(2).all(|w| w[1] < w[0]), "{counts:?}");
    let win_rate = number(
        &data,
        "select count(*) filter (where status = 'won') * 1.0 / count(*) filter (where status in ('won', 'lost')) from opportunities",
    );
    assert!((0.15..0.35).contains(&win_rate), "{win_rate}");
}

#[test]
fn some_reps_convert_clearly_worse_than_the_team() {
    let data = realistic();
    let rows = query_csv(
        &data,
        "with r as (select owner_id, count(*) filter (where status = 'won') * 1.0 / count(*) filter (where status <> 'open') as rate \
         from opportunities group by owner_id), t as (select count(*) filter (where status = 'won') * 1.0 / count(*) filter (where status <> 'open') as rate from opportunities) \
         select count(*) filter (where r.rate < 0.6 * t.rate), count(*) filter (where r.rate > 1.1 * t.rate) from r cross join t",
    );
    let (weak, strong): (f64, f64) = (rows[1][0].parse().unwrap(), rows[1][1].parse().unwrap());
    assert!(weak >= 2.0, "weak converters: {weak}");
    assert!(strong >= 2.0, "strong converters: {strong}");
}

#[test]
fn won_deals_crowd_into_the_last_week_of_quarters() {
    let data = realistic();
    let share = number(
        &data,
        "select count(*) filter (where date_trunc('quarter', closed_at + interval '7 days') > date_trunc('quarter', closed_at)) * 1.0 / count(*) \
         from opportunities where status = 'won'",
    );
    // A week is 7.7% of a quarter; pushes make it several times that.
    assert!(
        share > 0.2,
        "share of wins in a quarter's last week: {share}"
    );
}

#[test]
fn segments_differ_in_deal_size_and_cycle_length() {
    let data = realistic();
    let rows = query_csv(
        &data,
        "select segment, avg(amount), avg(date_part('epoch', closed_at) - date_part('epoch', created_at)) from opportunities \
         where status = 'won' group by segment order by 2",
    );
    let segments: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(segments, ["smb", "mid_market", "enterprise"]);
    let cycles: Vec<f64> = rows[1..].iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(cycles.windows(2).all(|w| w[0] < w[1]), "{cycles:?}");
}

#[test]
fn some_reps_hoard_open_opportunities() {
    let data = realistic();
    let rows = query_csv(
        &data,
        "with e as (select owner_id, created_at as at, 1 as d from opportunities union all \
         select owner_id, closed_at, -1 from opportunities where closed_at is not null), \
         r as (select owner_id, sum(d) over (partition by owner_id order by at, d rows unbounded preceding) as open from e), \
         p as (select owner_id, max(open) as peak from r group by owner_id) select max(peak), median(peak) from p",
    );
    let (max, median): (f64, f64) = (rows[1][0].parse().unwrap(), rows[1][1].parse().unwrap());
    assert!(
        max > 2.5 * median,
        "peak concurrency: max {max}, median {median}"
    );
}

#[test]
fn activities_cover_every_channel_and_won_deals_get_more_touches() {
    let data = realistic();
    let types = query_csv(
        &data,
        "select type from activities group by type order by type",
    );
    let types: Vec<&str> = types[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(types, ["call", "email", "meeting", "voicemail"]);
    let linked = number(
        &data,
        "select count(opportunity_id) * 1.0 / count(*) from activities",
    );
    assert!((0.5..0.95).contains(&linked), "{linked}");
    assert_eq!(
        number(
            &data,
            "select count(*) from activities where account_id is null"
        ),
        0.0
    );
    let rows = query_csv(
        &data,
        "select o.status, count(a.activity_id) * 1.0 / count(distinct o.opportunity_id) from opportunities o \
         left join activities a on a.opportunity_id = o.opportunity_id where o.status <> 'open' group by o.status order by 1",
    );
    let lost: f64 = rows[1][1].parse().unwrap();
    let won: f64 = rows[2][1].parse().unwrap();
    assert!(
        won > 1.3 * lost,
        "touches per won deal {won}, per lost deal {lost}"
    );
}

#[test]
fn some_opportunities_are_still_open_at_the_end() {
    let data = realistic();
    let open = number(
        &data,
        "select count(*) from opportunities where status = 'open' and closed_at is null",
    );
    assert!(open > 20.0, "{open}");
    assert_eq!(
        number(
            &data,
            "select count(*) from opportunities where status <> 'open' and closed_at is null"
        ),
        0.0
    );
    assert_eq!(
        number(
            &data,
            "select count(*) from opportunities where closed_at < created_at"
        ),
        0.0
    );
}

#[test]
fn quotas_come_in_three_periods_and_attainment_centres_on_target() {
    let data = realistic();
    let rows = query_csv(
        &data,
        "select period, count(distinct rep_id) from quotas group by period order by period",
    );
    let reps = number(&data, "select count(*) from reps");
    assert_eq!(rows[1..].len(), 3);
    for row in &rows[1..] {
        assert_eq!(row[1].parse::<f64>().unwrap(), reps, "{row:?}");
    }
    let rows = query_csv(
        &data,
        "with won as (select date_part('year', closed_at) as y, sum(amount) as won from opportunities where status = 'won' group by 1), \
         q as (select date_part('year', period_start) as y, sum(amount) as quota from quotas where period = 'year' group by 1) \
         select q.y, won.won / q.quota from q join won on won.y = q.y where q.y >= 2022 order by 1",
    );
    for row in &rows[1..] {
        let attainment: f64 = row[1].parse().unwrap();
        assert!(
            (0.75..1.3).contains(&attainment),
            "company attainment {row:?}"
        );
    }
}

#[test]
fn stage_history_records_owner_changes() {
    let data = realistic();
    let changed = number(
        &data,
        "select count(*) from (select opportunity_id from stage_history group by opportunity_id having count(distinct owner_id) > 1)",
    );
    assert!(changed > 10.0, "{changed}");
}
