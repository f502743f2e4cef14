//! `funnel_leak(counts)`: the 1-based step whose conversion to the next is the lowest.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Int32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::functions::arguments::{document, map_rows};
use crate::functions::funnel_counts::{coerce_counts, map_conversions};

const NAME: &str = "funnel_leak";

/// The `funnel_leak` function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FunnelLeak {
    signature: Signature,
}

/// The `funnel_leak` function.
pub fn funnel_leak() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(FunnelLeak {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "The leakiest step of a funnel: the 1-based step k whose conversion to step k+1 is the \
         lowest (the first such k on ties), among the conversions up to the first zero count. NULL \
         when no conversion is defined.",
        "funnel_leak(counts)",
        "SELECT funnel_leak([1000, 800, 200, 150]);\n-- 2",
        &[("counts", "Per-step counts, as `funnel` returns them.")],
    )
});

/// The 1-based position of the first lowest ratio.
fn leak(ratios: &[f64]) -> Option<i32> {
    let mut lowest: Option<(usize, f64)> = None;
    for (k, ratio) in ratios.iter().enumerate() {
        if lowest.is_none_or(|(_, low)| *ratio < low) {
            lowest = Some((k, *ratio));
        }
    }
    lowest.map(|(k, _)| k as i32 + 1)
}

impl ScalarUDFImpl for FunnelLeak {
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
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_rows(&args.args, args.number_rows, |arrays| {
            let leaks = map_conversions(&arrays[0], leak);
            Ok(Arc::new(Int32Array::from(leaks)) as ArrayRef)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}
