//! `fiscal_quarter(ts, start_month)`: the fiscal quarter (1 to 4) holding `ts`, counted from
//! the fiscal year's start month.

use std::sync::{Arc, LazyLock};

use datafusion::logical_expr::{Documentation, ScalarUDF};

use crate::functions::arguments::document;
use crate::functions::fiscal::{FiscalPart, Part};

/// The `fiscal_quarter` function.
pub fn fiscal_quarter() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(FiscalPart::new(
            "fiscal_quarter",
            Part::Quarter,
            documentation,
        )))
    });
    Arc::clone(&UDF)
}

fn documentation() -> &'static Documentation {
    static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
        document(
            "The fiscal quarter (1 to 4) holding `ts`, counted from the fiscal year's start month. \
             The date is taken in the timestamp's own time zone.",
            "fiscal_quarter(ts, start_month)",
            "SELECT fiscal_quarter(DATE '2024-07-15', 7), fiscal_quarter(DATE '2024-06-30', 7);\n-- 1, 4",
            &[
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
    &DOCUMENTATION
}
