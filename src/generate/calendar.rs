//! The generated history's calendar: five years ending 2025-12-31 (UTC), timestamps in
//! microseconds since the epoch, month and quarter boundaries.

use chrono::{Datelike, NaiveDate};

/// Microseconds in a day.
pub const DAY: i64 = 86_400_000_000;
/// Microseconds in an hour.
pub const HOUR: i64 = 3_600_000_000;
/// The first year of history.
pub const FIRST_YEAR: i32 = 2021;
/// The number of months of history.
pub const MONTHS: usize = 60;

/// Microseconds since the epoch at midnight UTC of `year-month-day`.
pub fn timestamp(year: i32, month: u32, day: u32) -> i64 {
    let date = NaiveDate::from_ymd_opt(year, month, day).expect("a valid calendar date");
    days_from_epoch(date) * DAY
}

fn days_from_epoch(date: NaiveDate) -> i64 {
    i64::from(
        date.num_days_from_ce()
            - NaiveDate::from_ymd_opt(1970, 1, 1)
                .expect("valid")
                .num_days_from_ce(),
    )
}

/// The start of history (2021-01-01).
pub fn start() -> i64 {
    timestamp(FIRST_YEAR, 1, 1)
}

/// The end of history, exclusive (2026-01-01): nothing happens at or after it.
pub fn end() -> i64 {
    timestamp(FIRST_YEAR + 5, 1, 1)
}

/// Month boundaries: the start of each of the [`MONTHS`] months, then the end.
#[derive(Debug, Clone)]
pub struct Months {
    starts: Vec<i64>,
}

impl Default for Months {
    fn default() -> Self {
        let starts = (0..=MONTHS)
            .map(|m| {
                let year = FIRST_YEAR + (m / 12) as i32;
                let month = (m % 12) as u32 + 1;
                timestamp(year, month, 1)
            })
            .collect();
        Self { starts }
    }
}

impl Months {
    /// The start of month `index` (0 = January 2021; `MONTHS` = the end of history).
    pub fn start(&self, index: usize) -> i64 {
        self.starts[index]
    }

    /// The calendar month (1–12) of month `index`.
    pub fn calendar_month(index: usize) -> u32 {
        (index % 12) as u32 + 1
    }

    /// The calendar year of month `index`.
    pub fn year(index: usize) -> i32 {
        FIRST_YEAR + (index / 12) as i32
    }

    /// The month index holding `ts`, clamped to the history.
    pub fn index_of(&self, ts: i64) -> usize {
        match self.starts.binary_search(&ts) {
            Ok(i) => i.min(MONTHS - 1),
            Err(i) => i.saturating_sub(1).min(MONTHS - 1),
        }
    }

    /// The start of the quarter after the one holding `ts` (its exclusive end).
    pub fn quarter_end(&self, ts: i64) -> i64 {
        let index = self.index_of(ts);
        let next_quarter = (index / 3 + 1) * 3;
        if next_quarter <= MONTHS {
            self.starts[next_quarter]
        } else {
            self.starts[MONTHS] + (next_quarter - MONTHS) as i64 * 31 * DAY
        }
    }

    /// The start of the quarter holding `ts`.
    pub fn quarter_start(&self, ts: i64) -> i64 {
        self.starts[self.index_of(ts) / 3 * 3]
    }
}

/// Days since the epoch of the UTC date of `ts` (an Arrow `Date32`).
pub fn date_of(ts: i64) -> i32 {
    ts.div_euclid(DAY) as i32
}

/// The weekday of `ts`: 0 = Monday … 6 = Sunday.
pub fn weekday(ts: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    ((ts.div_euclid(DAY) + 3).rem_euclid(7)) as u32
}

/// The calendar (year, month) of `ts`.
pub fn year_month(ts: i64) -> (i32, u32) {
    let date = NaiveDate::from_num_days_from_ce_opt(
        date_of(ts)
            + NaiveDate::from_ymd_opt(1970, 1, 1)
                .expect("valid")
                .num_days_from_ce(),
    )
    .expect("a timestamp within chrono's range");
    (date.year(), date.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_quarters_line_up_with_the_calendar() {
        let months = Months::default();
        assert_eq!(months.start(0), start());
        assert_eq!(months.start(MONTHS), end());
        let mid_may = timestamp(2023, 5, 15);
        assert_eq!(months.index_of(mid_may), 28);
        assert_eq!(months.quarter_end(mid_may), timestamp(2023, 7, 1));
        assert_eq!(months.quarter_start(mid_may), timestamp(2023, 4, 1));
        assert_eq!(months.index_of(end() + DAY), MONTHS - 1);
        assert_eq!(year_month(mid_may), (2023, 5));
        assert_eq!(weekday(timestamp(2024, 1, 1)), 0, "2024-01-01 was a Monday");
    }
}
