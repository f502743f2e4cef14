//! `date_trunc` and `date_part` (hence `extract`): DataFusion's own functions, made fast for
//! UTC timestamps.
//!
//! DataFusion reads the calendar fields of a timestamp that carries a time zone through
//! chrono, value by value, even when the zone is UTC (about 170 ns a value for
//! `date_trunc('quarter', created_at)`, 50 ns for `date_part`), while it computes them with
//! integer arithmetic for zone-less timestamps. In UTC the wall clock *is* the stored instant,
//! so the answer for a UTC timestamp equals the answer for the same values without a zone.
//! This wrapper does exactly that: it drops a UTC zone from the timestamp argument, calls
//! DataFusion's implementation, and puts the zone back on a timestamp result. Every other
//! input (other zones, times, dates, strings) goes to DataFusion's implementation unchanged,
//! as do the signature, return type, ordering and documentation.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, make_array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::Result;
use datafusion::logical_expr::interval_arithmetic::Interval;
use datafusion::logical_expr::preimage::PreimageResult;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature,
};
use datafusion::scalar::ScalarValue;

use crate::functions::temporal::is_utc_zone;

/// A DataFusion datetime function that computes UTC timestamps as zone-less ones.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UtcAsNaive {
    builtin: Arc<ScalarUDF>,
}

/// Both functions take `(text, timestamp)`: the position of the timestamp.
const TIMESTAMP_ARG: usize = 1;

/// The `date_trunc(granularity, ts)` salesql registers in place of DataFusion's.
pub fn date_trunc() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| utc_as_naive(datafusion::functions::datetime::date_trunc()));
    Arc::clone(&UDF)
}

/// The `date_part(part, ts)` (and `extract(part FROM ts)`) salesql registers in place of
/// DataFusion's.
pub fn date_part() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| utc_as_naive(datafusion::functions::datetime::date_part()));
    Arc::clone(&UDF)
}

fn utc_as_naive(builtin: Arc<ScalarUDF>) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(UtcAsNaive { builtin }))
}

/// The zone of a UTC timestamp type, `None` for anything else.
fn utc_zone(data_type: &DataType) -> Option<Arc<str>> {
    match data_type {
        DataType::Timestamp(_, Some(zone)) if is_utc_zone(zone) => Some(Arc::clone(zone)),
        _ => None,
    }
}

/// `data_type` with its time zone replaced by `zone`.
fn with_zone(data_type: &DataType, zone: Option<Arc<str>>) -> DataType {
    match data_type {
        DataType::Timestamp(unit, _) => DataType::Timestamp(*unit, zone),
        other => other.clone(),
    }
}

/// The same values under another timestamp type (a zone change: no value is touched); other
/// types as they are.
fn retag_array(array: &ArrayRef, zone: Option<Arc<str>>) -> Result<ArrayRef> {
    if !matches!(array.data_type(), DataType::Timestamp(..)) {
        return Ok(Arc::clone(array));
    }
    let data = array
        .to_data()
        .into_builder()
        .data_type(with_zone(array.data_type(), zone))
        .build()?;
    Ok(make_array(data))
}

/// The same value under another time zone.
fn retag_scalar(value: &ScalarValue, zone: Option<Arc<str>>) -> ScalarValue {
    match value {
        ScalarValue::TimestampSecond(v, _) => ScalarValue::TimestampSecond(*v, zone),
        ScalarValue::TimestampMillisecond(v, _) => ScalarValue::TimestampMillisecond(*v, zone),
        ScalarValue::TimestampMicrosecond(v, _) => ScalarValue::TimestampMicrosecond(*v, zone),
        ScalarValue::TimestampNanosecond(v, _) => ScalarValue::TimestampNanosecond(*v, zone),
        other => other.clone(),
    }
}

fn retag(value: ColumnarValue, zone: Option<Arc<str>>) -> Result<ColumnarValue> {
    Ok(match value {
        ColumnarValue::Array(array) => ColumnarValue::Array(retag_array(&array, zone)?),
        ColumnarValue::Scalar(scalar) => ColumnarValue::Scalar(retag_scalar(&scalar, zone)),
    })
}

fn retag_field(field: &FieldRef, zone: Option<Arc<str>>) -> FieldRef {
    Arc::new(Field::new(
        field.name(),
        with_zone(field.data_type(), zone),
        field.is_nullable(),
    ))
}

impl ScalarUDFImpl for UtcAsNaive {
    fn name(&self) -> &str {
        self.builtin.name()
    }

    fn aliases(&self) -> &[String] {
        self.builtin.aliases()
    }

    fn signature(&self) -> &Signature {
        self.builtin.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.builtin.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.builtin.return_field_from_args(args)
    }

    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let at = TIMESTAMP_ARG;
        let zone = args.args.get(at).and_then(|ts| utc_zone(&ts.data_type()));
        let Some(zone) = zone else {
            return self.builtin.invoke_with_args(args);
        };
        args.args[at] = retag(args.args[at].clone(), None)?;
        if let Some(field) = args.arg_fields.get_mut(at) {
            *field = retag_field(field, None);
        }
        args.return_field = retag_field(&args.return_field, None);
        // A timestamp result (date_trunc's) gets the zone back; a number (date_part's) is final.
        retag(self.builtin.invoke_with_args(args)?, Some(zone))
    }

    // Everything below is the built-in's: names, simplification and the preimage that turns
    // `extract(year FROM ts) = 2024` into a prunable range, bounds and orderings.

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        self.builtin.schema_name(args)
    }

    fn is_strict(&self) -> bool {
        self.builtin.is_strict()
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        self.builtin.simplify(args, info)
    }

    fn preimage(
        &self,
        args: &[Expr],
        lit_expr: &Expr,
        info: &SimplifyContext,
    ) -> Result<PreimageResult> {
        self.builtin.preimage(args, lit_expr, info)
    }

    fn short_circuits(&self) -> bool {
        self.builtin.short_circuits()
    }

    fn evaluate_bounds(&self, input: &[&Interval]) -> Result<Interval> {
        self.builtin.evaluate_bounds(input)
    }

    fn propagate_constraints(
        &self,
        interval: &Interval,
        inputs: &[&Interval],
    ) -> Result<Option<Vec<Interval>>> {
        self.builtin.propagate_constraints(interval, inputs)
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        self.builtin.output_ordering(input)
    }

    fn preserves_lex_ordering(&self, inputs: &[ExprProperties]) -> Result<bool> {
        self.builtin.preserves_lex_ordering(inputs)
    }

    fn strictly_order_preserving(&self, inputs: &[ExprProperties]) -> Result<bool> {
        self.builtin.strictly_order_preserving(inputs)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.builtin.coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.builtin.documentation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{TimeUnit, TimestampMicrosecondType};
    use datafusion::config::ConfigOptions;

    /// Calls `function` as DataFusion would on (granularity, array).
    fn call(function: &ScalarUDF, granularity: &str, array: &ArrayRef) -> ArrayRef {
        try_call(function, granularity, array).expect("the function runs")
    }

    fn try_call(function: &ScalarUDF, granularity: &str, array: &ArrayRef) -> Result<ArrayRef> {
        let granularity = ScalarValue::Utf8(Some(granularity.into()));
        let arg_fields: Vec<FieldRef> = vec![
            Arc::new(Field::new("g", DataType::Utf8, false)),
            Arc::new(Field::new("ts", array.data_type().clone(), true)),
        ];
        let return_field = function.return_field_from_args(ReturnFieldArgs {
            arg_fields: &arg_fields,
            scalar_arguments: &[Some(&granularity), None],
        })?;
        let result = function.invoke_with_args(ScalarFunctionArgs {
            args: vec![
                ColumnarValue::Scalar(granularity),
                ColumnarValue::Array(Arc::clone(array)),
            ],
            arg_fields,
            number_rows: array.len(),
            return_field,
            config_options: Arc::new(ConfigOptions::default()),
        })?;
        result.into_array(array.len())
    }

    /// Timestamps (µs) spread over the 250 years either side of 1970 (DataFusion's range:
    /// it computes in nanoseconds), with NULLs.
    fn instants(zone: Option<&str>) -> ArrayRef {
        let mut values: Vec<Option<i64>> = (0..8_000i64)
            .map(|i| Some((i - 4_000) * 1_971_999_937_013 + i * 1_013))
            .collect();
        values.extend([None, Some(0), Some(-1), Some(1)]);
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone_opt(zone))
    }

    #[test]
    fn utc_timestamps_truncate_exactly_as_datafusion_truncates_them() {
        let builtin = datafusion::functions::datetime::date_trunc();
        let ours = date_trunc();
        for zone in ["UTC", "+00:00", "Etc/UTC"] {
            for granularity in [
                "year", "quarter", "month", "week", "day", "hour", "minute", "second",
            ] {
                let expected = call(&builtin, granularity, &instants(Some(zone)));
                let actual = call(&ours, granularity, &instants(Some(zone)));
                assert_eq!(
                    actual.data_type(),
                    &DataType::Timestamp(TimeUnit::Microsecond, Some(zone.into()))
                );
                assert_eq!(&actual, &expected, "{granularity} in {zone}");
            }
        }
    }

    #[test]
    fn utc_timestamps_give_datafusion_date_parts() {
        let builtin = datafusion::functions::datetime::date_part();
        let ours = date_part();
        for zone in ["UTC", "+00:00"] {
            for part in [
                "year",
                "quarter",
                "month",
                "week",
                "day",
                "hour",
                "minute",
                "second",
                "dow",
                "doy",
                "epoch",
                "millisecond",
                "microsecond",
            ] {
                let expected = call(&builtin, part, &instants(Some(zone)));
                let actual = call(&ours, part, &instants(Some(zone)));
                assert_eq!(&actual, &expected, "{part} in {zone}");
            }
        }
    }

    #[test]
    fn other_zones_and_naive_timestamps_go_to_datafusion() {
        let builtin = datafusion::functions::datetime::date_trunc();
        let ours = date_trunc();
        for zone in [None, Some("America/New_York"), Some("+05:30")] {
            let expected = call(&builtin, "month", &instants(zone));
            let actual = call(&ours, "month", &instants(zone));
            assert_eq!(&actual, &expected, "{zone:?}");
            let expected = call(
                &datafusion::functions::datetime::date_part(),
                "hour",
                &instants(zone),
            );
            let actual = call(&date_part(), "hour", &instants(zone));
            assert_eq!(&actual, &expected, "{zone:?}");
        }
    }

    #[test]
    fn out_of_range_timestamps_fail_as_in_datafusion() {
        // Year 2400 does not fit DataFusion's nanoseconds.
        let input = || -> ArrayRef {
            Arc::new(
                TimestampMicrosecondArray::from(vec![13_569_465_600_000_000]).with_timezone("UTC"),
            )
        };
        let builtin = datafusion::functions::datetime::date_trunc();
        assert!(try_call(&builtin, "year", &input()).is_err());
        assert!(try_call(&date_trunc(), "year", &input()).is_err());
    }

    #[test]
    fn a_hand_checked_quarter() {
        // 2025-08-17 13:45:00 UTC → 2025-07-01 00:00:00 UTC.
        let input: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![1_755_438_300_000_000]).with_timezone("UTC"),
        );
        let result = call(&date_trunc(), "quarter", &input);
        let result = result.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(result.value(0), 1_751_328_000_000_000);
    }
}
