//! The `activities` table: calls, emails, voicemails and meetings, on opportunities (more on
//! deals that end up won, more meetings late in the cycle), on accounts in the weeks before an
//! opportunity opens, and unlinked prospecting.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::generate::calendar::{self, DAY, HOUR};
use crate::generate::model::{ACTIVITY_TYPES, OUTCOMES, Rep};
use crate::generate::random::{self, Random};
use crate::generate::timestamp_type;

/// One activity. `opportunity_id` holds a month-local index until ids are assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    /// The rep who did it.
    pub rep_id: i64,
    /// The opportunity it belongs to, if any.
    pub opportunity_id: Option<i64>,
    /// The account touched.
    pub account_id: i64,
    /// Index into [`ACTIVITY_TYPES`].
    pub kind: u8,
    /// When (µs).
    pub occurred_at: i64,
    /// Duration in seconds (calls, voicemails, meetings).
    pub duration_s: Option<i32>,
    /// Index into [`OUTCOMES`].
    pub outcome: Option<u8>,
}

/// An opportunity's life as its touches need it.
#[derive(Debug)]
pub struct TouchTarget<'a> {
    /// The opportunity (month-local index until ids are assigned).
    pub opportunity: i64,
    /// Its account.
    pub account_id: i64,
    /// Its creation (µs).
    pub from: i64,
    /// Its close, or the end of history (µs).
    pub until: i64,
    /// (since, rep) in time order: each touch is by the owner of its time.
    pub owners: &'a [(i64, i64)],
}

/// The touches on one opportunity during its life, `expected` of them on average.
pub fn opportunity_touches(
    rng: &mut Random,
    rep: &Rep,
    target: &TouchTarget<'_>,
    expected: f64,
    out: &mut Vec<ActivityRow>,
) {
    let (from, until) = (target.from, target.until);
    if until <= from {
        return;
    }
    let count = random::poisson(rng, expected * rep.intensity);
    for _ in 0..count {
        // Touches gather towards the end of the cycle.
        let position = random::uniform(rng).powf(0.7);
        let at = from + ((until - from) as f64 * position) as i64;
        let at = business_time(rng, at, from, until);
        let owner = target
            .owners
            .iter()
            .rev()
            .find(|(since, _)| *since <= at)
            .map_or(rep.id, |(_, owner)| *owner);
        let row = touch(
            rng,
            owner,
            Some(target.opportunity),
            target.account_id,
            at,
            position,
        );
        out.push(row);
    }
}

/// Touches on an account in the 25 days before an opportunity opens on it (not linked to the
/// opportunity, which does not exist yet).
pub fn pre_opportunity_touches(
    rng: &mut Random,
    rep: &Rep,
    account_id: i64,
    created: i64,
    expected: f64,
    out: &mut Vec<ActivityRow>,
) {
    let from = (created - 25 * DAY)
        .max(calendar::start())
        .max(rep.hired_at);
    if created <= from {
        return;
    }
    for _ in 0..random::poisson(rng, expected) {
        let at = from + (random::uniform(rng) * (created - from) as f64) as i64;
        let at = business_time(rng, at, from, created);
        out.push(touch(rng, rep.id, None, account_id, at, 0.0));
    }
}

/// Prospecting touches on the rep's accounts within `[from, to)`, linked to no opportunity.
pub fn unlinked_touches(
    rng: &mut Random,
    rep: &Rep,
    window: (i64, i64),
    expected: f64,
    out: &mut Vec<ActivityRow>,
) {
    let (from, to) = window;
    if to <= from {
        return;
    }
    for _ in 0..random::poisson(rng, expected) {
        let at = from + (random::uniform(rng) * (to - from) as f64) as i64;
        let at = business_time(rng, at, from, to);
        let account = rep.first_account + (random::uniform(rng) * rep.accounts as f64) as i64;
        out.push(touch(rng, rep.id, None, account, at, 0.0));
    }
}

/// One touch at `at`; `position` (0–1 through the cycle) makes meetings likelier late.
fn touch(
    rng: &mut Random,
    rep_id: i64,
    opportunity_id: Option<i64>,
    account_id: i64,
    at: i64,
    position: f64,
) -> ActivityRow {
    let meeting_weight = 0.06 + 0.3 * position;
    let kind = random::weighted(rng, &[0.36, 0.40, 0.10, meeting_weight]) as u8;
    let (duration_s, outcome) = match kind {
        0 => {
            let seconds = random::lognormal(rng, 240.0, 0.8).clamp(10.0, 3600.0) as i32;
            let outcome =
                [Some(0), Some(1), Some(2), None][random::weighted(rng, &[0.5, 0.3, 0.05, 0.15])];
            (Some(seconds), outcome)
        }
        1 => {
            let outcome =
                [Some(3), Some(4), Some(5), None][random::weighted(rng, &[0.6, 0.25, 0.05, 0.1])];
            (None, outcome)
        }
        2 => {
            let seconds = 20 + (random::uniform(rng) * 70.0) as i32;
            (
                Some(seconds),
                [Some(6), None][random::weighted(rng, &[0.9, 0.1])],
            )
        }
        _ => {
            let seconds = [1800, 2700, 3600][random::weighted(rng, &[0.5, 0.2, 0.3])];
            let outcome = [Some(7), Some(8), Some(9)][random::weighted(rng, &[0.8, 0.1, 0.1])];
            (Some(seconds), outcome)
        }
    };
    ActivityRow {
        rep_id,
        opportunity_id,
        account_id,
        kind,
        occurred_at: at,
        duration_s,
        outcome,
    }
}

/// Moves `at` to working hours of a weekday when it can, staying within `[from, to)`.
pub fn business_time(rng: &mut Random, at: i64, from: i64, to: i64) -> i64 {
    let day = at.div_euclid(DAY) * DAY;
    let weekday = calendar::weekday(at);
    let day = if weekday >= 5 && random::chance(rng, 0.9) {
        day + i64::from(7 - weekday) * DAY
    } else {
        day
    };
    let moved = day + 8 * HOUR + (random::uniform(rng) * 10.0 * HOUR as f64) as i64;
    if moved >= from && moved < to {
        moved
    } else {
        at.clamp(from, to - 1)
    }
}

/// The table's schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("activity_id", DataType::Int64, false),
        Field::new("rep_id", DataType::Int64, false),
        Field::new("opportunity_id", DataType::Int64, true),
        Field::new("account_id", DataType::Int64, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("occurred_at", timestamp_type(), false),
        Field::new("duration_s", DataType::Int32, true),
        Field::new("outcome", DataType::Utf8, true),
    ]))
}

/// The rows as a batch; ids are `first_id`, `first_id + 1`, … in row order.
pub fn batch(rows: &[ActivityRow], first_id: i64) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            first_id..first_id + rows.len() as i64,
        )),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.rep_id))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.opportunity_id))),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.account_id),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| ACTIVITY_TYPES[r.kind as usize]),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.occurred_at))
                .with_timezone("UTC"),
        ),
        Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.duration_s))),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.outcome.map(|o| OUTCOMES[o as usize])),
        )),
    ];
    RecordBatch::try_new(schema(), columns).expect("columns match the schema")
}
