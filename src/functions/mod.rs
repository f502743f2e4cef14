//! The sales SQL functions of SPEC §3, one file per function; this module lists and registers
//! them all, so that every session (REPL, `query`, `run`, distributed executors) has the same set.

pub mod arguments;
pub mod business_days;
pub mod cycle_days;
pub mod fiscal;
pub mod fiscal_quarter;
pub mod fiscal_trunc;
pub mod fiscal_year;
pub mod funnel;
pub mod funnel_counts;
pub mod funnel_leak;
pub mod funnel_shape;
pub mod groups;
pub mod lower;
pub mod max_concurrent;
pub mod open_at;
pub mod open_series;
pub mod single_group;
pub mod step_conversion;
pub mod temporal;
pub mod utc_as_naive;
pub mod win_rate;
pub mod window_funnel;

use std::sync::Arc;

use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, Documentation, ScalarUDF};

use crate::error::Result;

/// The scalar sales functions.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        step_conversion::step_conversion(),
        funnel_shape::funnel_shape(),
        funnel_leak::funnel_leak(),
        cycle_days::cycle_days(),
        business_days::business_days(),
        fiscal_year::fiscal_year(),
        fiscal_quarter::fiscal_quarter(),
        fiscal_trunc::fiscal_trunc(),
        open_at::open_at(),
    ]
}

/// The aggregate sales functions.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    vec![
        window_funnel::window_funnel(),
        funnel::funnel(),
        win_rate::win_rate(),
        open_series::open_series(),
        max_concurrent::max_concurrent(),
    ]
}

/// DataFusion built-ins that salesql replaces with faster implementations of the same
/// semantics (same name, signature and results).
pub fn builtin_overrides() -> Vec<Arc<ScalarUDF>> {
    vec![
        utc_as_naive::date_trunc(),
        utc_as_naive::date_part(),
        lower::lower(),
    ]
}

/// Registers every sales function, and the faster built-ins, in `registry`.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for udf in builtin_overrides() {
        registry.register_udf(udf)?;
    }
    for udf in scalar_functions() {
        registry.register_udf(udf)?;
    }
    for udaf in aggregate_functions() {
        registry.register_udaf(udaf)?;
    }
    Ok(())
}

/// One sales function as listed by `salesql functions` and the REPL's `\df`.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    /// Its name.
    pub name: String,
    /// "scalar" or "aggregate".
    pub kind: &'static str,
    /// Its documentation.
    pub documentation: Documentation,
}

/// Every sales function with its documentation, in the order of SPEC §3.
pub fn catalog() -> Vec<FunctionInfo> {
    let mut all: Vec<FunctionInfo> = Vec::new();
    let aggregates = aggregate_functions();
    let scalars = scalar_functions();
    for name in SPEC_ORDER {
        if let Some(udaf) = aggregates.iter().find(|f| f.name() == *name)
            && let Some(doc) = udaf.documentation()
        {
            all.push(FunctionInfo {
                name: udaf.name().to_string(),
                kind: "aggregate",
                documentation: doc.clone(),
            });
        }
        if let Some(udf) = scalars.iter().find(|f| f.name() == *name)
            && let Some(doc) = udf.documentation()
        {
            all.push(FunctionInfo {
                name: udf.name().to_string(),
                kind: "scalar",
                documentation: doc.clone(),
            });
        }
    }
    all
}

/// The functions in the order SPEC §3 presents them.
const SPEC_ORDER: &[&str] = &[
    "window_funnel",
    "funnel",
    "step_conversion",
    "funnel_shape",
    "funnel_leak",
    "win_rate",
    "cycle_days",
    "business_days",
    "fiscal_year",
    "fiscal_quarter",
    "fiscal_trunc",
    "open_at",
    "open_series",
    "max_concurrent",
];
