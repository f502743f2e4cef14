//! `cycle_days(start, end)`: the time from `start` to `end` in days, fractional.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::compute::binary;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::functions::arguments::{document, map_rows};
use crate::functions::temporal::{MICROS_PER_DAY, coerce_temporal, instants};

const NAME: &str = "cycle_days";

/// The `cycle_days` function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CycleDays {
    signature: Signature,
}

/// The `cycle_days` function.
pub fn cycle_days() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(CycleDays {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "The time from `start` to `end` in days, fractional (seconds ÷ 86,400); NULL if either is \
         NULL; negative when `end` is before `start`. Accepts timestamps of any unit, with or \
         without a time zone, and dates.",
        "cycle_days(start, end)",
        "SELECT cycle_days(TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-02 12:00:00');\n-- 1.5",
        &[
            ("start", "The beginning (timestamp or date)."),
            ("end", "The end (timestamp or date)."),
        ],
    )
});

impl ScalarUDFImpl for CycleDays {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [start, end] = arg_types else {
            return plan_err!(
                "{NAME} takes two arguments (start, end), not {}",
                arg_types.len()
            );
        };
        Ok(vec![
            coerce_temporal(NAME, "start", start)?,
            coerce_temporal(NAME, "end", end)?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_rows(&args.args, args.number_rows, |arrays| {
            let (start, end) = (instants(&arrays[0])?, instants(&arrays[1])?);
            let days: Float64Array = binary(&start, &end, |s, e| {
                (i128::from(e) - i128::from(s)) as f64 / MICROS_PER_DAY as f64
            })?;
            Ok(Arc::new(days) as ArrayRef)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}
