//! Naming the Parquet file behind a decoding error. DataFusion's scan reports a damaged data
//! page with the decoder's message only ("Parquet error: Invalid delta bit width …"), never the
//! file. When a statement fails that way, [`locate_damage`] decodes again the columns that the
//! plan's Parquet scans read, each column of each file on its own (a few files at once), and
//! names the first file and column that fail, with the table they belong to. A file that
//! cannot be read (the store fails, or the file changed since it was listed) is never called
//! damaged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::error::ArrowError;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::file_format::parquet::ParquetSink;
use datafusion::datasource::listing::{ListingTable, ListingTableUrl, PartitionedFile};
use datafusion::datasource::physical_plan::parquet::DefaultParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{
    FileScanConfig, ParquetFileReaderFactory, ParquetSource,
};
use datafusion::datasource::sink::DataSinkExec;
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::source_as_provider;
use datafusion::error::DataFusionError;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::LogicalPlan;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use datafusion::parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::PageIndexPolicy;
use datafusion::physical_expr::utils::collect_columns;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};

use crate::catalog::table_loader::stored_file_name;
use crate::error::Error;

/// Files decoded at once while looking for the damaged one.
pub const FILES_AT_ONCE: usize = 4;

/// How long the search for a damaged file runs before it says so on stderr.
const ANNOUNCE_AFTER: Duration = Duration::from_secs(2);

/// True when `error` comes from decoding a Parquet file (a damaged page, an impossible
/// encoding), as opposed to fetching its bytes or to the statement itself.
pub fn is_decoding_error(error: &DataFusionError) -> bool {
    !is_read_failure(error)
        && causes(error).any(|e| {
            e.downcast_ref::<ParquetError>().is_some()
                || matches!(
                    e.downcast_ref::<ArrowError>(),
                    Some(ArrowError::ParquetError(_))
                )
                || matches!(
                    e.downcast_ref::<DataFusionError>(),
                    Some(DataFusionError::ParquetError(_))
                )
        })
}

/// `error` and each error it was caused by, outermost first.
fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// The tables `plan` scans through a listing of files, with their locations.
pub fn scanned_tables(plan: &LogicalPlan) -> Vec<(String, Vec<ListingTableUrl>)> {
    let mut tables = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && let Ok(provider) = source_as_provider(&scan.source)
            && let Some(listing) = provider.downcast_ref::<ListingTable>()
        {
            tables.push((
                scan.table_name.table().to_string(),
                listing.table_paths().clone(),
            ));
        }
        Ok(TreeNodeRecursion::Continue)
    });
    tables
}

/// The first file, in plan order, that one of `plan`'s Parquet scans cannot decode, as an
/// [`Error::DamagedFile`], decoding each column the scans read on its own; `None` when every
/// one decodes (the failure came from elsewhere), when a file cannot be read (the search stops
/// there: the store is failing), or when the plan writes Parquet files (its writer's errors are
/// Parquet errors too). `tables` (from [`scanned_tables`]) names the file's table.
pub async fn locate_damage(
    plan: &Arc<dyn ExecutionPlan>,
    runtime: &RuntimeEnv,
    tables: &[(String, Vec<ListingTableUrl>)],
) -> Option<Error> {
    if writes_parquet(plan) {
        return None;
    }
    // Each file once, with every column any scan reads of it.
    let mut suspects: Vec<Suspect> = Vec::new();
    let mut index: HashMap<(String, object_store::path::Path), usize> = HashMap::new();
    for config in parquet_scans(plan) {
        let Ok(store) = runtime.object_store(&config.object_store_url) else {
            continue;
        };
        let columns = read_columns(&config);
        for file in config.file_groups.iter().flat_map(|group| group.files()) {
            let key = (
                config.object_store_url.as_str().to_string(),
                file.object_meta.location.clone(),
            );
            let at = *index.entry(key).or_insert_with(|| {
                suspects.push(Suspect {
                    store: Arc::clone(&store),
                    store_url: config.object_store_url.clone(),
                    file: file.clone(),
                    columns: Vec::new(),
                });
                suspects.len() - 1
            });
            let known = &mut suspects[at].columns;
            for column in &columns {
                if !known.contains(column) {
                    known.push(column.clone());
                }
            }
        }
    }
    let files = suspects.len();
    let mut checks = futures::stream::iter(suspects)
        .map(|suspect| async move {
            let outcome = decode_file(suspect.store, &suspect.file, Some(&suspect.columns)).await;
            (suspect.store_url, suspect.file, outcome)
        })
        .buffered(FILES_AT_ONCE);
    // On a large table the search takes as long as reading it did: past a moment, say why
    // nothing seems to happen.
    let announce = tokio::time::sleep(ANNOUNCE_AFTER);
    tokio::pin!(announce);
    let mut announced = false;
    loop {
        let checked = tokio::select! {
            checked = checks.next() => checked,
            () = &mut announce, if !announced => {
                let files = match files {
                    1 => "the file".to_string(),
                    n => format!("the {n} files"),
                };
                eprintln!(
                    "a Parquet file failed to decode: reading {files} the statement read \
                     again, to name it (Ctrl-C stops)"
                );
                announced = true;
                continue;
            }
        };
        // Every file decoded: the failure came from elsewhere.
        let (store_url, file, outcome) = checked?;
        let damage = match outcome {
            FileCheck::Sound => continue,
            FileCheck::Unreadable(_) => return None,
            FileCheck::Damaged(damage) => damage,
        };
        let location = &file.object_meta.location;
        let table = tables
            .iter()
            .find(|(_, urls)| {
                urls.iter()
                    .any(|url| url.object_store() == store_url && url.contains(location, false))
            })
            .map(|(name, _)| name.clone());
        return Some(Error::DamagedFile {
            table,
            file: stored_file_name(&store_url, location),
            column: damage.column,
            message: damage.message,
        });
    }
}

/// One file to decode again, and the columns to decode.
struct Suspect {
    store: Arc<dyn ObjectStore>,
    store_url: ObjectStoreUrl,
    file: PartitionedFile,
    columns: Vec<String>,
}

/// True when `plan` writes Parquet files (`COPY … TO` or `INSERT INTO` a Parquet table). Other
/// sinks (CSV, JSON, a memory table) raise no Parquet errors of their own.
fn writes_parquet(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let mut writes = false;
    let _ = plan.apply(|node| {
        writes |= node
            .downcast_ref::<DataSinkExec>()
            .is_some_and(|sink| sink.sink().is::<ParquetSink>());
        Ok(TreeNodeRecursion::Continue)
    });
    writes
}

/// The Parquet scans of `plan`.
fn parquet_scans(plan: &Arc<dyn ExecutionPlan>) -> Vec<FileScanConfig> {
    let mut scans = Vec::new();
    let _ = plan.apply(|node| {
        if let Some(scan) = node.downcast_ref::<DataSourceExec>()
            && let Some((config, _)) = scan.downcast_to_file_source::<ParquetSource>()
        {
            scans.push(config.clone());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    scans
}

/// The columns a scan decodes: those its projection's expressions use (`amount AS revenue`
/// reads `amount`), and those of its predicate (which DataFusion may evaluate while decoding).
fn read_columns(config: &FileScanConfig) -> Vec<String> {
    let table_schema = config.file_source().table_schema().table_schema();
    let mut columns: Vec<String> = match config.file_source().projection() {
        Some(projection) => projection
            .column_indices()
            .into_iter()
            .filter_map(|i| table_schema.fields().get(i).map(|f| f.name().clone()))
            .collect(),
        None => table_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
    };
    if let Some(filter) = config.file_source().filter() {
        for column in collect_columns(&filter) {
            if !columns.iter().any(|c| c == column.name()) {
                columns.push(column.name().to_string());
            }
        }
    }
    columns
}

/// What decoding one file again found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileCheck {
    /// Every column asked for decodes.
    Sound,
    /// A column, or the metadata, does not decode.
    Damaged(FileDamage),
    /// The file could not be read (the store failed, or the file changed since it was
    /// listed): nothing is known of its contents.
    Unreadable(String),
}

/// What fails to decode in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDamage {
    /// The first column that fails (`None` when the file's metadata itself fails).
    pub column: Option<String>,
    /// The decoder's message.
    pub message: String,
}

/// Decodes `columns` of `file` (every column when `None`) one at a time and reports the first
/// that fails, or the metadata's own failure.
pub async fn decode_file(
    store: Arc<dyn ObjectStore>,
    file: &PartitionedFile,
    columns: Option<&[String]>,
) -> FileCheck {
    let factory = DefaultParquetFileReaderFactory::new(Arc::clone(&store));
    let metrics = ExecutionPlanMetricsSet::new();
    // The reader need not be `Send`: `Box<dyn AsyncFileReader>` is what the builder accepts.
    let reader = || -> Result<Box<dyn AsyncFileReader>, ParquetError> {
        match factory.create_reader(0, file.clone(), None, &metrics) {
            Ok(reader) => Ok(reader),
            Err(e) => Err(ParquetError::External(Box::new(e))),
        }
    };
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    let loaded = async { ArrowReaderMetadata::load_async(&mut reader()?, options).await };
    let metadata = match loaded.await {
        Ok(metadata) => metadata,
        Err(e) if is_read_failure(&e) => return FileCheck::Unreadable(e.to_string()),
        Err(e) => {
            return match footer_readable(&store, file).await {
                Err(why) => FileCheck::Unreadable(why),
                Ok(()) => FileCheck::Damaged(FileDamage {
                    column: None,
                    message: decoder_message(&e),
                }),
            };
        }
    };
    let descriptor = metadata.metadata().file_metadata().schema_descr_ptr();
    let roots = descriptor.root_schema().get_fields();
    let every_column: Vec<String>;
    let columns = match columns {
        Some(columns) => columns,
        None => {
            every_column = roots.iter().map(|field| field.name().to_string()).collect();
            &every_column
        }
    };
    for column in columns {
        let Some(index) = roots.iter().position(|field| field.name() == column) else {
            continue; // a partition column, or one the file lacks (read as NULL)
        };
        let decoded = async {
            ParquetRecordBatchStreamBuilder::new_with_metadata(reader()?, metadata.clone())
                .with_projection(ProjectionMask::roots(&descriptor, [index]))
                .build()?
                .try_for_each(|_| async { Ok(()) })
                .await
        };
        match decoded.await {
            Ok(()) => {}
            Err(e) if is_read_failure(&e) => return FileCheck::Unreadable(e.to_string()),
            Err(e) => {
                return FileCheck::Damaged(FileDamage {
                    column: Some(column.clone()),
                    message: decoder_message(&e),
                });
            }
        }
    }
    FileCheck::Sound
}

/// Whether the store still serves `file` as it was listed, asked directly: DataFusion's footer
/// reader reports a failed fetch as text, and a footer read at a stale size (the file was
/// replaced since it was listed) fails like a damaged one.
async fn footer_readable(
    store: &Arc<dyn ObjectStore>,
    file: &PartitionedFile,
) -> Result<(), String> {
    let location = &file.object_meta.location;
    let listed = file.object_meta.size;
    let now = store.head(location).await.map_err(|e| e.to_string())?;
    if now.size != listed {
        return Err(format!(
            "it changed since it was listed ({listed} bytes, now {})",
            now.size
        ));
    }
    store
        .get_range(location, listed.saturating_sub(8)..listed)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// True when `error` comes from fetching the file's bytes (the store failed), which says
/// nothing about the file: it is then not reported as damaged.
fn is_read_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    causes(error).any(|e| {
        // An `io::Error`'s `source()` skips the error it wraps, so look inside it too.
        let wrapped_in_io = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .is_some_and(|inner| inner.downcast_ref::<object_store::Error>().is_some());
        wrapped_in_io
            || e.downcast_ref::<object_store::Error>().is_some()
            || matches!(
                e.downcast_ref::<DataFusionError>(),
                Some(DataFusionError::ObjectStore(_))
            )
    })
}

/// The decoder's own words: "Invalid delta bit width …" out of "Arrow: Parquet argument error:
/// Parquet error: Invalid delta bit width …" (each layer that passed it on adds a prefix).
fn decoder_message(error: &ParquetError) -> String {
    const LAYERS: [&str; 4] = [
        "Arrow: ",
        "Parquet argument error: ",
        "Parquet error: ",
        "External: ",
    ];
    let text = error.to_string();
    let mut words = text.trim();
    while let Some(rest) = LAYERS.iter().find_map(|layer| words.strip_prefix(layer)) {
        words = rest;
    }
    words.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_errors_are_told_apart_from_other_failures() {
        let wrapped = DataFusionError::ArrowError(
            Box::new(ArrowError::ParquetError("Parquet error: bad page".into())),
            None,
        )
        .context("scanning");
        assert!(is_decoding_error(&wrapped));
        let external = DataFusionError::External(Box::new(ParquetError::General("x".into())));
        assert!(is_decoding_error(&external));
        assert!(is_decoding_error(&DataFusionError::ParquetError(Box::new(
            ParquetError::EOF("short".into())
        ))));
        assert!(!is_decoding_error(&DataFusionError::Plan(
            "no such column".into()
        )));
        assert!(!is_decoding_error(&DataFusionError::ArrowError(
            Box::new(ArrowError::DivideByZero),
            None
        )));
        let store_failed = object_store::Error::Generic {
            store: "S3",
            source: "connection reset".into(),
        };
        let fetching =
            DataFusionError::External(Box::new(ParquetError::External(Box::new(store_failed))));
        assert!(!is_decoding_error(&fetching), "a failed read is not damage");
        let uploading = std::io::Error::other(object_store::Error::Generic {
            store: "S3",
            source: "connection reset".into(),
        });
        let writing =
            DataFusionError::ParquetError(Box::new(ParquetError::External(Box::new(uploading))));
        assert!(!is_decoding_error(&writing), "a failed write is not damage");
    }

    #[test]
    fn the_decoder_message_loses_the_prefixes_of_the_layers_above_it() {
        let error = ParquetError::ArrowError(
            "Parquet argument error: Parquet error: Invalid delta bit width 82 ".into(),
        );
        assert_eq!(decoder_message(&error), "Invalid delta bit width 82");
        let compressed = ParquetError::ArrowError(
            "Parquet argument error: External: Data corruption detected".into(),
        );
        assert_eq!(decoder_message(&compressed), "Data corruption detected");
        assert_eq!(
            decoder_message(&ParquetError::EOF("file too short".into())),
            "EOF: file too short"
        );
    }
}
