//! The sales SQL functions of SPEC §3, one file per function; this module lists and
//! registers them all.

use std::sync::Arc;

use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};

use crate::error::Result;

/// The scalar sales functions.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    Vec::new()
}

/// The aggregate sales functions.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    Vec::new()
}

/// Registers every sales function in `state`.
pub fn register_all(state: &mut SessionState) -> Result<()> {
    for udf in scalar_functions() {
        state.register_udf(udf)?;
    }
    for udaf in aggregate_functions() {
        state.register_udaf(udaf)?;
    }
    Ok(())
}
