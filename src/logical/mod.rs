//! What salesql changes in DataFusion's logical plans: [`LowercaseComparison`] compares
//! `lower(text)` with constants without lowercasing the text. Local sessions only (a cluster's
//! executors know DataFusion's functions, not [`lower_in`]).

mod lower_in;

pub use lower_in::{LowercaseComparison, lower_in};

use std::sync::Arc;

use datafusion::optimizer::{Optimizer, OptimizerRule};

/// The logical optimizer rules of a local session: salesql's, then DataFusion's. Salesql's
/// come first so that a `lower(x)` compared with several constants is not taken out as a
/// common subexpression before it is rewritten.
pub fn optimizer_rules() -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
    let mut rules: Vec<Arc<dyn OptimizerRule + Send + Sync>> = vec![Arc::new(LowercaseComparison)];
    rules.extend(Optimizer::new().rules);
    rules
}
