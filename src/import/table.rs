//! Imported tables in memory: typed rows, each table's key, sort and partition columns, and the
//! conversion between rows and Parquet files (read back for an incremental import).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Date32Builder, Decimal128Array, Decimal128Builder, Int32Array,
    Int32Builder, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;

use crate::catalog::standard::{ColumnKind, STANDARD_TABLES, StandardTable};
use crate::error::{Error, Result};
use crate::parquet_layout::with_column_encodings;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// Text or a string id.
    Text(String),
    /// A timestamp, µs since the epoch, UTC.
    Time(i64),
    /// A date, days since the epoch.
    Day(i32),
    /// A whole number.
    Int(i32),
    /// Money in cents.
    Cents(i128),
    /// A number (helper columns only).
    Number(f64),
}

impl Value {
    /// The timestamp, if this is one.
    pub fn as_time(&self) -> Option<i64> {
        match self {
            Value::Time(t) => Some(*t),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// One row of a standard table, with the helpers that travel with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The table's columns, in SPEC order.
    pub values: Vec<Value>,
    /// When the source record was last modified (newest wins).
    pub updated: Option<i64>,
    /// The stage's win probability, when the export has one (orders stages).
    pub probability: Option<f64>,
}

/// How an imported table is stored.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// The standard table.
    pub table: &'static StandardTable,
    /// Columns that identify a row.
    pub key: &'static [usize],
    /// The time column rows are sorted by (and, if partitioned, split by year).
    pub time: usize,
    /// True when files are split into `year=YYYY/` folders.
    pub by_year: bool,
}

/// The extra column imported tables carry: when the source record last changed.
pub const UPDATED_AT: &str = "updated_at";

impl Layout {
    /// The layout of an imported standard table.
    pub fn of(name: &str) -> Option<Layout> {
        let table = STANDARD_TABLES.iter().find(|t| t.name == name)?;
        let (key, time, by_year): (&'static [usize], usize, bool) = match name {
            "reps" => (&[0], 5, false),
            "opportunities" => (&[0], 3, false),
            "stage_history" => (&[0, 1, 2], 2, true),
            "activities" => (&[0], 5, true),
            "quotas" => (&[0, 1, 2], 2, false),
            "stages" => (&[0], 1, false),
            _ => return None,
        };
        Some(Layout {
            table,
            key,
            time,
            by_year,
        })
    }

    /// True when this table stores `updated_at`.
    pub fn has_updated_at(&self) -> bool {
        self.table.name != "stages"
    }

    /// The Parquet schema: the standard columns, then `updated_at`.
    pub fn schema(&self) -> SchemaRef {
        let canonical = self.table.canonical_schema();
        let mut fields: Vec<Field> = canonical
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        if self.has_updated_at() {
            fields.push(Field::new(
                UPDATED_AT,
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ));
        }
        Arc::new(Schema::new(fields))
    }

    /// A row's key, as text (ids, stages and times compared exactly).
    pub fn key_of(&self, row: &Row) -> String {
        let mut key = String::new();
        for index in self.key {
            key.push_str(&format!("{:?}\u{1f}", row.values[*index]));
        }
        key
    }

    /// The partition folder of a row, relative to the table's folder.
    pub fn partition_of(&self, row: &Row) -> PathBuf {
        if !self.by_year {
            return PathBuf::new();
        }
        match row.values[self.time] {
            Value::Time(micros) => PathBuf::from(format!("year={}", year_of(micros))),
            _ => PathBuf::from("year=0"),
        }
    }

    /// Rows as one Arrow batch of [`Layout::schema`].
    pub fn to_batch(&self, rows: &[&Row]) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (index, (_, kind)) in self.table.columns.iter().enumerate() {
            columns.push(column(*kind, rows.iter().map(|r| &r.values[index])));
        }
        if self.has_updated_at() {
            let updated: TimestampMicrosecondArray = rows.iter().map(|r| r.updated).collect();
            columns.push(Arc::new(updated.with_timezone("UTC")));
        }
        RecordBatch::try_new(self.schema(), columns).map_err(|e| Error::Table {
            table: self.table.name.into(),
            message: e.to_string(),
        })
    }

    /// Rows of a batch read back from a file this layout wrote (columns by name, cast to the
    /// layout's types).
    pub fn rows_of(&self, batch: &RecordBatch, path: &Path) -> Result<Vec<Row>> {
        let schema = self.schema();
        let mut arrays = Vec::new();
        for field in schema.fields() {
            let array = match batch.column_by_name(field.name()) {
                Some(array) => cast(array, field.data_type()).map_err(|e| Error::Table {
                    table: self.table.name.into(),
                    message: format!("{}: column {}: {e}", path.display(), field.name()),
                })?,
                None => {
                    datafusion::arrow::array::new_null_array(field.data_type(), batch.num_rows())
                }
            };
            arrays.push(array);
        }
        let columns = self.table.columns.len();
        let rows = (0..batch.num_rows())
            .map(|row| Row {
                values: (0..columns)
                    .map(|c| cell(self.table.columns[c].1, arrays[c].as_ref(), row))
                    .collect(),
                updated: arrays
                    .get(columns)
                    .and_then(|a| cell(ColumnKind::Timestamp, a.as_ref(), row).as_time()),
                probability: None,
            })
            .collect();
        Ok(rows)
    }

    /// Writes rows to one zstd-compressed Parquet file at `path`.
    pub fn write_file(&self, rows: &[&Row], path: &Path) -> Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let batch = self.to_batch(rows)?;
        let properties = with_column_encodings(WriterProperties::builder(), &batch.schema())
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_created_by("salesql import".into())
            .build();
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties))
            .map_err(|e| Error::io(path, std::io::Error::other(e)))?;
        writer
            .write(&batch)
            .and_then(|()| writer.close().map(|_| ()))
            .map_err(|e| Error::io(path, std::io::Error::other(e)))
    }

    /// Reads every row of one Parquet file.
    pub fn read_file(&self, path: &Path) -> Result<Vec<Row>> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|builder| builder.build())
            .map_err(|e| Error::Table {
                table: self.table.name.into(),
                message: format!("{}: {e}", path.display()),
            })?;
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch.map_err(|e| Error::Table {
                table: self.table.name.into(),
                message: format!("{}: {e}", path.display()),
            })?;
            rows.extend(self.rows_of(&batch, path)?);
        }
        Ok(rows)
    }
}

fn year_of(micros: i64) -> i32 {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp_micros(micros).map_or(0, |t| t.year())
}

fn column<'a>(kind: ColumnKind, values: impl Iterator<Item = &'a Value>) -> ArrayRef {
    match kind {
        ColumnKind::Id | ColumnKind::Text => {
            let mut builder = StringBuilder::new();
            values.for_each(|v| builder.append_option(v.as_text()));
            Arc::new(builder.finish())
        }
        ColumnKind::Timestamp => {
            let mut builder = TimestampMicrosecondBuilder::new().with_timezone("UTC");
            values.for_each(|v| builder.append_option(v.as_time()));
            Arc::new(builder.finish())
        }
        ColumnKind::Date => {
            let mut builder = Date32Builder::new();
            values.for_each(|v| {
                builder.append_option(match v {
                    Value::Day(d) => Some(*d),
                    _ => None,
                })
            });
            Arc::new(builder.finish())
        }
        ColumnKind::Integer => {
            let mut builder = Int32Builder::new();
            values.for_each(|v| {
                builder.append_option(match v {
                    Value::Int(i) => Some(*i),
                    _ => None,
                })
            });
            Arc::new(builder.finish())
        }
        ColumnKind::Amount => {
            let mut builder = Decimal128Builder::new();
            values.for_each(|v| {
                builder.append_option(match v {
                    Value::Cents(c) => Some(*c),
                    _ => None,
                })
            });
            Arc::new(
                builder
                    .finish()
                    .with_precision_and_scale(18, 2)
                    .expect("18,2 is a valid decimal type"),
            )
        }
    }
}

fn cell(kind: ColumnKind, array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    let any = array.as_any();
    let value = match kind {
        ColumnKind::Id | ColumnKind::Text => any
            .downcast_ref::<StringArray>()
            .map(|a| Value::Text(a.value(row).to_string())),
        ColumnKind::Timestamp => any
            .downcast_ref::<TimestampMicrosecondArray>()
            .map(|a| Value::Time(a.value(row))),
        ColumnKind::Date => any
            .downcast_ref::<Date32Array>()
            .map(|a| Value::Day(a.value(row))),
        ColumnKind::Integer => any
            .downcast_ref::<Int32Array>()
            .map(|a| Value::Int(a.value(row))),
        ColumnKind::Amount => any
            .downcast_ref::<Decimal128Array>()
            .map(|a| Value::Cents(a.value(row))),
    };
    value.unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_a_round_trip_through_parquet() {
        let layout = Layout::of("opportunities").unwrap();
        let row = Row {
            values: vec![
                Value::Text("006A".into()),
                Value::Text("001A".into()),
                Value::Null,
                Value::Time(1_700_000_000_000_000),
                Value::Null,
                Value::Text("open".into()),
                Value::Text("Prospecting".into()),
                Value::Cents(1_234_567),
                Value::Null,
                Value::Text("SMB".into()),
            ],
            updated: Some(1_700_000_100_000_000),
            probability: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part-0.parquet");
        layout.write_file(&[&row], &path).unwrap();
        assert_eq!(layout.read_file(&path).unwrap(), vec![row]);
    }
}
