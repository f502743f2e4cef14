//! `fiscal_year(ts, start_month)`: the fiscal year holding `ts`, named by the calendar year in
//! which it ends.

use std::sync::{Arc, LazyLock};

use datafusion::logical_expr::{Documentation, ScalarUDF};

use crate::functions::arguments::document;
use crate::functions::fiscal::{FiscalPart, Part};

/// The `fiscal_year` function.
pub fn fiscal_year() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(FiscalPart::new(
            "fiscal_year",
            Part::Year,
            documentation,
        )))
    });
    Arc::clone(&UDF)
}

fn documentation() -> &'static Documentation {
    static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
        document(
            "The fiscal year holding `ts`, named by the calendar year in which it ends: with \
             start_month 1 it is the calendar year; with start_month 7, 2024-07-01 is in fiscal year \
             2025. The date is taken in the timestamp's own time zone.",
            "fiscal_year(ts, start_month)",
            "SELECT fiscal_year(DATE '2024-07-01', 7), fiscal_year(DATE '2024-06-30', 7);\n-- 2025, 2024",
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
