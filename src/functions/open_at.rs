//! `open_at(created, closed, at)`: `created ≤ at AND (closed IS NULL OR closed > at)`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::kernels::boolean::{and_kleene, is_null, or_kleene};
use datafusion::arrow::compute::kernels::cmp::{gt, lt_eq};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::functions::arguments::{document, map_rows};
use crate::functions::temporal::{coerce_temporal, instants};

const NAME: &str = "open_at";

/// The `open_at` function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OpenAt {
    signature: Signature,
}

/// The `open_at` function.
pub fn open_at() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(OpenAt {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    document(
        "True when a row is open at the instant `at`: created at or before it and not closed by \
         then — `created ≤ at AND (closed IS NULL OR closed > at)`, with SQL's rules for NULL.",
        "open_at(created, closed, at)",
        "SELECT count(*) FROM opportunities\nWHERE open_at(created_at, closed_at, TIMESTAMP '2025-06-30 23:59:59');",
        &[
            ("created", "When the row opened (timestamp or date)."),
            ("closed", "When it closed; NULL while open."),
            ("at", "The instant to test."),
        ],
    )
});

impl ScalarUDFImpl for OpenAt {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [created, closed, at] = arg_types else {
            return plan_err!(
                "{NAME} takes three arguments (created, closed, at), not {}",
                arg_types.len()
            );
        };
        Ok(vec![
            coerce_temporal(NAME, "created", created)?,
            coerce_temporal(NAME, "closed", closed)?,
            coerce_temporal(NAME, "at", at)?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_rows(&args.args, args.number_rows, |arrays| {
            let created = instants(&arrays[0])?;
            let closed = instants(&arrays[1])?;
            let at = instants(&arrays[2])?;
            let started = lt_eq(&created, &at)?;
            let not_closed = or_kleene(&is_null(&closed)?, &gt(&closed, &at)?)?;
            Ok(Arc::new(and_kleene(&started, &not_closed)?) as ArrayRef)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}
