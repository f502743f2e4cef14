//! Turns one folder of the data root into a DataFusion `ListingTable`: lists its Parquet files
//! (through DataFusion's listing cache, so the scan does not list again), infers its Hive
//! partition columns, reads every footer (through DataFusion's metadata cache) and checks that
//! all files agree on one schema, naming the file at fault when they do not.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::object_store::ObjectStoreUrl;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectMeta;

use crate::catalog::partitions::infer_partition_columns;
use crate::catalog::root::DataRoot;
use crate::catalog::standard::standard_table;
use crate::error::{Error, Result};
use crate::panic_guard::catch_panics;

/// The file extension of table files.
const PARQUET_EXTENSION: &str = ".parquet";

/// How many footers loading a table reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// Every file's footer: a file that is not Parquet or has another schema is named at once
    /// (local roots, and `check` everywhere).
    AllFiles,
    /// The first file's footer only, for the schema: a query then reads the footers of the
    /// files it scans and no others (object stores, where every read is a request).
    FirstFile,
}

/// What a table folder holds.
#[derive(Debug, Clone)]
pub struct TableLayout {
    /// The table's name (its folder's name).
    pub name: String,
    /// The folder's URL.
    pub url: ListingTableUrl,
    /// Its Parquet files, in path order.
    pub files: Vec<ObjectMeta>,
    /// Hive partition columns, appended to the file schema.
    pub partition_columns: Vec<(String, datafusion::arrow::datatypes::DataType)>,
    /// The schema all files share (without partition columns).
    pub file_schema: SchemaRef,
}

impl TableLayout {
    /// Lists the folder of table `name` under `root` and reads its schema, checking as many
    /// files as `validation` says.
    pub async fn load(
        session: &dyn Session,
        root: &DataRoot,
        name: &str,
        validation: Validation,
    ) -> Result<Self> {
        let table_error = |message: String| Error::Table {
            table: name.to_string(),
            message,
        };
        let url = root.table_url(name)?;
        let store = session.runtime_env().object_store(&url)?;
        let mut files: Vec<ObjectMeta> = url
            .list_all_files(session, store.as_ref(), PARQUET_EXTENSION)
            .await
            .map_err(|e| table_error(format!("cannot list {url}: {}", Error::from(e))))?
            .try_collect()
            .await
            .map_err(|e| table_error(format!("cannot list {url}: {}", Error::from(e))))?;
        files.sort_by(|a, b| a.location.cmp(&b.location));

        if files.is_empty() {
            return match standard_table(name) {
                Some(standard) => Ok(Self {
                    name: name.to_string(),
                    url,
                    files,
                    partition_columns: Vec::new(),
                    file_schema: standard.canonical_schema(),
                }),
                None => Err(table_error(format!("{url} holds no Parquet files"))),
            };
        }

        let partition_columns = infer_partition_columns(&url, &files).map_err(table_error)?;
        let checked = match validation {
            Validation::AllFiles => &files[..],
            Validation::FirstFile => &files[..1],
        };
        let file_schema = shared_schema(session, &store, &url, checked)
            .await
            .map_err(table_error)?;
        Ok(Self {
            name: name.to_string(),
            url,
            files,
            partition_columns,
            file_schema,
        })
    }

    /// The table's full schema: file columns, then partition columns.
    pub fn table_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .file_schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.extend(
            self.partition_columns
                .iter()
                .map(|(name, data_type)| Field::new(name, data_type.clone(), false)),
        );
        Arc::new(Schema::new(fields))
    }

    /// The DataFusion table that scans these files.
    pub fn listing_table(&self, session: &dyn Session) -> Result<ListingTable> {
        let options = ListingOptions::new(Arc::new(parquet_format(session)))
            .with_file_extension(PARQUET_EXTENSION)
            .with_table_partition_cols(self.partition_columns.clone());
        let config = ListingTableConfig::new(self.url.clone())
            .with_listing_options(options)
            .with_schema(Arc::clone(&self.file_schema));
        Ok(ListingTable::try_new(config)?)
    }
}

/// The Parquet format configured as the session asks (view types, pushdown, …).
fn parquet_format(session: &dyn Session) -> ParquetFormat {
    ParquetFormat::default().with_options(session.table_options().parquet.clone())
}

/// Reads every file's footer and returns the schema they share, or names the file that
/// is not Parquet or whose columns differ from the first file's.
async fn shared_schema(
    session: &dyn Session,
    store: &Arc<dyn object_store::ObjectStore>,
    table_url: &ListingTableUrl,
    files: &[ObjectMeta],
) -> Result<SchemaRef, String> {
    let format = parquet_format(session);
    let concurrency = session
        .config_options()
        .execution
        .meta_fetch_concurrency
        .get();
    let schemas: Vec<(usize, SchemaRef)> = futures::stream::iter(files.iter().enumerate())
        .map(|(index, file)| {
            let format = &format;
            async move {
                // A corrupt footer can panic the Parquet reader (lengths that underflow).
                let inferred = catch_panics(async {
                    Ok(format
                        .infer_schema(session, store, std::slice::from_ref(file))
                        .await?)
                });
                let invalid = |reason: String| {
                    let name = file_name(table_url, &file.location);
                    format!("{name} is not a valid Parquet file: {reason}")
                };
                inferred
                    .await
                    .map(|schema| (index, schema))
                    .map_err(|e| match e {
                        Error::Internal { message, .. } => invalid(format!(
                            "its footer is corrupt (the Parquet reader failed on it: {message})"
                        )),
                        other => invalid(other.to_string()),
                    })
            }
        })
        .boxed() // works around https://github.com/rust-lang/rust/issues/64552
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    let mut schemas = schemas;
    schemas.sort_by_key(|(index, _)| *index);

    let (_, first) = &schemas[0];
    for (index, schema) in &schemas[1..] {
        if let Some(difference) = schema_difference(first, schema) {
            return Err(format!(
                "files disagree on the schema: {} {difference} of {}",
                file_name(table_url, &files[*index].location),
                file_name(table_url, &files[0].location)
            ));
        }
    }
    let fields: Vec<Field> = first
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), f.data_type().clone(), true))
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// A file of the table at `table_url` as the user would write it: a local path (with its
/// leading `/`) or the object store's URL.
pub(crate) fn file_name(
    table_url: &ListingTableUrl,
    location: &object_store::path::Path,
) -> String {
    stored_file_name(&table_url.object_store(), location)
}

/// A file in the object store at `store` as the user would write it (see [`file_name`]).
pub(crate) fn stored_file_name(
    store: &ObjectStoreUrl,
    location: &object_store::path::Path,
) -> String {
    let url: &url::Url = store.as_ref();
    match url.scheme() {
        "file" => format!("/{location}"),
        _ => format!("{}{location}", store.as_str()),
    }
}

/// How `other` differs from `reference` (column names and types; nullability and metadata
/// are ignored), phrased to follow "file X …", or `None` when they agree.
fn schema_difference(reference: &Schema, other: &Schema) -> Option<String> {
    let names = |s: &Schema| {
        s.fields()
            .iter()
            .map(|f| f.name().clone())
            .collect::<Vec<_>>()
    };
    if names(reference) != names(other) {
        return Some(format!(
            "has columns ({}) instead of the columns ({})",
            names(other).join(", "),
            names(reference).join(", ")
        ));
    }
    reference
        .fields()
        .iter()
        .zip(other.fields())
        .find(|(a, b)| a.data_type() != b.data_type())
        .map(|(a, b)| {
            format!(
                "has column `{}` of type {} instead of the type {}",
                a.name(),
                b.data_type(),
                a.data_type()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::DataType;

    #[test]
    fn schema_difference_names_the_column_and_both_types() {
        let a = Schema::new(vec![Field::new("x", DataType::Int64, false)]);
        let b = Schema::new(vec![Field::new("x", DataType::Utf8, true)]);
        let message = schema_difference(&a, &b).unwrap();
        assert!(message.contains("`x`") && message.contains("Utf8") && message.contains("Int64"));
        let nullable = Schema::new(vec![Field::new("x", DataType::Int64, true)]);
        assert_eq!(schema_difference(&a, &nullable), None);
    }
}
