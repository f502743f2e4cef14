//! Builds the DataFusion session every command runs in: the memory pool (with spilling to a
//! temporary directory), the sales functions, the data root's object store and its tables.

use std::num::NonZeroUsize;
use std::sync::Arc;

use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::catalog::{DataRoot, DataRootSchema, StoreOptions};
use crate::error::Result;
use crate::functions;
use crate::logical;
use crate::memory_limit::ShufflesNeverRefused;
use crate::physical::{DenseKeyAggregation, SalesqlOptions, SpreadScans};

/// The catalog and schema that hold the data root's tables.
pub const CATALOG: &str = "datafusion";
/// See [`CATALOG`].
pub const SCHEMA: &str = "public";

/// What a session needs to know before it opens.
#[derive(Debug, Clone, Default)]
pub struct SessionSettings {
    /// The data root (`--data` / `SALESQL_DATA`); `None` for the built-in sample.
    pub data: Option<String>,
    /// Object-store settings from the command line.
    pub store: StoreOptions,
    /// The memory limit in bytes (`--memory-limit`); operators spill to disk beyond it.
    pub memory_limit: Option<usize>,
    /// The number of partitions plans use; `None` for one per core.
    pub target_partitions: Option<usize>,
    /// A Ballista scheduler (`--cluster df://HOST:PORT`) to execute statements on.
    pub cluster: Option<String>,
}

/// An open session over a data root.
#[derive(Clone)]
pub struct Session {
    context: SessionContext,
    schema: Arc<DataRootSchema>,
    on_cluster: bool,
}

impl Session {
    /// Opens the data root and builds a session over it.
    pub async fn open(settings: &SessionSettings) -> Result<Self> {
        let root = DataRoot::open(settings.data.as_deref(), &settings.store)?;

        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(limit) = settings.memory_limit {
            // First come, first served, as datafusion-cli's default: a fair pool gives each
            // spillable operator an equal share, idle ones included, so at scale 100 under 4G
            // the stage funnel's group-by gave up its dense groups at a fraction of the limit
            // (7.3 s against 2.3 s with this pool; touches_to_win 12.8 against 8.5 s).
            // Shuffles are never refused: refused, DataFusion 55's can deadlock.
            let pool = ShufflesNeverRefused::new(TrackConsumersPool::new(
                GreedyMemoryPool::new(limit),
                NonZeroUsize::new(5).expect("5 is not zero"),
            ));
            runtime = runtime.with_memory_pool(Arc::new(pool));
        }
        let runtime = runtime.build_arc()?;

        let mut config = session_config()?
            .with_information_schema(true)
            .with_default_catalog_and_schema(CATALOG, SCHEMA);
        if let Some(partitions) = settings.target_partitions {
            config = config.with_target_partitions(partitions);
        }
        let mut builder = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features();
        // A cluster plans with its scheduler's rules, which ship only DataFusion's operators.
        if settings.cluster.is_none() {
            builder = builder
                .with_optimizer_rules(logical::optimizer_rules())
                .with_physical_optimizer_rule(Arc::new(DenseKeyAggregation))
                .with_physical_optimizer_rule(Arc::new(SpreadScans));
        }
        let mut state = builder.build();
        root.register(state.runtime_env());
        functions::register_all(&mut state)?;
        if let Some(cluster) = &settings.cluster {
            state = on_cluster(state, cluster).await?;
        }

        let schema = Arc::new(DataRootSchema::open(root, state.clone()).await?);
        let context = SessionContext::new_with_state(state);
        if let Some(catalog) = context.catalog(CATALOG) {
            catalog.register_schema(SCHEMA, Arc::clone(&schema) as _)?;
        }
        Ok(Self {
            context,
            schema,
            on_cluster: settings.cluster.is_some(),
        })
    }

    /// The DataFusion context.
    pub fn context(&self) -> &SessionContext {
        &self.context
    }

    /// The schema serving the data root's tables.
    pub fn schema(&self) -> &DataRootSchema {
        &self.schema
    }

    /// The data root.
    pub fn root(&self) -> &DataRoot {
        self.schema.root()
    }

    /// True when statements execute on a Ballista cluster (`--cluster`).
    pub fn on_cluster(&self) -> bool {
        self.on_cluster
    }
}

/// The session executing on the Ballista cluster at `url`.
#[cfg(feature = "distributed")]
async fn on_cluster(state: SessionState, url: &str) -> Result<SessionState> {
    use crate::distributed::client::{ClusterUrl, connect};
    connect(state, &ClusterUrl::parse(url)?).await
}

/// Without the `distributed` feature there is no cluster to execute on.
#[cfg(not(feature = "distributed"))]
async fn on_cluster(_state: SessionState, url: &str) -> Result<SessionState> {
    Err(crate::error::Error::Usage(format!(
        "--cluster {url}: this salesql was built without the `distributed` feature \
         (cargo install --path . --features distributed)"
    )))
}

/// DataFusion's configuration from `DATAFUSION_*` environment variables (as datafusion-cli
/// reads them), over salesql's own defaults for the settings it tunes.
pub(crate) fn session_config() -> Result<SessionConfig> {
    let mut config = SessionConfig::from_env()?.with_option_extension(SalesqlOptions::default());
    for (key, value) in TUNED_DEFAULTS {
        let variable = key.to_uppercase().replace('.', "_");
        if std::env::var_os(&variable).is_none() {
            config = config.set_str(key, value);
        }
    }
    Ok(config)
}

/// Settings salesql changes from DataFusion's defaults, each overridable through its
/// environment variable (`DATAFUSION_EXECUTION_…`).
const TUNED_DEFAULTS: &[(&str, &str)] = &[
    // Sales data groups by opportunity (a few rows each) at least as often as by rep or
    // month: when the first rows show that a partial aggregate barely reduces its input,
    // hand rows straight to the final aggregate instead of hashing them twice.
    (
        "datafusion.execution.skip_partial_aggregation_probe_ratio_threshold",
        "0.1",
    ),
    // DataFusion reads the last 512 KiB of every file to find its footer in one request; the
    // generator's footers are 1–6 KiB, and at scale 50 planning rep_scorecard read 38 MB for
    // 76 footers: 58 ms to plan it, 44 ms with 64 KiB, which still takes most footers in one
    // read.
    ("datafusion.execution.parquet.metadata_size_hint", "65536"),
];
