//! Running salesql on Apache DataFusion Ballista (cargo feature `distributed`).
//!
//! One binary plays three roles: `salesql scheduler` and `salesql executor` wrap Ballista's
//! own processes (their flags are Ballista's), and a client given `--cluster df://HOST:PORT`
//! plans statements locally and executes them on the cluster. `salesql cluster` starts a
//! scheduler and executors in one process for trying it out.
//!
//! Every role gets the same sales functions ([`function_registry`], [`session_state`]) and
//! resolves data-root URLs the same way ([`LazyStoreRegistry`]): executors build their own
//! object stores from their own command line and environment, since nothing registered on
//! the client reaches them.

pub mod client;
pub mod cluster;
pub mod executor;
pub mod scheduler;
pub mod task_metrics;

use std::sync::Arc;

use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionConfig;

use crate::catalog::StoreOptions;
use crate::catalog::registry::LazyStoreRegistry;
use crate::error::Result;
use crate::functions;

/// The functions executors decode plans with: exactly those of the scheduler's sessions
/// ([`session_state`]), so that every function a client may send is known everywhere.
pub fn function_registry(stores: &Arc<LazyStoreRegistry>) -> Result<BallistaFunctionRegistry> {
    let state = session_state(session_config()?, stores)?;
    Ok(BallistaFunctionRegistry::from(&state))
}

/// The base configuration of scheduler and executor sessions: salesql's tuned defaults (and
/// `DATAFUSION_*` variables) with Ballista's settings. A client's own settings travel with
/// each job and override these.
pub fn session_config() -> Result<SessionConfig> {
    Ok(crate::session::session_config()?.upgrade_for_ballista())
}

/// A runtime whose object stores come from `stores`.
fn runtime_env(stores: &Arc<LazyStoreRegistry>) -> datafusion::common::Result<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::clone(stores) as _)
        .build_arc()
}

/// The scheduler's session for a job: Ballista's default session with the sales functions
/// and stores built from `stores`.
pub fn session_state(
    config: SessionConfig,
    stores: &Arc<LazyStoreRegistry>,
) -> datafusion::common::Result<SessionState> {
    let state = ballista_core::utils::default_session_builder(config)?;
    let mut state = SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime_env(stores)?)
        .build();
    functions::register_all(&mut state)?;
    Ok(state)
}

/// Prints Ballista's log records on stderr, at `level` unless `RUST_LOG` says otherwise.
/// The scheduler's complaint about tasks without operator metrics (see [`task_metrics`]) is
/// left out.
fn init_logging(level: &str) {
    let filter = std::env::var("RUST_LOG")
        .unwrap_or_else(|_| format!("{level},ballista_scheduler::state::execution_stage=error"));
    let _ = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
}

/// The object-store registry a scheduler or executor serves data roots with.
pub fn store_registry(options: &StoreOptions) -> Arc<LazyStoreRegistry> {
    Arc::new(LazyStoreRegistry::new(options.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executors_know_every_function_of_a_local_session() {
        let registry = function_registry(&store_registry(&StoreOptions::default())).unwrap();
        let mut local = SessionStateBuilder::new().with_default_features().build();
        functions::register_all(&mut local).unwrap();
        for name in local.scalar_functions().keys() {
            assert!(registry.scalar_functions.contains_key(name), "{name}");
        }
        for name in local.aggregate_functions().keys() {
            assert!(registry.aggregate_functions.contains_key(name), "{name}");
        }
        for name in local.window_functions().keys() {
            assert!(registry.window_functions.contains_key(name), "{name}");
        }
        // Ballista's own default registry lacks the nested functions.
        assert!(registry.scalar_functions.contains_key("array_slice"));
        assert!(registry.aggregate_functions.contains_key("window_funnel"));
    }
}
