//! Plays the history forward one month at a time, with bounded memory: each month every rep
//! (in parallel, each with its own random stream) opens opportunities and plays out their
//! lives; rows whose time can no longer be preceded by a later month's rows are sorted, given
//! ids in time order and handed to the table writers. Nothing generated later can fall before
//! `start(next month) − 25 days` (the earliest pre-opportunity touch), so that is the horizon.

use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::arrow::array::RecordBatch;

use crate::error::{Error, Result};
use crate::generate::activities::{self, ActivityRow, unlinked_touches};
use crate::generate::calendar::{self, DAY, Months};
use crate::generate::model::{self, Rep, UNLINKED_TOUCHES_PER_OPPORTUNITY};
use crate::generate::opportunities::{self, MonthRows, open_in_month};
use crate::generate::random::{self, Random};
use crate::generate::stage_history::{self, StageRow};
use crate::generate::writer::{BackgroundTable, Partitioning};

/// Rows per batch handed to a writer.
const BATCH_ROWS: usize = 64 * 1024;

/// The writers of the time-ordered tables.
pub struct Writers {
    /// `opportunities` (never partitioned).
    pub opportunities: BackgroundTable,
    /// `stage_history`.
    pub stage_history: BackgroundTable,
    /// `activities`.
    pub activities: BackgroundTable,
    /// How `stage_history` and `activities` are partitioned.
    pub partitioning: Partitioning,
}

/// What the timeline needs to know.
pub struct Timeline<'a> {
    /// The dataset seed.
    pub seed: u64,
    /// The reps.
    pub reps: &'a [Rep],
    /// Month boundaries.
    pub months: &'a Months,
    /// Expected opportunities per unit of (demand × open rate × active fraction).
    pub opportunities_per_weight: f64,
    /// Worker threads.
    pub threads: usize,
}

impl Timeline<'_> {
    /// Generates the whole history into `writers`. Checks `cancel` between months.
    pub fn run(&self, writers: &Writers, cancel: &AtomicBool) -> Result<()> {
        let mut streams: Vec<Random> = self
            .reps
            .iter()
            .map(|r| random::seeded(self.seed, 3, r.id as u64))
            .collect();
        let mut pending_stages: Vec<StageRow> = Vec::new();
        let mut pending_activities: Vec<ActivityRow> = Vec::new();
        let mut next_opportunity = 1;
        let mut next_activity = 1;
        for month in 0..calendar::MONTHS {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            let per_rep = self.generate_month(&mut streams, month);
            let month_rows = assign_opportunity_ids(per_rep, &mut next_opportunity);
            send_in_batches(
                &writers.opportunities,
                &month_rows.opportunities,
                |_| (0, 0),
                |rows, _| opportunities::batch(rows),
            )?;
            pending_stages.extend(month_rows.stages);
            pending_activities.extend(month_rows.activities);

            let horizon = if month + 1 == calendar::MONTHS {
                i64::MAX
            } else {
                self.months.start(month + 1) - 25 * DAY
            };
            let ready = take_ready(
                &mut pending_stages,
                horizon,
                |r| r.entered_at,
                |r| (r.entered_at, r.opportunity_id, r.stage),
            );
            let partition = |r: &StageRow| writers.partitioning.key_at(r.entered_at);
            send_in_batches(&writers.stage_history, &ready, partition, |rows, _| {
                stage_history::batch(rows)
            })?;
            let ready = take_ready(
                &mut pending_activities,
                horizon,
                |r| r.occurred_at,
                |r| {
                    (
                        r.occurred_at,
                        r.rep_id,
                        r.opportunity_id,
                        r.account_id,
                        r.kind,
                        r.duration_s,
                        r.outcome,
                    )
                },
            );
            let partition = |r: &ActivityRow| writers.partitioning.key_at(r.occurred_at);
            send_in_batches(&writers.activities, &ready, partition, |rows, offset| {
                activities::batch(rows, next_activity + offset as i64)
            })?;
            next_activity += ready.len() as i64;
        }
        Ok(())
    }

    /// Every rep's rows for `month`, in rep order, computed on `threads` threads.
    fn generate_month(&self, streams: &mut [Random], month: usize) -> Vec<MonthRows> {
        let chunk = self.reps.len().div_ceil(self.threads.max(1)).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .reps
                .chunks(chunk)
                .zip(streams.chunks_mut(chunk))
                .map(|(reps, streams)| {
                    scope.spawn(move || {
                        reps.iter()
                            .zip(streams.iter_mut())
                            .map(|(rep, rng)| self.rep_month(rep, rng, month))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a generator thread does not panic"))
                .collect()
        })
    }

    /// One rep's new opportunities and prospecting in `month`.
    fn rep_month(&self, rep: &Rep, rng: &mut Random, month: usize) -> MonthRows {
        let mut rows = MonthRows::default();
        let active = model::active_fraction(rep, self.months, month);
        let expected =
            self.opportunities_per_weight * rep.open_rate * model::demand(month) * active;
        let count = random::poisson(rng, expected);
        open_in_month(rng, rep, self.reps, self.months, month, count, &mut rows);
        let window = (
            self.months.start(month).max(rep.hired_at),
            self.months.start(month + 1),
        );
        unlinked_touches(
            rng,
            rep,
            window,
            expected * UNLINKED_TOUCHES_PER_OPPORTUNITY,
            &mut rows.activities,
        );
        rows
    }
}

/// Merges the reps' rows of one month and numbers its opportunities in creation order
/// (ties by rep, then by the rep's own order), rewriting the month-local references.
fn assign_opportunity_ids(per_rep: Vec<MonthRows>, next_id: &mut i64) -> MonthRows {
    let mut order: Vec<(i64, usize, usize)> = per_rep
        .iter()
        .enumerate()
        .flat_map(|(rep, rows)| {
            rows.opportunities
                .iter()
                .enumerate()
                .map(move |(local, o)| (o.created_at, rep, local))
        })
        .collect();
    order.sort_unstable();
    let mut ids: Vec<Vec<i64>> = per_rep
        .iter()
        .map(|r| vec![0; r.opportunities.len()])
        .collect();
    for (rank, (_, rep, local)) in order.iter().enumerate() {
        ids[*rep][*local] = *next_id + rank as i64;
    }
    *next_id += order.len() as i64;

    let mut merged = MonthRows::default();
    for (rep, rows) in per_rep.into_iter().enumerate() {
        let id_of = |local: i64| ids[rep][local as usize];
        merged
            .opportunities
            .extend(rows.opportunities.into_iter().map(|mut o| {
                o.id = id_of(o.id);
                o
            }));
        merged.stages.extend(rows.stages.into_iter().map(|mut s| {
            s.opportunity_id = id_of(s.opportunity_id);
            s
        }));
        merged
            .activities
            .extend(rows.activities.into_iter().map(|mut a| {
                a.opportunity_id = a.opportunity_id.map(id_of);
                a
            }));
    }
    merged.opportunities.sort_unstable_by_key(|o| o.id);
    merged
}

/// Removes the rows before `horizon` from `pending` and returns them sorted by `key`.
fn take_ready<R, K: Ord>(
    pending: &mut Vec<R>,
    horizon: i64,
    time: impl Fn(&R) -> i64,
    key: impl Fn(&R) -> K,
) -> Vec<R> {
    let (mut ready, keep): (Vec<R>, Vec<R>) = pending.drain(..).partition(|r| time(r) < horizon);
    *pending = keep;
    ready.sort_unstable_by_key(key);
    ready
}

/// Sends `rows` (in time order) as batches that never straddle two partitions. `to_batch`
/// gets each slice and its offset in `rows`.
fn send_in_batches<R>(
    writer: &BackgroundTable,
    rows: &[R],
    partition: impl Fn(&R) -> (i32, u32),
    to_batch: impl Fn(&[R], usize) -> RecordBatch,
) -> Result<()> {
    let mut start = 0;
    while start < rows.len() {
        let key = partition(&rows[start]);
        let mut end = start + 1;
        while end < rows.len() && end - start < BATCH_ROWS && partition(&rows[end]) == key {
            end += 1;
        }
        writer.send(to_batch(&rows[start..end], start), key)?;
        start = end;
    }
    Ok(())
}
