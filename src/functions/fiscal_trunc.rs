//! `fiscal_trunc(granularity, ts, start_month)`: the first day of the fiscal month, quarter or
//! year holding `ts`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, FieldRef};
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::scalar::ScalarValue;

use crate::functions::arguments::{
    constant_text, document, logical_constant, map_rows, require_constant,
};
use crate::functions::fiscal::{Granularity, check_start_month, coerce_date_and_start, map_fiscal};
use crate::functions::temporal::days_from_civil;

const NAME: &str = "fiscal_trunc";

/// The `fiscal_trunc` function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FiscalTrunc {
    signature: Signature,
}

/// The `fiscal_trunc` function.
pub fn fiscal_trunc() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(FiscalTrunc {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "The first day of the fiscal 'month', 'quarter' or 'year' that holds `ts`, for a fiscal year \
         starting on the first day of `start_month`. The date is taken in the timestamp's own time \
         zone.",
        "fiscal_trunc(granularity, ts, start_month)",
        "SELECT fiscal_trunc('quarter', DATE '2024-01-15', 11), fiscal_trunc('year', DATE '2024-01-15', 7);\n\
         -- 2023-11-01, 2023-07-01",
        &[
            ("granularity", "A constant: 'month', 'quarter' or 'year'."),
            (
                "ts",
                "A timestamp of any unit (with or without a time zone) or a date.",
            ),
            (
                "start_month",
                "The month the fiscal year starts in, 1 to 12.",
            ),
        ],
    )
});

fn granularity(value: Option<&ScalarValue>) -> Result<Granularity> {
    let value = require_constant(NAME, "granularity", value)?;
    Granularity::parse(NAME, constant_text(NAME, "granularity", value)?)
}

impl ScalarUDFImpl for FiscalTrunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [granularity, ts, start] = arg_types else {
            return plan_err!(
                "{NAME} takes three arguments (granularity, ts, start_month), not {}",
                arg_types.len()
            );
        };
        if !matches!(
            granularity,
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
        ) {
            return plan_err!("{NAME}: argument `granularity` must be text, not {granularity}");
        }
        let mut types = vec![DataType::Utf8];
        types.extend(coerce_date_and_start(NAME, ts, start)?);
        Ok(types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        // A placeholder (`$period`) is not a value yet: it is checked once bound (`simplify`).
        if let Some(value) = args.scalar_arguments.first().copied().flatten() {
            granularity(Some(value))?;
        }
        check_start_month(NAME, args.scalar_arguments.get(2).copied().flatten())?;
        Ok(Arc::new(Field::new(NAME, DataType::Date32, true)))
    }

    fn simplify(&self, args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        granularity(args.first().and_then(logical_constant))?;
        Ok(ExprSimplifyResult::Original(args))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ColumnarValue::Scalar(constant) = &args.args[0] else {
            return plan_err!("{NAME}: argument `granularity` must be a constant");
        };
        let granularity = granularity(Some(constant))?;
        map_rows(&args.args[1..], args.number_rows, |arrays| {
            let dates =
                map_fiscal::<Date32Type>(NAME, &arrays[0], &arrays[1], |year, month, start| {
                    let (year, month) = granularity.period_start(year, month, start);
                    // A period starts on or before its date, so only the earliest dates' periods
                    // can start before the first day a DATE holds: they clamp to it.
                    days_from_civil(year, month, 1).unwrap_or(i32::MIN)
                })?;
            Ok(Arc::new(dates) as ArrayRef)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}
