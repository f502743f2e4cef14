//! The `opportunities` table and each opportunity's life: it opens at `prospecting`, passes
//! each stage with the owner's pass rate or is lost there, and is won after `negotiation`.
//! Time in each stage follows the segment's cycle length and the owner's pace; some stall for
//! months (mostly with reps who hoard opportunities); won deals crowd into the last days of
//! quarters; some change owner; the ones still running at the end of history stay open.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Decimal128Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::generate::activities::{
    ActivityRow, TouchTarget, business_time, opportunity_touches, pre_opportunity_touches,
};
use crate::generate::calendar::{self, DAY, HOUR, Months};
use crate::generate::model::{
    AMOUNT_SIGMA, LOST, PRE_OPPORTUNITY_TOUCHES, Rep, SEGMENTS, SOURCES, STAGES, WON,
};
use crate::generate::random::{self, Random};
use crate::generate::stage_history::StageRow;
use crate::generate::timestamp_type;

/// Status values by index.
pub const STATUSES: [&str; 3] = ["open", "won", "lost"];

/// One opportunity. `id` holds a month-local index until ids are assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct OpportunityRow {
    /// `opportunity_id`.
    pub id: i64,
    /// The account.
    pub account_id: i64,
    /// The current owner.
    pub owner_id: i64,
    /// When it was opened (µs).
    pub created_at: i64,
    /// When it was won or lost (µs); `None` while open.
    pub closed_at: Option<i64>,
    /// Index into [`STATUSES`].
    pub status: u8,
    /// Index of the current stage in the model's stages.
    pub stage: u8,
    /// The amount in cents.
    pub amount_cents: i64,
    /// Index into the model's sources.
    pub source: u8,
    /// Index into the model's segments.
    pub segment: u8,
}

/// Everything one rep produces in one month.
#[derive(Debug, Default)]
pub struct MonthRows {
    /// Opportunities opened this month.
    pub opportunities: Vec<OpportunityRow>,
    /// Their stage entries, at any time after.
    pub stages: Vec<StageRow>,
    /// Their activities and the rep's prospecting, at any time after 25 days before the month.
    pub activities: Vec<ActivityRow>,
}

/// Opens `count` opportunities for `rep` during month `month` and plays out their lives.
/// `reps` are all reps, for owner changes within the team.
pub fn open_in_month(
    rng: &mut Random,
    rep: &Rep,
    reps: &[Rep],
    months: &Months,
    month: usize,
    count: u64,
    out: &mut MonthRows,
) {
    let from = months.start(month).max(rep.hired_at);
    let to = months.start(month + 1);
    if to <= from {
        return;
    }
    for _ in 0..count {
        let at = from + (random::uniform(rng) * (to - from) as f64) as i64;
        let created = business_time(rng, at, from, to);
        let local_id = out.opportunities.len() as i64;
        let row = live(rng, rep, reps, months, local_id, created, out);
        out.opportunities.push(row);
    }
}

fn live(
    rng: &mut Random,
    rep: &Rep,
    reps: &[Rep],
    months: &Months,
    id: i64,
    created: i64,
    out: &mut MonthRows,
) -> OpportunityRow {
    let segment_index = random::weighted(rng, &SEGMENTS.map(|s| s.share));
    let segment = &SEGMENTS[segment_index];
    let amount = random::lognormal(rng, segment.median_amount, AMOUNT_SIGMA).max(500.0);
    let source = random::weighted(rng, &SOURCES.map(|s| s.1)) as u8;
    let pick = random::uniform(rng).powf(1.6);
    let account_id = rep.first_account + (pick * rep.accounts as f64) as i64;
    pre_opportunity_touches(
        rng,
        rep,
        account_id,
        created,
        PRE_OPPORTUNITY_TOUCHES,
        &mut out.activities,
    );

    let stage_mean = segment.median_cycle_days / 5.0 * rep.pace * DAY as f64;
    let stall_stage = random::chance(rng, rep.stall).then(|| random::weighted(rng, &[1.0; 4]));
    let owner_change_stage =
        random::chance(rng, 0.06).then(|| 1 + random::weighted(rng, &[1.0; 4]) as u8);

    let mut owners: Vec<(i64, i64)> = vec![(created, rep.id)];
    let mut entries: Vec<StageRow> = vec![StageRow {
        opportunity_id: id,
        stage: 0,
        entered_at: created,
        owner_id: rep.id,
    }];
    let mut at = created;
    let mut won = false;
    for stage in 0..5usize {
        let mut dwell = random::exponential(rng, stage_mean) + 4.0 * HOUR as f64;
        if stall_stage == Some(stage) {
            dwell += random::uniform(rng) * 300.0 * DAY as f64 + 60.0 * DAY as f64;
        }
        if !random::chance(rng, rep.pass[stage]) {
            at += (dwell * (0.5 + random::uniform(rng))) as i64;
            break;
        }
        at += dwell as i64;
        if stage == 4 {
            won = true;
            break;
        }
        let next = stage as u8 + 1;
        if owner_change_stage == Some(next)
            && let Some(new_owner) = teammate(rng, rep, reps, at)
        {
            owners.push((at, new_owner));
        }
        entries.push(StageRow {
            opportunity_id: id,
            stage: next,
            entered_at: at,
            owner_id: owners.last().map_or(rep.id, |o| o.1),
        });
    }
    let last_entry = entries.last().map_or(created, |e| e.entered_at);
    let closed = if won {
        quarter_end_push(rng, months, at).max(last_entry + HOUR)
    } else {
        at
    };
    let owner = owners.last().map_or(rep.id, |o| o.1);

    let end = calendar::end();
    let still_open = closed >= end;
    entries.retain(|e| e.entered_at < end);
    if !still_open {
        entries.push(StageRow {
            opportunity_id: id,
            stage: if won { WON } else { LOST },
            entered_at: closed,
            owner_id: owner,
        });
    }
    let current_stage = entries.last().map_or(0, |e| e.stage);
    out.stages.extend(entries);

    let outcome_factor = match (still_open, won) {
        (true, _) => 0.9,
        (false, true) => 1.5,
        (false, false) => 0.75,
    };
    let target = TouchTarget {
        opportunity: id,
        account_id,
        from: created,
        until: closed.min(end),
        owners: &owners,
    };
    opportunity_touches(
        rng,
        rep,
        &target,
        segment.touches * outcome_factor,
        &mut out.activities,
    );

    OpportunityRow {
        id,
        account_id,
        owner_id: owner,
        created_at: created,
        closed_at: (!still_open).then_some(closed),
        status: match (still_open, won) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        },
        stage: current_stage,
        amount_cents: amount.round() as i64 * 100,
        source,
        segment: segment_index as u8,
    }
}

/// Won deals crowd into the last days of quarters: a close due in the last four weeks of a
/// quarter is often pushed to its final days, and one due early in a quarter is sometimes
/// pulled back into the previous quarter's.
fn quarter_end_push(rng: &mut Random, months: &Months, at: i64) -> i64 {
    let quarter_end = months.quarter_end(at);
    let quarter_start = months.quarter_start(at);
    let final_days =
        |rng: &mut Random, end: i64| end - HOUR - (random::uniform(rng) * 3.0 * DAY as f64) as i64;
    if quarter_end - at < 28 * DAY && random::chance(rng, 0.7) {
        final_days(rng, quarter_end).max(at)
    } else if at - quarter_start < 14 * DAY && random::chance(rng, 0.5) {
        final_days(rng, quarter_start)
    } else {
        at
    }
}

/// Another rep of the same team employed at `at`, if there is one.
fn teammate(rng: &mut Random, rep: &Rep, reps: &[Rep], at: i64) -> Option<i64> {
    let candidates: Vec<i64> = reps
        .iter()
        .filter(|r| r.team_index == rep.team_index && r.id != rep.id && r.hired_at <= at)
        .map(|r| r.id)
        .collect();
    (!candidates.is_empty())
        .then(|| candidates[(random::uniform(rng) * candidates.len() as f64) as usize])
}

/// The table's schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("opportunity_id", DataType::Int64, false),
        Field::new("account_id", DataType::Int64, false),
        Field::new("owner_id", DataType::Int64, false),
        Field::new("created_at", timestamp_type(), false),
        Field::new("closed_at", timestamp_type(), true),
        Field::new("status", DataType::Utf8, false),
        Field::new("stage", DataType::Utf8, false),
        Field::new("amount", DataType::Decimal128(18, 2), false),
        Field::new("source", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, false),
    ]))
}

/// The rows as a batch.
pub fn batch(rows: &[OpportunityRow]) -> RecordBatch {
    let timestamps = |values: Vec<Option<i64>>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.id))),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.account_id),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.owner_id),
        )),
        timestamps(rows.iter().map(|r| Some(r.created_at)).collect()),
        timestamps(rows.iter().map(|r| r.closed_at).collect()),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| STATUSES[r.status as usize]),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| STAGES[r.stage as usize]),
        )),
        Arc::new(
            Decimal128Array::from_iter_values(rows.iter().map(|r| i128::from(r.amount_cents)))
                .with_precision_and_scale(18, 2)
                .expect("18,2 is a valid decimal type"),
        ),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| SOURCES[r.source as usize].0),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| SEGMENTS[r.segment as usize].name),
        )),
    ];
    RecordBatch::try_new(schema(), columns).expect("columns match the schema")
}
