//! `business_days(start, end [, holidays])`: the Monday-to-Friday dates `d`, not holidays,
//! with `date(start) ≤ d < date(end)`; negated when `end` is before `start`. O(1) per row
//! (plus a binary search among the holidays).

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field};
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::scalar::ScalarValue;

use crate::functions::arguments::{document, map_rows};
use crate::functions::temporal::{coerce_temporal, local_days};

const NAME: &str = "business_days";

/// The `business_days` function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BusinessDays {
    signature: Signature,
}

/// The `business_days` function.
pub fn business_days() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(BusinessDays {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "The number of business days from `start` to `end`: dates d, Monday to Friday and not in \
         `holidays`, with date(start) ≤ d < date(end); the negation of business_days(end, start) \
         when end is before start. Dates are taken in each timestamp's own time zone.",
        "business_days(start, end [, holidays])",
        "SELECT business_days(DATE '2024-12-23', DATE '2025-01-06', [DATE '2024-12-25', DATE '2025-01-01']);\n-- 8",
        &[
            ("start", "The first day counted (timestamp or date)."),
            (
                "end",
                "The day after the last day counted (timestamp or date).",
            ),
            (
                "holidays",
                "Optional list of dates that are not business days.",
            ),
        ],
    )
});

/// Weekdays (Monday to Friday) in `[0, day)` counted from the Monday 1969-12-29.
fn weekdays_before(day: i64) -> i64 {
    let since_monday = day + 3;
    since_monday.div_euclid(7) * 5 + since_monday.rem_euclid(7).min(5)
}

fn is_weekday(day: i32) -> bool {
    (i64::from(day) + 3).rem_euclid(7) < 5
}

/// Sorted, distinct weekday holidays.
fn weekday_holidays(dates: impl Iterator<Item = i32>, out: &mut Vec<i32>) {
    out.clear();
    out.extend(dates.filter(|d| is_weekday(*d)));
    out.sort_unstable();
    out.dedup();
}

/// Business days between two days, given the sorted weekday holidays.
fn count(start: i32, end: i32, holidays: &[i32]) -> i64 {
    if end < start {
        return -count(end, start, holidays);
    }
    let holidays_between =
        holidays.partition_point(|h| *h < end) - holidays.partition_point(|h| *h < start);
    weekdays_before(i64::from(end)) - weekdays_before(i64::from(start)) - holidays_between as i64
}

impl ScalarUDFImpl for BusinessDays {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (start, end, holidays) = match arg_types {
            [start, end] => (start, end, None),
            [start, end, holidays] => (start, end, Some(holidays)),
            _ => {
                return plan_err!(
                    "{NAME} takes two or three arguments (start, end [, holidays]), not {}",
                    arg_types.len()
                );
            }
        };
        let mut types = vec![
            coerce_temporal(NAME, "start", start)?,
            coerce_temporal(NAME, "end", end)?,
        ];
        if let Some(holidays) = holidays {
            let element = match holidays {
                DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                    f.data_type().clone()
                }
                DataType::Null => DataType::Null,
                other => {
                    return plan_err!(
                        "{NAME}: argument `holidays` must be a list of dates, not {other}"
                    );
                }
            };
            coerce_temporal(NAME, "holidays", &element)?;
            types.push(DataType::List(Arc::new(Field::new_list_field(
                DataType::Date32,
                true,
            ))));
        }
        Ok(types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut holidays = Vec::new();
        let per_row_holidays = match args.args.get(2) {
            None => false,
            Some(ColumnarValue::Scalar(list)) => {
                weekday_holidays(constant_dates(list)?.into_iter(), &mut holidays);
                false
            }
            Some(ColumnarValue::Array(_)) => true,
        };
        let columns = if per_row_holidays {
            &args.args[..]
        } else {
            &args.args[..2]
        };
        map_rows(columns, args.number_rows, |arrays| {
            let starts = local_days(&arrays[0])?;
            let ends = local_days(&arrays[1])?;
            let lists = per_row_holidays.then(|| arrays[2].as_list::<i32>());
            let mut row_holidays = Vec::new();
            let days: Int64Array = (0..starts.len())
                .map(|row| {
                    if starts.is_null(row) || ends.is_null(row) {
                        return None;
                    }
                    let holidays = match lists {
                        Some(lists) if lists.is_valid(row) => {
                            let list = lists.value(row);
                            let dates = list.as_primitive::<Date32Type>();
                            weekday_holidays(dates.iter().flatten(), &mut row_holidays);
                            &row_holidays[..]
                        }
                        Some(_) => &[][..],
                        None => &holidays[..],
                    };
                    Some(count(starts.value(row), ends.value(row), holidays))
                })
                .collect();
            Ok(Arc::new(days) as ArrayRef)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// The dates of a constant list of holidays.
fn constant_dates(list: &ScalarValue) -> Result<Vec<i32>> {
    if list.is_null() {
        return Ok(Vec::new());
    }
    let array = list.to_array()?;
    let lists = array.as_list::<i32>();
    let values = lists.value(0);
    Ok(values
        .as_primitive::<Date32Type>()
        .iter()
        .flatten()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::temporal::days_from_civil;

    fn day(y: i32, m: u32, d: u32) -> i32 {
        days_from_civil(y, m, d).unwrap()
    }

    proptest::proptest! {
        /// The O(1) count equals counting the weekdays that are not holidays one day at a
        /// time, in both directions.
        #[test]
        fn counts_match_walking_the_days(
            start in -800i32..800,
            length in -400i32..400,
            given in proptest::collection::vec(-1_200i32..1_200, 0..6),
        ) {
            let end = start + length;
            let mut holidays = Vec::new();
            weekday_holidays(given.iter().copied(), &mut holidays);
            let walked = |from: i32, to: i32| {
                (from..to).filter(|d| is_weekday(*d) && !holidays.contains(d)).count() as i64
            };
            let wanted = if end >= start { walked(start, end) } else { -walked(end, start) };
            proptest::prop_assert_eq!(count(start, end, &holidays), wanted);
        }
    }

    #[test]
    fn counts_weekdays_in_a_half_open_range() {
        // Monday 2024-01-01 to Monday 2024-01-08: five business days.
        assert_eq!(count(day(2024, 1, 1), day(2024, 1, 8), &[]), 5);
        // Saturday to Monday: none.
        assert_eq!(count(day(2024, 1, 6), day(2024, 1, 8), &[]), 0);
        assert_eq!(count(day(2024, 1, 8), day(2024, 1, 1), &[]), -5);
        assert_eq!(count(day(2024, 1, 3), day(2024, 1, 3), &[]), 0);
    }

    #[test]
    fn weekday_holidays_are_skipped_once() {
        let mut holidays = Vec::new();
        let given = [
            day(2024, 12, 25),
            day(2025, 1, 1),
            day(2024, 12, 25),
            day(2024, 12, 28),
        ];
        weekday_holidays(given.into_iter(), &mut holidays);
        assert_eq!(
            holidays.len(),
            2,
            "the Saturday and the duplicate are dropped"
        );
        assert_eq!(count(day(2024, 12, 23), day(2025, 1, 6), &holidays), 8);
    }
}
