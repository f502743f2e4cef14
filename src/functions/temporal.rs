//! Time values as the sales functions see them: every timestamp unit, with or without a time
//! zone, and dates, read as instants (microseconds since the epoch, UTC) or as calendar days
//! in the value's own time zone (as DataFusion's `date_trunc` does).

use std::str::FromStr;

use chrono::{Offset, TimeZone};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int64Array, PrimitiveArray};
use datafusion::arrow::compute::kernels::cast;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Date64Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::scalar::ScalarValue;

/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// True for the types a timestamp argument accepts as they are.
pub fn is_temporal(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
    )
}

/// The type a timestamp argument of type `data_type` is coerced to: temporal types stay as
/// they are and NULL becomes a timestamp; anything else (text included: write `TIMESTAMP '…'`
/// or `DATE '…'`) is a planning error naming the function and the argument.
pub fn coerce_temporal(function: &str, argument: &str, data_type: &DataType) -> Result<DataType> {
    match data_type {
        t if is_temporal(t) => Ok(t.clone()),
        DataType::Null => Ok(DataType::Timestamp(TimeUnit::Microsecond, None)),
        other => plan_err!(
            "{function}: argument `{argument}` must be a timestamp or a date, not {other} (write TIMESTAMP '…' or DATE '…' for a constant)"
        ),
    }
}

/// The values of a temporal array as instants in microseconds since the epoch (UTC); NULLs
/// stay NULL. Sub-microsecond precision is dropped (floored).
pub fn instants(array: &ArrayRef) -> Result<Int64Array> {
    let micros = |values: &dyn Array, scale: fn(i64) -> i64| -> Int64Array {
        let values = values.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        values.unary(scale)
    };
    Ok(match array.data_type() {
        DataType::Timestamp(unit, _) => {
            let raw = reinterpret_i64(array)?;
            match unit {
                TimeUnit::Second => micros(&raw, |v| v.saturating_mul(1_000_000)),
                TimeUnit::Millisecond => micros(&raw, |v| v.saturating_mul(1_000)),
                TimeUnit::Microsecond => micros(&raw, |v| v),
                TimeUnit::Nanosecond => micros(&raw, |v| v.div_euclid(1_000)),
            }
        }
        DataType::Date32 => array
            .as_primitive::<Date32Type>()
            .unary(|days| i64::from(days).saturating_mul(MICROS_PER_DAY)),
        DataType::Date64 => array
            .as_primitive::<Date64Type>()
            .unary(|ms| ms.saturating_mul(1_000)),
        other => return exec_err!("expected a timestamp or a date, got {other}"),
    })
}

/// The raw 64-bit values of a timestamp array.
fn reinterpret_i64(array: &ArrayRef) -> Result<Int64Array> {
    fn raw<T: ArrowPrimitiveType<Native = i64>>(array: &ArrayRef) -> Int64Array {
        let typed: &PrimitiveArray<T> = array.as_primitive::<T>();
        Int64Array::new(typed.values().clone(), typed.nulls().cloned())
    }
    Ok(match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => raw::<TimestampSecondType>(array),
        DataType::Timestamp(TimeUnit::Millisecond, _) => raw::<TimestampMillisecondType>(array),
        DataType::Timestamp(TimeUnit::Microsecond, _) => raw::<TimestampMicrosecondType>(array),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => raw::<TimestampNanosecondType>(array),
        other => return exec_err!("expected a timestamp, got {other}"),
    })
}

/// The calendar day (days since 1970-01-01) of each value, in the value's own time zone (a
/// timestamp without a zone is read as it is written; a date is its own day).
pub fn local_days(array: &ArrayRef) -> Result<Int32Array> {
    if let DataType::Date32 = array.data_type() {
        let dates = array.as_primitive::<Date32Type>();
        return Ok(Int32Array::new(
            dates.values().clone(),
            dates.nulls().cloned(),
        ));
    }
    let micros = instants(array)?;
    let zone = match array.data_type() {
        DataType::Timestamp(_, Some(zone)) => Some(parse_zone(zone)?),
        _ => None,
    };
    Ok(match zone {
        None => micros.unary(|v| v.div_euclid(MICROS_PER_DAY) as i32),
        Some(zone) => micros.unary(|v| {
            let offset = zone_offset_micros(&zone, v);
            v.saturating_add(offset).div_euclid(MICROS_PER_DAY) as i32
        }),
    })
}

/// A parsed time zone; `None` for UTC (no offset to apply).
#[derive(Debug, Clone, Copy)]
pub struct Zone(Option<Tz>);

/// Whether an Arrow time-zone string names UTC (no offset, no daylight saving time, ever).
pub fn is_utc_zone(zone: &str) -> bool {
    matches!(zone, "UTC" | "utc" | "Z" | "+00:00" | "+0000" | "Etc/UTC")
}

/// Parses an Arrow time-zone string.
pub fn parse_zone(zone: &str) -> Result<Zone> {
    if is_utc_zone(zone) {
        return Ok(Zone(None));
    }
    Tz::from_str(zone)
        .map(|tz| Zone(Some(tz)))
        .or_else(|e| exec_err!("unknown time zone {zone:?}: {e}"))
}

/// The zone's offset from UTC at instant `micros`, in microseconds.
fn zone_offset_micros(zone: &Zone, micros: i64) -> i64 {
    let Some(tz) = zone.0 else {
        return 0;
    };
    let Some(utc) = chrono::DateTime::from_timestamp_micros(micros) else {
        return 0;
    };
    let offset = tz.offset_from_utc_datetime(&utc.naive_utc()).fix();
    i64::from(offset.local_minus_utc()) * 1_000_000
}

/// Days since the epoch → (year, month 1–12, day), in the proleptic Gregorian calendar.
///
/// Integer arithmetic on 400-year eras (Howard Hinnant's `civil_from_days`), which is several
/// times faster than going through a `chrono` date, and fiscal functions call it per row.
pub fn civil(days: i32) -> (i32, u32, u32) {
    // Days since 0000-03-01: years then end in February, so leap days fall last.
    let shifted = i64::from(days) + 719_468;
    let era = shifted.div_euclid(DAYS_PER_ERA);
    let day_of_era = shifted.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_based_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_based_month + 2) / 5 + 1;
    let month = if march_based_month < 10 {
        march_based_month + 3
    } else {
        march_based_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year as i32, month as u32, day as u32)
}

/// (year, month, day) → days since the epoch; `None` for a day that does not exist or lies
/// beyond the days an `i32` counts (about ±5.8 million years, as [`civil`] reads them).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> Option<i32> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let march_based_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * march_based_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    i32::try_from(era * DAYS_PER_ERA + day_of_era - 719_468).ok()
}

/// The days of 400 Gregorian years.
const DAYS_PER_ERA: i64 = 146_097;

/// The number of days of `month` (1–12) of `year`.
/// The number of days in calendar `(year, month)`.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The instant of a constant temporal argument (a timestamp of any unit, a date, or a string
/// such as `'2024-01-01'`), or `None` when it is NULL.
pub fn scalar_instant(value: &ScalarValue) -> Result<Option<i64>> {
    let array = value.to_array()?;
    let array: ArrayRef = match array.data_type() {
        t if is_temporal(t) => array,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
            cast(&array, &DataType::Timestamp(TimeUnit::Microsecond, None))?
        }
        DataType::Null => return Ok(None),
        other => return exec_err!("expected a timestamp or a date, got {other}"),
    };
    let micros = instants(&array)?;
    Ok(micros.is_valid(0).then(|| micros.value(0)))
}

/// A constant interval as (months, days, nanoseconds), whatever its interval type.
pub fn interval_parts(value: &ScalarValue) -> Option<(i32, i32, i64)> {
    match value {
        ScalarValue::IntervalMonthDayNano(Some(v)) => Some((v.months, v.days, v.nanoseconds)),
        ScalarValue::IntervalDayTime(Some(v)) => {
            Some((0, v.days, i64::from(v.milliseconds) * 1_000_000))
        }
        ScalarValue::IntervalYearMonth(Some(months)) => Some((*months, 0, 0)),
        ScalarValue::DurationSecond(Some(s)) => Some((0, 0, s.saturating_mul(1_000_000_000))),
        ScalarValue::DurationMillisecond(Some(ms)) => Some((0, 0, ms.saturating_mul(1_000_000))),
        ScalarValue::DurationMicrosecond(Some(us)) => Some((0, 0, us.saturating_mul(1_000))),
        ScalarValue::DurationNanosecond(Some(ns)) => Some((0, 0, *ns)),
        _ => None,
    }
}

/// `micros` plus `months` calendar months (clamping the day to the month's end, as SQL does),
/// `days` days and `nanos` nanoseconds, in UTC; `None` when out of range.
pub fn add_interval(micros: i64, months: i64, days: i64, nanos: i64) -> Option<i64> {
    let start = chrono::DateTime::from_timestamp_micros(micros)?.naive_utc();
    let shifted = if months >= 0 {
        start.checked_add_months(chrono::Months::new(u32::try_from(months).ok()?))?
    } else {
        start.checked_sub_months(chrono::Months::new(u32::try_from(-months).ok()?))?
    };
    let shifted = shifted.and_utc().timestamp_micros();
    shifted
        .checked_add(days.checked_mul(MICROS_PER_DAY)?)?
        .checked_add(nanos.div_euclid(1_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate};
    use datafusion::arrow::array::{Date32Array, TimestampNanosecondArray, TimestampSecondArray};
    use std::sync::Arc;

    #[test]
    fn every_unit_reads_as_the_same_instant() {
        let seconds: ArrayRef = Arc::new(TimestampSecondArray::from(vec![Some(86_400), None]));
        let nanos: ArrayRef = Arc::new(
            TimestampNanosecondArray::from(vec![Some(86_400_000_000_123), None])
                .with_timezone("+05:00"),
        );
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![Some(1), None]));
        for array in [seconds, nanos, dates] {
            let micros = instants(&array).unwrap();
            assert_eq!(micros.value(0), MICROS_PER_DAY, "{array:?}");
            assert!(micros.is_null(1));
        }
    }

    proptest::proptest! {
        /// The calendar arithmetic agrees with `chrono` on every day of ±10,000 years, and on
        /// which (year, month, day) exist.
        #[test]
        fn civil_dates_agree_with_chrono(
            days in -4_000_000i32..4_000_000,
            year in -10_000i32..10_000,
            month in 0u32..14,
            day in 0u32..33,
        ) {
            let date = NaiveDate::from_num_days_from_ce_opt(days + 719_163).unwrap();
            proptest::prop_assert_eq!(civil(days), (date.year(), date.month(), date.day()));
            proptest::prop_assert_eq!(days_from_civil(date.year(), date.month(), date.day()), Some(days));
            let wanted = NaiveDate::from_ymd_opt(year, month, day).map(|d| d.num_days_from_ce() - 719_163);
            proptest::prop_assert_eq!(days_from_civil(year, month, day), wanted);
        }
    }

    #[test]
    fn every_day_an_i32_counts_goes_there_and_back() {
        for days in [
            i32::MIN,
            i32::MIN + 1,
            -719_469,
            -719_468,
            0,
            95_000_000,
            i32::MAX,
        ] {
            let (year, month, day) = civil(days);
            assert_eq!(days_from_civil(year, month, day), Some(days), "{days}");
        }
        let (year, month, day) = civil(i32::MAX);
        let next = if day < days_in_month(year, month) {
            (year, month, day + 1)
        } else {
            (year, month + 1, 1)
        };
        assert_eq!(
            days_from_civil(next.0, next.1, next.2),
            None,
            "past the last day"
        );
    }

    #[test]
    fn local_days_follow_the_time_zone() {
        // 2024-06-30T23:30:00Z is already July 1st in Paris.
        let instant = 1_719_790_200_i64 * 1_000_000;
        let utc: ArrayRef = Arc::new(
            datafusion::arrow::array::TimestampMicrosecondArray::from(vec![instant])
                .with_timezone("UTC"),
        );
        let paris: ArrayRef = Arc::new(
            datafusion::arrow::array::TimestampMicrosecondArray::from(vec![instant])
                .with_timezone("Europe/Paris"),
        );
        assert_eq!(civil(local_days(&utc).unwrap().value(0)), (2024, 6, 30));
        assert_eq!(civil(local_days(&paris).unwrap().value(0)), (2024, 7, 1));
    }

    #[test]
    fn months_are_added_on_the_calendar() {
        let jan_31 = i64::from(days_from_civil(2024, 1, 31).unwrap()) * MICROS_PER_DAY;
        let feb_29 = i64::from(days_from_civil(2024, 2, 29).unwrap()) * MICROS_PER_DAY;
        assert_eq!(add_interval(jan_31, 1, 0, 0), Some(feb_29));
        assert_eq!(add_interval(jan_31, 0, 1, 0), Some(jan_31 + MICROS_PER_DAY));
    }
}
