//! The fiscal calendar shared by `fiscal_year`, `fiscal_quarter` and `fiscal_trunc`: a fiscal
//! year starts on the first day of `start_month` and is named by the calendar year in which it
//! ends. Dates are taken in the timestamp's own time zone.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, PrimitiveArray};
use datafusion::arrow::compute::{max, min};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Field, FieldRef, Int32Type, Int64Type,
};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::scalar::ScalarValue;

use crate::functions::arguments::{constant_integer, map_rows};
use crate::functions::temporal::{civil, coerce_temporal, days_in_month, local_days};

/// The fiscal year holding calendar `(year, month)`.
pub fn fiscal_year(year: i32, month: u32, start_month: u32) -> i32 {
    if start_month > 1 && month >= start_month {
        year + 1
    } else {
        year
    }
}

/// The fiscal quarter (1–4) holding calendar month `month`.
pub fn fiscal_quarter(month: u32, start_month: u32) -> i32 {
    (((month + 12 - start_month) % 12) / 3 + 1) as i32
}

/// The granularities of `fiscal_trunc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// A calendar month.
    Month,
    /// A fiscal quarter.
    Quarter,
    /// A fiscal year.
    Year,
}

impl Granularity {
    /// Parses `'month'`, `'quarter'` or `'year'` (case-insensitive).
    pub fn parse(function: &str, text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "month" => Ok(Granularity::Month),
            "quarter" => Ok(Granularity::Quarter),
            "year" => Ok(Granularity::Year),
            _ => plan_err!(
                "{function}: argument `granularity` must be 'month', 'quarter' or 'year', not '{text}'"
            ),
        }
    }

    /// The calendar (year, month) on which the period holding `(year, month)` starts.
    pub fn period_start(self, year: i32, month: u32, start_month: u32) -> (i32, u32) {
        match self {
            Granularity::Month => (year, month),
            Granularity::Quarter => {
                let back = ((month + 12 - start_month) % 12) % 3;
                if month > back {
                    (year, month - back)
                } else {
                    (year - 1, month + 12 - back)
                }
            }
            Granularity::Year => {
                if month >= start_month {
                    (year, start_month)
                } else {
                    (year - 1, start_month)
                }
            }
        }
    }
}

/// The types of `(ts, start_month)` arguments after coercion.
pub fn coerce_date_and_start(
    function: &str,
    ts: &DataType,
    start: &DataType,
) -> Result<Vec<DataType>> {
    if !(start.is_integer() || start.is_null()) {
        return plan_err!("{function}: argument `start_month` must be an integer, not {start}");
    }
    Ok(vec![coerce_temporal(function, "ts", ts)?, DataType::Int64])
}

/// Checks a constant `start_month` at planning time.
pub fn check_start_month(function: &str, value: Option<&ScalarValue>) -> Result<()> {
    match value {
        Some(value) if !value.is_null() => {
            constant_integer(function, "start_month", value, 1..=12).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// Applies `f(year, month, start_month)` to each row of `(ts, start_month)`; NULL in, NULL out.
/// A `start_month` outside 1..12 (possible only when it is a column) is an error.
pub fn map_fiscal<T: ArrowPrimitiveType>(
    function: &str,
    ts: &ArrayRef,
    start_months: &ArrayRef,
    f: impl Fn(i32, u32, u32) -> T::Native,
) -> Result<PrimitiveArray<T>> {
    let days = local_days(ts)?;
    let starts = start_months.as_primitive::<Int64Type>();
    // The usual call has a constant start month, broadcast to the batch: one check, then a
    // map without branches, keeping the dates' NULLs (NULL slots are mapped, then dropped).
    if let Some(&start) = starts.values().first()
        && (1..=12).contains(&start)
        && starts.null_count() == 0
        && starts.values().iter().all(|s| *s == start)
    {
        let per_month = |year, month| f(year, month, start as u32);
        if let Some(table) = DayTable::<T>::covering(&days, &per_month) {
            return Ok(days.unary(|day| table.value(day)));
        }
        return Ok(days.unary(|day| {
            let (year, month, _) = civil(day);
            per_month(year, month)
        }));
    }
    let mut out = Vec::with_capacity(days.len());
    let mut valid = Vec::with_capacity(days.len());
    for row in 0..days.len() {
        if days.is_null(row) || starts.is_null(row) {
            out.push(T::Native::default());
            valid.push(false);
            continue;
        }
        let start = starts.value(row);
        if !(1..=12).contains(&start) {
            return exec_err!("{function}: start_month must be between 1 and 12, not {start}");
        }
        let (year, month, _) = civil(days.value(row));
        out.push(f(year, month, start as u32));
        valid.push(true);
    }
    Ok(PrimitiveArray::<T>::new(out.into(), Some(valid.into())))
}

/// The value of every day from a batch's first date to its last, computed once per calendar
/// month. A batch of sales dates spans a few months or years, so looking each row up here
/// replaces the calendar arithmetic of every row (divisions by 146 097, 36 524, 1 460, 153
/// …) by a load: `fiscal_trunc` over 226 K closing dates took 5–9 ms that way.
struct DayTable<T: ArrowPrimitiveType> {
    first_day: i32,
    values: Vec<T::Native>,
}

impl<T: ArrowPrimitiveType> DayTable<T> {
    /// Days a table may hold per row of the batch: filling an entry costs a store, converting
    /// a row's date a few dozen cycles.
    const DAYS_PER_ROW: usize = 16;

    /// The table for `days`' span, `None` when the span is long for the batch's size (a
    /// table would cost more than it saves) or every date is NULL.
    fn covering(days: &Int32Array, per_month: &impl Fn(i32, u32) -> T::Native) -> Option<Self> {
        let first_day = min(days)?;
        let last_day = max(days)?;
        let span = usize::try_from(i64::from(last_day) - i64::from(first_day) + 1).ok()?;
        if span > days.len().saturating_mul(Self::DAYS_PER_ROW) {
            return None;
        }
        let mut values = Vec::with_capacity(span);
        let mut day = first_day;
        while values.len() < span {
            let (year, month, day_of_month) = civil(day);
            let left_in_month = (days_in_month(year, month) - day_of_month + 1) as usize;
            let run = left_in_month.min(span - values.len());
            values.extend(std::iter::repeat_n(per_month(year, month), run));
            day = day.wrapping_add(run as i32);
        }
        Some(Self { first_day, values })
    }

    /// The value of `day`. A day outside the span (the placeholder under a NULL) reads an
    /// arbitrary entry, never out of bounds.
    fn value(&self, day: i32) -> T::Native {
        let offset = (day.wrapping_sub(self.first_day) as u32 as usize).min(self.values.len() - 1);
        self.values[offset]
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Date32Array, Int32Array, Int64Array};
    use datafusion::arrow::datatypes::Int32Type;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A constant start month (the broadcast fast path) and one that varies by row give
        /// what each row gives alone, NULL dates staying NULL.
        #[test]
        fn constant_start_months_map_as_rows_do(days in dates(), start in 1i64..=12) {
            let dates: ArrayRef = Arc::new(Date32Array::from(days.clone()));
            let period = |year: i32, month: u32, start: u32| {
                let (year, month) = Granularity::Quarter.period_start(year, month, start);
                year * 100 + month as i32
            };
            let constant: ArrayRef = Arc::new(Int64Array::from(vec![start; days.len()]));
            let fast = map_fiscal::<Int32Type>("t", &dates, &constant, period).unwrap();
            // A NULL start month in an extra row sends the same rows through the row loop.
            let mut varied = vec![Some(start); days.len()];
            varied.push(None);
            let mut with_extra = days.clone();
            with_extra.push(Some(0));
            let slow = map_fiscal::<Int32Type>(
                "t",
                &(Arc::new(Date32Array::from(with_extra)) as ArrayRef),
                &(Arc::new(Int64Array::from(varied)) as ArrayRef),
                period,
            )
            .unwrap();
            let expected: Int32Array = days
                .iter()
                .map(|day| day.map(|d| {
                    let (year, month, _) = civil(d);
                    period(year, month, start as u32)
                }))
                .collect();
            prop_assert_eq!(&fast, &expected);
            prop_assert_eq!(&slow.slice(0, days.len()), &expected);
            prop_assert!(slow.is_null(days.len()));
        }
    }

    /// Batches of dates spanning a few weeks, a few years (both read through a [`DayTable`])
    /// or millennia (converted row by row), some NULL.
    fn dates() -> impl Strategy<Value = Vec<Option<i32>>> {
        (
            -1_000_000i32..1_000_000,
            prop_oneof![Just(40), Just(800), Just(2_000_000)],
        )
            .prop_flat_map(|(first, width)| {
                proptest::collection::vec(
                    proptest::option::weighted(0.9, first..first + width),
                    0..50,
                )
            })
    }

    fn quarter_starts(days: &[Option<i32>]) -> Option<DayTable<Int32Type>> {
        let period = |year: i32, month: u32| {
            let (year, month) = Granularity::Quarter.period_start(year, month, 2);
            year * 100 + month as i32
        };
        DayTable::<Int32Type>::covering(&Int32Array::from(days.to_vec()), &period)
    }

    #[test]
    fn day_tables_cover_short_spans_only() {
        let table = quarter_starts(&[Some(-1), Some(30), None, Some(0)]).expect("a short span");
        // 1969-12-31 is in the quarter from November 1969, 1970-01-31 in the same one.
        assert_eq!(table.values.len(), 32);
        assert_eq!(table.value(-1), 196911);
        assert_eq!(table.value(30), 196911);
        assert!(quarter_starts(&[Some(0), Some(65)]).is_none());
        assert!(quarter_starts(&[None, None]).is_none());
        // The last days an i32 counts: the table stops at the span's end.
        let last = quarter_starts(&[Some(i32::MAX), Some(i32::MAX - 20)]).expect("a short span");
        assert_eq!(last.values.len(), 21);
    }

    #[test]
    fn fiscal_years_are_named_by_the_year_they_end_in() {
        assert_eq!(fiscal_year(2024, 7, 7), 2025);
        assert_eq!(fiscal_year(2024, 6, 7), 2024);
        assert_eq!(fiscal_year(2024, 12, 1), 2024);
        assert_eq!(fiscal_year(2024, 2, 2), 2025);
    }

    #[test]
    fn fiscal_quarters_count_from_the_start_month() {
        assert_eq!(fiscal_quarter(7, 7), 1);
        assert_eq!(fiscal_quarter(6, 7), 4);
        assert_eq!(fiscal_quarter(1, 1), 1);
        assert_eq!(fiscal_quarter(12, 1), 4);
        assert_eq!(fiscal_quarter(1, 11), 1);
        assert_eq!(fiscal_quarter(2, 11), 2);
    }

    #[test]
    fn periods_start_where_they_should() {
        assert_eq!(Granularity::Quarter.period_start(2024, 2, 11), (2024, 2));
        assert_eq!(Granularity::Quarter.period_start(2024, 1, 11), (2023, 11));
        assert_eq!(Granularity::Quarter.period_start(2024, 6, 1), (2024, 4));
        assert_eq!(Granularity::Year.period_start(2024, 6, 7), (2023, 7));
        assert_eq!(Granularity::Year.period_start(2024, 7, 7), (2024, 7));
        assert_eq!(Granularity::Month.period_start(2024, 7, 3), (2024, 7));
    }
}

/// Which part of the fiscal calendar a [`FiscalPart`] function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The fiscal year.
    Year,
    /// The fiscal quarter.
    Quarter,
}

/// `fiscal_year(ts, start_month)` and `fiscal_quarter(ts, start_month)`: one implementation,
/// two functions. Equal when name and part are (the documentation follows from them).
#[derive(Debug)]
pub struct FiscalPart {
    name: &'static str,
    part: Part,
    signature: Signature,
    documentation: fn() -> &'static Documentation,
}

impl PartialEq for FiscalPart {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.part == other.part
    }
}

impl Eq for FiscalPart {}

impl std::hash::Hash for FiscalPart {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.part.hash(state);
    }
}

impl FiscalPart {
    /// The function `name` returning `part`.
    pub fn new(
        name: &'static str,
        part: Part,
        documentation: fn() -> &'static Documentation,
    ) -> Self {
        Self {
            name,
            part,
            signature: Signature::user_defined(Volatility::Immutable),
            documentation,
        }
    }
}

impl ScalarUDFImpl for FiscalPart {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [ts, start] = arg_types else {
            return plan_err!(
                "{} takes two arguments (ts, start_month), not {}",
                self.name,
                arg_types.len()
            );
        };
        coerce_date_and_start(self.name, ts, start)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        check_start_month(self.name, args.scalar_arguments.get(1).copied().flatten())?;
        Ok(Arc::new(Field::new(self.name, DataType::Int32, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let part = self.part;
        map_rows(&args.args, args.number_rows, |arrays| {
            let values = map_fiscal::<Int32Type>(
                self.name,
                &arrays[0],
                &arrays[1],
                |year, month, start| match part {
                    Part::Year => fiscal_year(year, month, start),
                    Part::Quarter => fiscal_quarter(month, start),
                },
            )?;
            Ok(Arc::new(values) as ArrayRef)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some((self.documentation)())
    }
}
