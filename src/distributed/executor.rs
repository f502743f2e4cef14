//! `salesql executor`: Ballista's executor, with its own flags, running the sales functions
//! and reading data roots through object stores it builds itself.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_executor::config::Config;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_executor::health::spawn_health_server;
use clap::Args;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;

use crate::catalog::StoreOptions;
use crate::distributed::task_metrics::UniformMetricsEngine;
use crate::distributed::{function_registry, session_config, store_registry};
use crate::error::{Error, Result};

/// `salesql executor`: Ballista's executor flags.
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// Ballista's executor options.
    #[command(flatten)]
    pub ballista: Config,
}

fn failure(message: String) -> Error {
    Error::Cluster {
        role: "executor".into(),
        message,
    }
}

/// Runs an executor (and its `/healthz`, `/readyz` server) until it is shut down.
pub async fn serve(config: Config, stores: &StoreOptions) -> Result<()> {
    let health_address = format!("{}:{}", config.bind_host, config.bind_health_port);
    let health_address: SocketAddr = health_address
        .parse()
        .map_err(|e| failure(format!("--bind-health-port: {health_address}: {e}")))?;
    let mut process: ExecutorProcessConfig =
        config.try_into().map_err(|e| failure(format!("{e}")))?;
    let base = session_config()?;
    let registry = store_registry(stores);
    let temp_dir = process.work_dir.clone();
    // Shuffle fetches then open a connection each (Ballista's connection pool is private to
    // its crate); see `task_metrics` for why the engine is replaced.
    process.override_execution_engine = Some(Arc::new(UniformMetricsEngine::default()));
    process.override_function_registry = Some(Arc::new(function_registry(&registry)?));
    process.override_config_producer = Some(Arc::new(move || base.clone()));
    process.override_runtime_producer = Some(Arc::new(move |_config| {
        let mut runtime =
            RuntimeEnvBuilder::new().with_object_store_registry(Arc::clone(&registry) as _);
        if let Some(dir) = &temp_dir {
            runtime = runtime.with_temp_file_path(dir);
        }
        runtime.build_arc()
    }));

    let (stop_health, health_stopped) = tokio::sync::oneshot::channel();
    let health = spawn_health_server(health_address, process.health.clone(), health_stopped);
    let outcome = start_executor_process(Arc::new(process)).await;
    let _ = stop_health.send(());
    let _ = health.await;
    outcome.map_err(|e| failure(format!("{e}")))
}

/// Runs `salesql executor`.
pub async fn run(args: ExecutorArgs, stores: &StoreOptions) -> Result<()> {
    super::init_logging(&args.ballista.log_level_setting);
    if args.ballista.memory_pool_size.is_none() {
        eprintln!(
            "salesql executor: no --memory-pool-size, so the pool is {:.0}% of this machine's \
             memory; give each executor its share when several run on one machine",
            args.ballista.memory_pool_fraction * 100.0
        );
    }
    serve(args.ballista, stores).await
}
