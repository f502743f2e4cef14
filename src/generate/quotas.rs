//! The `quotas` table: monthly quotas per rep, sized to what an average rep of the team is
//! expected to win that month (so attainment spreads around 100%: good reps above, weak reps
//! below), with quarterly and yearly quotas as their sums.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::generate::calendar::{self, DAY, Months};
use crate::generate::model::{Rep, active_fraction, demand, mean_amount};
use crate::generate::random;

/// One quota.
#[derive(Debug, Clone, PartialEq)]
struct QuotaRow {
    rep_id: i64,
    period: &'static str,
    start: i32,
    end: i32,
    cents: i64,
}

/// The quotas of every rep. `opportunities_per_demand` converts a month's demand weight into
/// expected opportunities of an average rep.
pub fn batch(
    seed: u64,
    reps: &[Rep],
    months: &Months,
    opportunities_per_demand: f64,
) -> RecordBatch {
    let average_win = reps.iter().map(Rep::win_probability).sum::<f64>() / reps.len().max(1) as f64;
    let dollars_per_demand = opportunities_per_demand * average_win * mean_amount();
    let mut rows = Vec::new();
    for rep in reps {
        let mut rng = random::seeded(seed, 5, rep.id as u64);
        let yearly_noise: Vec<f64> = (0..5)
            .map(|_| random::lognormal(&mut rng, 1.0, 0.08))
            .collect();
        let monthly: Vec<i64> = (0..calendar::MONTHS)
            .map(|m| {
                let active = active_fraction(rep, months, m);
                let dollars = dollars_per_demand * demand(m) * active * yearly_noise[m / 12];
                (dollars / 100.0).round() as i64 * 100 * 100
            })
            .collect();
        for (m, cents) in monthly.iter().enumerate() {
            if *cents > 0 {
                rows.push(quota(rep.id, "month", months, m, m + 1, *cents));
            }
        }
        for q in (0..calendar::MONTHS).step_by(3) {
            let cents: i64 = monthly[q..q + 3].iter().sum();
            if cents > 0 {
                rows.push(quota(rep.id, "quarter", months, q, q + 3, cents));
            }
        }
        for y in (0..calendar::MONTHS).step_by(12) {
            let cents: i64 = monthly[y..y + 12].iter().sum();
            if cents > 0 {
                rows.push(quota(rep.id, "year", months, y, y + 12, cents));
            }
        }
    }
    let rank = |period: &str| match period {
        "year" => 0,
        "quarter" => 1,
        _ => 2,
    };
    rows.sort_by_key(|r| (r.start, rank(r.period), r.rep_id));
    to_batch(&rows)
}

fn quota(
    rep_id: i64,
    period: &'static str,
    months: &Months,
    from: usize,
    to: usize,
    cents: i64,
) -> QuotaRow {
    QuotaRow {
        rep_id,
        period,
        start: calendar::date_of(months.start(from)),
        end: calendar::date_of(months.start(to) - DAY),
        cents,
    }
}

/// The table's schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("rep_id", DataType::Int64, false),
        Field::new("period", DataType::Utf8, false),
        Field::new("period_start", DataType::Date32, false),
        Field::new("period_end", DataType::Date32, false),
        Field::new("amount", DataType::Decimal128(18, 2), false),
    ]))
}

fn to_batch(rows: &[QuotaRow]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.rep_id))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.period))),
        Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| r.start))),
        Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| r.end))),
        Arc::new(
            Decimal128Array::from_iter_values(rows.iter().map(|r| i128::from(r.cents)))
                .with_precision_and_scale(18, 2)
                .expect("18,2 is a valid decimal type"),
        ),
    ];
    RecordBatch::try_new(schema(), columns).expect("columns match the schema")
}
