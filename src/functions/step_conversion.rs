//! `step_conversion(counts)`: `counts[k+1] / counts[k]` for each step, NULL where `counts[k]`
//! is 0.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Float64Array, ListArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::functions::arguments::{document, map_rows};
use crate::functions::funnel_counts::{coerce_counts, for_each_counts};

const NAME: &str = "step_conversion";

/// The `step_conversion` function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct StepConversion {
    signature: Signature,
}

/// The `step_conversion` function.
pub fn step_conversion() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(StepConversion {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "The conversion of each funnel step to the next: a list of n−1 ratios counts[k+1] ÷ \
         counts[k], NULL where counts[k] is 0 (or either count is NULL). NULL for a NULL list.",
        "step_conversion(counts)",
        "SELECT step_conversion([100, 50, 0, 0]);\n-- [0.5, 0.0, NULL]",
        &[("counts", "Per-step counts, as `funnel` returns them.")],
    )
});

fn list_of_doubles() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

impl ScalarUDFImpl for StepConversion {
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
        Ok(list_of_doubles())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_rows(&args.args, args.number_rows, |arrays| {
            let mut ratios: Vec<Option<f64>> = Vec::new();
            let mut lengths = Vec::new();
            let mut valid = Vec::new();
            for_each_counts(&arrays[0], |counts| match counts {
                None => {
                    lengths.push(0);
                    valid.push(false);
                }
                Some(counts) => {
                    let steps = counts.len().saturating_sub(1);
                    ratios.extend((0..steps).map(|k| counts.conversion(k)));
                    lengths.push(steps);
                    valid.push(true);
                }
            });
            let list = ListArray::new(
                Arc::new(Field::new_list_field(DataType::Float64, true)),
                OffsetBuffer::from_lengths(lengths),
                Arc::new(Float64Array::from(ratios)),
                Some(NullBuffer::from(valid)),
            );
            Ok(Arc::new(list) as ArrayRef)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}
