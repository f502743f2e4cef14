//! Property tests of the sales aggregates: on random rows (NULLs, ties, every timestamp unit
//! and zone, BIGINT or VARCHAR group keys) split into random partitions, in random order and
//! with random `target_partitions`, each aggregate equals a plain reference implementation
//! written from SPEC §3 — a brute-force search for `window_funnel`, instant-by-instant counting
//! for `open_series` and `max_concurrent`.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{SessionConfig, SessionContext};
use proptest::prelude::*;

use super::common::{register_table_t, rows_of_partition};

/// One random row.
#[derive(Debug, Clone)]
struct Row {
    key: u8,
    opened: Option<i64>,
    closed: Option<i64>,
    conditions: [Option<bool>; 4],
    level: Option<i64>,
    status: Option<&'static str>,
}

/// One random table and how it is stored and read.
#[derive(Debug, Clone)]
struct Case {
    rows: Vec<Row>,
    unit: TimeUnit,
    zone: Option<&'static str>,
    string_keys: bool,
    partition_of_row: Vec<usize>,
    partitions: usize,
    target_partitions: usize,
}

const STATUSES: [&str; 6] = ["won", "lost", "open", "WON", "Lost", ""];

fn row() -> impl Strategy<Value = Row> {
    (
        0u8..4,
        proptest::option::weighted(0.9, 0i64..30),
        proptest::option::weighted(0.7, 0i64..40),
        proptest::array::uniform4(proptest::option::weighted(0.9, any::<bool>())),
        proptest::option::weighted(0.9, -1i64..7),
        proptest::option::weighted(0.9, proptest::sample::select(STATUSES.to_vec())),
    )
        .prop_map(|(key, opened, closed, conditions, level, status)| Row {
            key,
            opened,
            closed,
            conditions,
            level,
            status,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(row(), 0..24),
        proptest::sample::select(vec![
            TimeUnit::Second,
            TimeUnit::Millisecond,
            TimeUnit::Microsecond,
            TimeUnit::Nanosecond,
        ]),
        proptest::sample::select(vec![
            None,
            Some("UTC"),
            Some("+02:00"),
            Some("America/New_York"),
        ]),
        any::<bool>(),
        1usize..4,
        1usize..5,
        any::<u64>(),
    )
        .prop_map(
            |(rows, unit, zone, string_keys, partitions, target_partitions, seed)| {
                let partition_of_row = (0..rows.len())
                    .map(|i| ((seed.wrapping_mul(i as u64 + 7) >> 7) % partitions as u64) as usize)
                    .collect();
                Case {
                    rows,
                    unit,
                    zone,
                    string_keys,
                    partition_of_row,
                    partitions,
                    target_partitions,
                }
            },
        )
}

/// Seconds as a timestamp array of the case's unit and zone.
fn timestamps(case: &Case, seconds: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    let seconds: Vec<Option<i64>> = seconds.collect();
    let scaled = |factor: i64| {
        seconds
            .iter()
            .map(|s| s.map(|v| v * factor))
            .collect::<Vec<_>>()
    };
    let zone = case.zone;
    match case.unit {
        TimeUnit::Second => Arc::new(TimestampSecondArray::from(scaled(1)).with_timezone_opt(zone)),
        TimeUnit::Millisecond => {
            Arc::new(TimestampMillisecondArray::from(scaled(1_000)).with_timezone_opt(zone))
        }
        TimeUnit::Microsecond => {
            Arc::new(TimestampMicrosecondArray::from(scaled(1_000_000)).with_timezone_opt(zone))
        }
        TimeUnit::Nanosecond => {
            Arc::new(TimestampNanosecondArray::from(scaled(1_000_000_000)).with_timezone_opt(zone))
        }
    }
}

/// A session over the case's rows as table `t`, split into its partitions.
async fn session(case: &Case) -> SessionContext {
    let ts_type = DataType::Timestamp(case.unit, case.zone.map(Into::into));
    let key_type = if case.string_keys {
        DataType::Utf8
    } else {
        DataType::Int64
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("key", key_type, false),
        Field::new("opened", ts_type.clone(), true),
        Field::new("closed", ts_type, true),
        Field::new("c1", DataType::Boolean, true),
        Field::new("c2", DataType::Boolean, true),
        Field::new("c3", DataType::Boolean, true),
        Field::new("c4", DataType::Boolean, true),
        Field::new("level", DataType::Int64, true),
        Field::new("status", DataType::Utf8, true),
    ]));
    let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); case.partitions];
    for (partition, batches) in partitions.iter_mut().enumerate() {
        let rows = rows_of_partition(&case.rows, &case.partition_of_row, partition);
        let keys: ArrayRef = if case.string_keys {
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| format!("k{}", r.key)),
            ))
        } else {
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| i64::from(r.key)),
            ))
        };
        let condition = |i: usize| -> ArrayRef {
            Arc::new(
                rows.iter()
                    .map(|r| r.conditions[i])
                    .collect::<BooleanArray>(),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            keys,
            timestamps(case, rows.iter().map(|r| r.opened)),
            timestamps(case, rows.iter().map(|r| r.closed)),
            condition(0),
            condition(1),
            condition(2),
            condition(3),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.level))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.status))),
        ];
        batches.push(RecordBatch::try_new(Arc::clone(&schema), columns).unwrap());
    }
    let config = SessionConfig::new().with_target_partitions(case.target_partitions);
    let mut context = SessionContext::new_with_config(config);
    salesql::functions::register_all(&mut context).unwrap();
    register_table_t(&context, schema, partitions);
    context
}

/// `SELECT key, <aggregate> FROM t GROUP BY key` and the same over the whole table, as text
/// keyed by group (`None` for the whole table).
async fn results(case: &Case, aggregate: &str) -> BTreeMap<Option<u8>, String> {
    let context = session(case).await;
    let mut found = BTreeMap::new();
    let grouped = format!("SELECT key, {aggregate} FROM t GROUP BY key");
    for batch in context
        .sql(&grouped)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
    {
        let keys = text_column(&batch, 0);
        let values = text_column(&batch, 1);
        for (key, value) in keys.into_iter().zip(values) {
            let key: u8 = key.trim_start_matches('k').parse().unwrap();
            found.insert(Some(key), value);
        }
    }
    let whole = format!("SELECT {aggregate} FROM t");
    let batches = context.sql(&whole).await.unwrap().collect().await.unwrap();
    found.insert(None, text_column(&batches[0], 0).remove(0));
    found
}

fn text_column(batch: &RecordBatch, column: usize) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let formatter = ArrayFormatter::try_new(batch.column(column).as_ref(), &options).unwrap();
    (0..batch.num_rows())
        .map(|r| formatter.value(r).to_string())
        .collect()
}

/// The reference answer for each group present, and for the whole table.
fn expected(case: &Case, reference: impl Fn(&[&Row]) -> String) -> BTreeMap<Option<u8>, String> {
    let mut groups: BTreeMap<Option<u8>, Vec<&Row>> = BTreeMap::new();
    for row in &case.rows {
        groups.entry(Some(row.key)).or_default().push(row);
    }
    let mut answers: BTreeMap<Option<u8>, String> = groups
        .iter()
        .map(|(k, rows)| (*k, reference(rows)))
        .collect();
    let all: Vec<&Row> = case.rows.iter().collect();
    answers.insert(None, reference(&all));
    answers
}

fn run(future: impl Future<Output = BTreeMap<Option<u8>, String>>) -> BTreeMap<Option<u8>, String> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn list(values: &[i64]) -> String {
    format!(
        "[{}]",
        values
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

// ----- references, written from the definitions of SPEC §3 -----

/// window_funnel by brute force: every chain of distinct rows is tried.
fn window_funnel_reference(rows: &[&Row], steps: usize, window: i64, modes: &[&str]) -> String {
    let events: Vec<(i64, u32)> = rows
        .iter()
        .filter_map(|r| {
            let mask = (0..steps)
                .filter(|i| r.conditions[*i] == Some(true))
                .fold(0u32, |m, i| m | 1 << i);
            r.opened.map(|t| (t, mask))
        })
        .collect();
    let strict_increase = modes.contains(&"strict_increase");
    let strict_order = modes.contains(&"strict_order");
    let dedup = modes.contains(&"strict_deduplication");
    let meets = |e: usize, step: usize| events[e].1 & (1 << step) != 0;
    let between = |a: usize, b: usize, r: usize| {
        r != a && r != b && events[a].0 < events[r].0 && events[r].0 < events[b].0
    };
    let may_follow = |chain: &[usize], next: usize| -> bool {
        let step = chain.len();
        let last = chain[step - 1];
        let (t0, t_last, t_next) = (events[chain[0]].0, events[last].0, events[next].0);
        if chain.contains(&next) || !meets(next, step) || t_next < t_last || t_next - t0 > window {
            return false;
        }
        if strict_increase && t_next <= t_last {
            return false;
        }
        let others = (0..events.len()).filter(|r| between(last, next, *r));
        for r in others {
            if strict_order
                && events[r].1 & !((1 << (step - 1)) | (1 << step)) & ((1u32 << steps) - 1) != 0
            {
                return false;
            }
            if dedup && (meets(r, step - 1) || meets(r, step)) {
                return false;
            }
        }
        true
    };
    fn longest(
        chain: &mut Vec<usize>,
        n: usize,
        steps: usize,
        may_follow: &dyn Fn(&[usize], usize) -> bool,
    ) -> usize {
        let mut best = chain.len();
        if best == steps {
            return best;
        }
        for next in 0..n {
            if may_follow(chain, next) {
                chain.push(next);
                best = best.max(longest(chain, n, steps, may_follow));
                chain.pop();
            }
        }
        best
    }
    let mut best = 0;
    for first in 0..events.len() {
        if meets(first, 0) {
            best = best.max(longest(&mut vec![first], events.len(), steps, &may_follow));
        }
    }
    best.to_string()
}

fn funnel_reference(rows: &[&Row], n: i64) -> String {
    let counts: Vec<i64> = (1..=n)
        .map(|k| {
            rows.iter()
                .filter(|r| r.level.is_some_and(|l| l > 0 && l.min(n) >= k))
                .count() as i64
        })
        .collect();
    list(&counts)
}

fn win_rate_reference(rows: &[&Row]) -> String {
    let won = rows
        .iter()
        .filter(|r| r.status.is_some_and(|s| s.eq_ignore_ascii_case("won")))
        .count();
    let lost = rows
        .iter()
        .filter(|r| r.status.is_some_and(|s| s.eq_ignore_ascii_case("lost")))
        .count();
    match won + lost {
        0 => "NULL".into(),
        decided => format!("{:?}", won as f64 / decided as f64),
    }
}

fn open_at(row: &Row, at: i64) -> bool {
    row.opened.is_some_and(|o| o <= at) && row.closed.is_none_or(|c| c > at)
}

fn max_concurrent_reference(rows: &[&Row]) -> String {
    let instants = rows.iter().flat_map(|r| [r.opened, r.closed]).flatten();
    let peak = instants
        .map(|at| rows.iter().filter(|r| open_at(r, at)).count())
        .max()
        .unwrap_or(0);
    peak.to_string()
}

fn open_series_reference(rows: &[&Row], start: i64, end: i64, step: i64) -> String {
    let counts: Vec<i64> = (0..)
        .map(|i| start + i * step)
        .take_while(|t| *t <= end)
        .map(|t| rows.iter().filter(|r| open_at(r, t)).count() as i64)
        .collect();
    list(&counts)
}

proptest! {
    // The funnel search has the most cases to cover (ties, four modes, windows).
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn window_funnel_matches_the_brute_force_search(
        case in case(),
        steps in 1usize..5,
        window in 0i64..12,
        modes in proptest::sample::subsequence(vec!["strict_increase", "strict_order", "strict_deduplication"], 0..=3),
    ) {
        let conditions: Vec<String> = (1..=steps).map(|i| format!("c{i}")).collect();
        let mode_args: String = modes.iter().map(|m| format!(", '{m}'")).collect();
        let aggregate = format!(
            "window_funnel(INTERVAL '{window} seconds', opened, {}{mode_args})",
            conditions.join(", ")
        );
        let found = run(results(&case, &aggregate));
        let wanted = expected(&case, |rows| window_funnel_reference(rows, steps, window, &modes));
        prop_assert_eq!(found, wanted, "{}", aggregate);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn funnel_counts_levels_at_least_k(case in case(), n in 1i64..6) {
        let found = run(results(&case, &format!("funnel(level, {n})")));
        prop_assert_eq!(found, expected(&case, |rows| funnel_reference(rows, n)));
    }

    #[test]
    fn win_rate_is_won_over_decided(case in case()) {
        let found = run(results(&case, "win_rate(status)"));
        prop_assert_eq!(found, expected(&case, win_rate_reference));
    }

    #[test]
    fn max_concurrent_is_the_peak_of_open_rows(case in case()) {
        let found = run(results(&case, "max_concurrent(opened, closed)"));
        prop_assert_eq!(found, expected(&case, max_concurrent_reference));
    }

    #[test]
    fn open_series_counts_open_rows_at_each_instant(case in case(), start in -5i64..35, length in 0i64..40, step in 1i64..9) {
        let end = start + length;
        let aggregate = format!(
            "open_series(opened, closed, to_timestamp_seconds({start}), to_timestamp_seconds({end}), INTERVAL '{step} seconds')"
        );
        let found = run(results(&case, &aggregate));
        prop_assert_eq!(found, expected(&case, |rows| open_series_reference(rows, start, end, step)));
    }
}
