//! `salesql cluster --executors N`: a scheduler and N executors in this process, on loopback
//! ports, started exactly as `salesql scheduler` and `salesql executor` start them.

use std::net::TcpListener as StdTcpListener;
use std::time::{Duration, Instant};

use clap::{Args, Parser};
use tokio::task::JoinHandle;

use crate::catalog::StoreOptions;
use crate::cli::parse_size;
use crate::distributed::client::ClusterUrl;
use crate::distributed::{executor, scheduler};
use crate::error::{Error, Result};

/// `salesql cluster`: options of the in-process cluster.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// How many executors to start.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub executors: usize,
    /// The scheduler's port (0: any free port).
    #[arg(long, default_value_t = 50050, value_name = "PORT")]
    pub port: u16,
    /// Memory pool of each executor, such as 2G (default: 70% of this machine's memory,
    /// shared among the executors).
    #[arg(long, value_name = "SIZE")]
    pub memory_pool_size: Option<String>,
    /// Cores each executor advertises (default: all of this machine's).
    #[arg(long, value_name = "N")]
    pub vcores: Option<usize>,
}

/// A running in-process cluster. Its servers live as long as the runtime they were spawned
/// on (for `salesql cluster`, the process).
pub struct LocalCluster {
    url: ClusterUrl,
    tasks: Vec<JoinHandle<Result<()>>>,
}

impl LocalCluster {
    /// Starts a scheduler on `127.0.0.1:port` (any free port for 0) and `executors`
    /// executors, each with `memory_pool` bytes, and waits until they have registered.
    pub async fn start(
        executors: usize,
        port: u16,
        memory_pool: u64,
        vcores: Option<usize>,
        stores: &StoreOptions,
    ) -> Result<Self> {
        if executors == 0 {
            return Err(Error::Usage("--executors must be at least 1".into()));
        }
        let mut scheduler_config = scheduler_config(port)?;
        let listener = scheduler::bind(&scheduler_config).await?;
        let port = listener
            .local_addr()
            .map_err(|e| cluster_error(e.to_string()))?
            .port();
        scheduler_config.bind_port = port;
        let scheduler_stores = stores.clone();
        let mut tasks = vec![tokio::spawn(async move {
            scheduler::serve(scheduler_config, listener, &scheduler_stores).await
        })];
        let mut health_ports = Vec::new();
        for index in 0..executors {
            let [flight, grpc, health] = free_ports()?;
            health_ports.push(health);
            let mut arguments = vec![
                "executor".to_string(),
                format!("--id=salesql-executor-{}", index + 1),
                "--bind-host=127.0.0.1".into(),
                "--external-host=127.0.0.1".into(),
                "--scheduler-host=127.0.0.1".into(),
                format!("--scheduler-port={port}"),
                format!("--bind-port={flight}"),
                format!("--bind-grpc-port={grpc}"),
                format!("--bind-health-port={health}"),
                format!("--memory-pool-size={memory_pool}"),
                "--scheduler-connect-timeout-seconds=10".into(),
            ];
            if let Some(vcores) = vcores {
                arguments.push(format!("--vcores={vcores}"));
            }
            let config = ballista_executor::config::Config::try_parse_from(arguments)
                .map_err(|e| cluster_error(e.to_string()))?;
            let executor_stores = stores.clone();
            tasks.push(tokio::spawn(async move {
                executor::serve(config, &executor_stores).await
            }));
        }
        let mut cluster = Self {
            url: ClusterUrl::parse(&format!("df://127.0.0.1:{port}"))?,
            tasks,
        };
        cluster.wait_until_ready(&health_ports).await?;
        Ok(cluster)
    }

    /// The scheduler's address, for `--cluster`.
    pub fn url(&self) -> &ClusterUrl {
        &self.url
    }

    /// Waits until every executor's `/readyz` says it has reached the scheduler, or a task
    /// failed, for at most 30 s.
    async fn wait_until_ready(&mut self, health_ports: &[u16]) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut waiting: Vec<u16> = health_ports.to_vec();
        while !waiting.is_empty() {
            if let Some(index) = self.tasks.iter().position(JoinHandle::is_finished) {
                return match self.tasks.swap_remove(index).await {
                    Ok(Err(e)) => Err(e),
                    Ok(Ok(())) => Err(cluster_error("a server stopped while starting".into())),
                    Err(e) => Err(cluster_error(format!(
                        "a server failed while starting: {e}"
                    ))),
                };
            }
            if Instant::now() > deadline {
                return Err(cluster_error(format!(
                    "{} executor(s) did not reach the scheduler within 30 s",
                    waiting.len()
                )));
            }
            let mut still = Vec::new();
            for port in waiting {
                if !is_ready(port).await {
                    still.push(port);
                }
            }
            waiting = still;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
}

/// True when `GET /readyz` on `127.0.0.1:port` answers 200.
pub async fn is_ready(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(Ok(mut stream)) = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    else {
        return false;
    };
    let request = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(1), stream.read_to_end(&mut response));
    matches!(read.await, Ok(Ok(_))) && response.starts_with(b"HTTP/1.1 200")
}

fn scheduler_config(port: u16) -> Result<ballista_scheduler::config::Config> {
    ballista_scheduler::config::Config::try_parse_from([
        "scheduler".to_string(),
        "--bind-host=127.0.0.1".into(),
        "--external-host=127.0.0.1".into(),
        format!("--bind-port={port}"),
    ])
    .map_err(|e| cluster_error(e.to_string()))
}

/// Three loopback ports free at the time of asking.
fn free_ports() -> Result<[u16; 3]> {
    let bind = || {
        StdTcpListener::bind("127.0.0.1:0").map_err(|e| cluster_error(format!("no free port: {e}")))
    };
    let listeners = [bind()?, bind()?, bind()?];
    let mut ports = [0; 3];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener
            .local_addr()
            .map_err(|e| cluster_error(e.to_string()))?
            .port();
    }
    Ok(ports)
}

fn cluster_error(message: String) -> Error {
    Error::Cluster {
        role: "cluster".into(),
        message,
    }
}

/// Total memory of this machine in bytes, from `/proc/meminfo`.
fn machine_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Each executor's pool: the size asked for, else 70% of the machine shared among them.
fn memory_pool(args: &ClusterArgs) -> Result<u64> {
    match &args.memory_pool_size {
        Some(text) => parse_size(text).map(|b| b as u64).ok_or_else(|| {
            Error::Usage(format!(
                "--memory-pool-size {text:?}: expected a size such as 2G or 512M"
            ))
        }),
        None => {
            let total = machine_memory().unwrap_or(4 << 30);
            Ok(total / 10 * 7 / args.executors.max(1) as u64)
        }
    }
}

/// Runs `salesql cluster` until Ctrl-C.
pub async fn run(args: &ClusterArgs, stores: &StoreOptions) -> Result<()> {
    super::init_logging("WARN");
    let pool = memory_pool(args)?;
    let cluster = LocalCluster::start(args.executors, args.port, pool, args.vcores, stores).await?;
    eprintln!(
        "salesql cluster: a scheduler and {} executor(s) ({} MiB each) at {}; \
         try `salesql --cluster {} run funnel`. Ctrl-C stops it.",
        args.executors,
        pool >> 20,
        cluster.url().display(),
        cluster.url().display()
    );
    stopped().await;
    drop(cluster);
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM (the executors' own SIGTERM handling would otherwise stop
/// them and leave the scheduler running).
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
