//! `salesql scheduler`: Ballista's scheduler, with its own flags, serving the sales functions
//! and building the object stores of the data roots its clients name.

use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{Config, SchedulerConfig};
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use clap::Args;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tokio::net::TcpListener;

use crate::catalog::StoreOptions;
use crate::distributed::{session_config, session_state, store_registry};
use crate::error::{Error, Result};

/// `salesql scheduler`: Ballista's scheduler flags.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Ballista's scheduler options.
    #[command(flatten)]
    pub ballista: Config,
}

/// Binds the scheduler's port (the gRPC service, `/healthz` and `/readyz`).
pub async fn bind(config: &Config) -> Result<TcpListener> {
    let address = format!("{}:{}", config.bind_host, config.bind_port);
    TcpListener::bind(&address)
        .await
        .map_err(|e| Error::Cluster {
            role: "scheduler".into(),
            message: format!("cannot listen on {address}: {e}"),
        })
}

/// Serves a scheduler on `listener` until the process ends. `config.bind_port` must be the
/// listener's port (it is what the scheduler advertises).
pub async fn serve(config: Config, listener: TcpListener, stores: &StoreOptions) -> Result<()> {
    let fail = |message: String| Error::Cluster {
        role: "scheduler".into(),
        message,
    };
    let base = session_config()?;
    let registry = store_registry(stores);
    let config: SchedulerConfig = config.try_into().map_err(|e| fail(format!("{e}")))?;
    let config = config
        .with_override_config_producer(Arc::new(move || base.clone()))
        .with_override_session_builder(Arc::new(move |config| session_state(config, &registry)));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| fail(format!("{e}")))?;
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config))
            .await
            .map_err(|e| fail(format!("{e}")))?;
    start_grpc_service_with_listener(listener, scheduler)
        .await
        .map_err(|e| fail(format!("{e}")))
}

/// Runs `salesql scheduler`.
pub async fn run(args: SchedulerArgs, stores: &StoreOptions) -> Result<()> {
    super::init_logging(&args.ballista.log_level_setting);
    let listener = bind(&args.ballista).await?;
    eprintln!(
        "salesql scheduler listening on df://{}:{}",
        args.ballista.external_host, args.ballista.bind_port
    );
    serve(args.ballista, listener, stores).await
}
