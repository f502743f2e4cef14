//! `salesql check`: every table of the data root loaded and validated — files readable as
//! Parquet, one schema per folder, consistent partition folders, the standard tables present
//! with the columns of SPEC §1 — with row counts and schemas.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::listing::PartitionedFile;
use futures::StreamExt;

use crate::catalog::damaged_files::{FILES_AT_ONCE, FileCheck, decode_file};
use crate::catalog::standard::{STANDARD_TABLES, standard_table};
use crate::catalog::table_loader::{TableLayout, file_name};
use crate::error::Error;
use crate::session::Session;

/// The state of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableStatus {
    /// Usable as it is.
    Ok,
    /// Has at least one problem.
    Problem,
    /// A standard table the root does not have.
    Missing,
    /// The default `stages` table stands in for a missing folder.
    Default,
}

impl TableStatus {
    fn name(self) -> &'static str {
        match self {
            TableStatus::Ok => "ok",
            TableStatus::Problem => "problem",
            TableStatus::Missing => "missing",
            TableStatus::Default => "default",
        }
    }
}

/// What `check` found about one table.
#[derive(Debug, Clone)]
pub struct TableReport {
    /// The table's name.
    pub name: String,
    /// Its state.
    pub status: TableStatus,
    /// Its row count, when it could be read.
    pub rows: Option<u64>,
    /// Its number of Parquet files.
    pub files: usize,
    /// Its Hive partition columns.
    pub partitioned_by: Vec<String>,
    /// `name type` of each column.
    pub columns: Vec<String>,
    /// What is wrong with it.
    pub problems: Vec<String>,
}

impl TableReport {
    fn empty(name: &str, status: TableStatus) -> Self {
        Self {
            name: name.to_string(),
            status,
            rows: None,
            files: 0,
            partitioned_by: Vec::new(),
            columns: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// Checks every table of the session's data root, standard tables first; `deep` also decodes
/// every column of every file.
pub async fn check_root(session: &Session, deep: bool) -> Vec<TableReport> {
    let schema = session.schema();
    let mut reports = Vec::new();
    let mut names: Vec<String> = STANDARD_TABLES.iter().map(|t| t.name.to_string()).collect();
    names.extend(
        schema
            .folders()
            .filter(|f| standard_table(f).is_none())
            .map(str::to_string),
    );
    for name in names {
        let in_root = schema.folders().any(|f| f == name);
        if !in_root {
            let report = if name == "stages" && schema.uses_default_stages() {
                let mut report = TableReport::empty(&name, TableStatus::Default);
                report.rows = count_rows(session, &name).await.ok();
                report
            } else {
                let mut report = TableReport::empty(&name, TableStatus::Missing);
                report
                    .problems
                    .push(format!("no `{name}` folder in the data root"));
                report
            };
            reports.push(report);
            continue;
        }
        reports.push(check_table(session, &name, deep).await);
    }
    reports
}

async fn check_table(session: &Session, name: &str, deep: bool) -> TableReport {
    let mut report = TableReport::empty(name, TableStatus::Ok);
    let layout = match session.schema().layout(name).await {
        Ok(layout) => layout,
        Err(e) => {
            report.status = TableStatus::Problem;
            report.problems.push(e.to_string());
            return report;
        }
    };
    report.files = layout.files.len();
    report.partitioned_by = layout
        .partition_columns
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    let table_schema = layout.table_schema();
    report.columns = table_schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect();
    report
        .problems
        .extend(standard_column_problems(&layout, &table_schema));
    match count_rows(session, name).await {
        Ok(rows) => report.rows = Some(rows),
        Err(e) => report.problems.push(format!("cannot count rows: {e}")),
    }
    if deep {
        report
            .problems
            .extend(damaged_files(session, &layout).await);
    }
    if !report.problems.is_empty() {
        report.status = TableStatus::Problem;
    }
    report
}

/// One problem for each file of the table that fails to decode (naming its first bad column)
/// or cannot be read.
async fn damaged_files(session: &Session, layout: &TableLayout) -> Vec<String> {
    let store = session.root().store();
    futures::stream::iter(&layout.files)
        .map(|meta| async move {
            let file = PartitionedFile::from(meta.clone());
            let name = file_name(&layout.url, &meta.location);
            match decode_file(Arc::clone(store), &file, None).await {
                FileCheck::Sound => None,
                FileCheck::Unreadable(why) => Some(format!("cannot read file {name}: {why}")),
                FileCheck::Damaged(damage) => Some(
                    Error::DamagedFile {
                        table: None,
                        file: name,
                        column: damage.column,
                        message: damage.message,
                    }
                    .to_string(),
                ),
            }
        })
        .buffered(FILES_AT_ONCE)
        .filter_map(|problem| async move { problem })
        .collect()
        .await
}

/// Missing or ill-typed columns of a standard table.
fn standard_column_problems(layout: &TableLayout, schema: &SchemaRef) -> Vec<String> {
    let Some(standard) = standard_table(&layout.name) else {
        return Vec::new();
    };
    standard
        .columns
        .iter()
        .filter_map(|(column, kind)| match schema.field_with_name(column) {
            Err(_) => Some(format!("missing column `{column}` ({})", kind.describe())),
            Ok(field) if !kind.accepts(field.data_type()) => Some(format!(
                "column `{column}` is {}, expected {}",
                field.data_type(),
                kind.describe()
            )),
            Ok(_) => None,
        })
        .collect()
}

async fn count_rows(session: &Session, name: &str) -> crate::error::Result<u64> {
    let frame = session.context().table(name).await?;
    Ok(frame.count().await? as u64)
}

/// The reports as one result set: table, status, rows, files, partitioned_by, columns, problems.
pub fn reports_batch(reports: &[TableReport]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("rows", DataType::UInt64, true),
        Field::new("files", DataType::UInt64, false),
        Field::new("partitioned_by", DataType::Utf8, false),
        Field::new("columns", DataType::Utf8, false),
        Field::new("problems", DataType::Utf8, false),
    ]));
    let strings = |f: &dyn Fn(&TableReport) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(reports.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        strings(&|r| r.name.clone()),
        strings(&|r| r.status.name().to_string()),
        Arc::new(UInt64Array::from_iter(reports.iter().map(|r| r.rows))),
        Arc::new(UInt64Array::from_iter_values(
            reports.iter().map(|r| r.files as u64),
        )),
        strings(&|r| r.partitioned_by.join(", ")),
        strings(&|r| r.columns.join(", ")),
        strings(&|r| r.problems.join("; ")),
    ];
    RecordBatch::try_new(schema, columns).expect("columns match the schema")
}
