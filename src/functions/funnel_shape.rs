//! `funnel_shape(counts)`: how evenly a funnel narrows — `max(0, 1 − stddev_pop(r) / avg(r))`
//! over the step conversions `r` up to the first zero count.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::functions::arguments::{document, map_rows};
use crate::functions::funnel_counts::{coerce_counts, map_conversions};

const NAME: &str = "funnel_shape";

/// The `funnel_shape` function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FunnelShape {
    signature: Signature,
}

/// The `funnel_shape` function.
pub fn funnel_shape() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(FunnelShape {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "The shape of a funnel, in [0, 1]: with r the step conversions up to the first zero count, \
         max(0, 1 − stddev_pop(r) ÷ avg(r)). 1.0 is a funnel that narrows by the same ratio at every \
         step; lower means some steps leak much more than others. NULL when no ratio is defined; 0 \
         when avg(r) is 0.",
        "funnel_shape(counts)",
        "SELECT funnel_shape([1000, 500, 250, 125]), funnel_shape([1000, 900, 100, 90]);\n-- 1.0, 0.416…",
        &[("counts", "Per-step counts, as `funnel` returns them.")],
    )
});

/// The shape of the conversions `r`.
pub fn shape(ratios: &[f64]) -> Option<f64> {
    if ratios.is_empty() {
        return None;
    }
    let n = ratios.len() as f64;
    let mean = ratios.iter().sum::<f64>() / n;
    if mean == 0.0 {
        return Some(0.0);
    }
    let variance = ratios.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    Some((1.0 - variance.sqrt() / mean).max(0.0))
}

impl ScalarUDFImpl for FunnelShape {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_counts(NAME, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_rows(&args.args, args.number_rows, |arrays| {
            let shapes = map_conversions(&arrays[0], shape);
            Ok(Arc::new(Float64Array::from(shapes)) as ArrayRef)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}
