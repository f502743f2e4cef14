//! The streaming writers of the machine formats (CSV, TSV, JSON, NDJSON, Arrow IPC, Parquet)
//! and of Markdown. Each writes batches as they arrive; none holds a result in memory.

use std::io::Write;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::csv;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::json;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;

use crate::error::Result;
use crate::output::cells::{cell_text, formatter, is_numeric};
use crate::output::{BatchWriter, ResultSummary};

/// Counts rows for the summary.
#[derive(Default)]
struct RowCount(usize);

impl RowCount {
    fn add(&mut self, batch: &RecordBatch) {
        self.0 += batch.num_rows();
    }

    fn summary(&self) -> ResultSummary {
        ResultSummary {
            rows: self.0,
            shown_rows: self.0,
            hidden_columns: 0,
        }
    }
}

fn arrow_error(e: datafusion::arrow::error::ArrowError) -> crate::error::Error {
    DataFusionError::from(e).into()
}

/// CSV or TSV with a header line, written even when there are no rows.
pub struct DelimitedWriter<'a> {
    writer: csv::Writer<&'a mut dyn Write>,
    schema: SchemaRef,
    count: RowCount,
}

impl<'a> DelimitedWriter<'a> {
    /// A writer using `delimiter` (`b','` or `b'\t'`).
    pub fn new(out: &'a mut dyn Write, schema: SchemaRef, delimiter: u8) -> Self {
        let writer = csv::WriterBuilder::new()
            .with_header(true)
            .with_delimiter(delimiter)
            .build(out);
        Self {
            writer,
            schema,
            count: RowCount::default(),
        }
    }
}

impl BatchWriter for DelimitedWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.count.add(batch);
        let batch = nested_as_text(batch)?;
        self.writer.write(&batch).map_err(arrow_error)
    }

    fn finish(mut self: Box<Self>) -> Result<ResultSummary> {
        if self.count.0 == 0 {
            // The header is written with the first batch: write an empty one.
            let empty = RecordBatch::new_empty(Arc::clone(&self.schema));
            self.writer
                .write(&nested_as_text(&empty)?)
                .map_err(arrow_error)?;
        }
        Ok(self.count.summary())
    }
}

/// `batch` with its nested columns (lists, structs, maps), which CSV cannot hold, rendered
/// as text such as `[1, 2, 3]`; NULLs stay NULL.
fn nested_as_text(batch: &RecordBatch) -> Result<RecordBatch> {
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| f.data_type().is_nested())
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if !field.data_type().is_nested() {
            fields.push(Arc::clone(field));
            columns.push(Arc::clone(column));
            continue;
        }
        let formatter = formatter(column.as_ref()).map_err(arrow_error)?;
        let text: StringArray = (0..column.len())
            .map(|row| {
                column
                    .is_valid(row)
                    .then(|| formatter.value(row).to_string())
            })
            .collect();
        fields.push(Arc::new(Field::new(field.name(), DataType::Utf8, true)));
        columns.push(Arc::new(text));
    }
    let schema = Arc::new(Schema::new(fields));
    RecordBatch::try_new(schema, columns).map_err(arrow_error)
}

/// JSON, NULLs written as `null`: one array of objects (`[]` when empty) with
/// [`json::writer::JsonArray`], or one object per line with [`json::writer::LineDelimited`].
pub struct JsonWriter<'a, F: json::writer::JsonFormat> {
    writer: json::Writer<&'a mut dyn Write, F>,
    count: RowCount,
    /// An array ends without a newline; a line-delimited stream already has one.
    end_with_newline: bool,
}

impl<'a> JsonWriter<'a, json::writer::JsonArray> {
    /// One JSON array to `out`.
    pub fn array(out: &'a mut dyn Write) -> Self {
        Self::build(out, true)
    }
}

impl<'a> JsonWriter<'a, json::writer::LineDelimited> {
    /// One JSON object per line to `out`.
    pub fn lines(out: &'a mut dyn Write) -> Self {
        Self::build(out, false)
    }
}

impl<'a, F: json::writer::JsonFormat> JsonWriter<'a, F> {
    fn build(out: &'a mut dyn Write, end_with_newline: bool) -> Self {
        let writer = json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, F>(out);
        Self {
            writer,
            count: RowCount::default(),
            end_with_newline,
        }
    }
}

impl<F: json::writer::JsonFormat> BatchWriter for JsonWriter<'_, F> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.count.add(batch);
        self.writer.write(batch).map_err(arrow_error)
    }

    fn finish(mut self: Box<Self>) -> Result<ResultSummary> {
        self.writer.finish().map_err(arrow_error)?;
        if self.end_with_newline {
            self.writer
                .get_mut()
                .write_all(b"\n")
                .map_err(|e| arrow_error(e.into()))?;
        }
        Ok(self.count.summary())
    }
}

/// An Arrow IPC stream.
pub struct ArrowStreamWriter<'a> {
    writer: StreamWriter<&'a mut dyn Write>,
    count: RowCount,
}

impl<'a> ArrowStreamWriter<'a> {
    /// A writer of `schema`'s batches to `out`.
    pub fn new(out: &'a mut dyn Write, schema: &SchemaRef) -> Result<Self> {
        Ok(Self {
            writer: StreamWriter::try_new(out, schema).map_err(arrow_error)?,
            count: RowCount::default(),
        })
    }
}

impl BatchWriter for ArrowStreamWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.count.add(batch);
        self.writer.write(batch).map_err(arrow_error)
    }

    fn finish(mut self: Box<Self>) -> Result<ResultSummary> {
        self.writer.finish().map_err(arrow_error)?;
        Ok(self.count.summary())
    }
}

/// A zstd-compressed Parquet file.
pub struct ParquetWriter<'a> {
    writer: ArrowWriter<&'a mut (dyn Write + Send)>,
    count: RowCount,
}

impl<'a> ParquetWriter<'a> {
    /// A writer of `schema`'s batches to `out`.
    pub fn new(out: &'a mut (dyn Write + Send), schema: SchemaRef) -> Result<Self> {
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let writer =
            ArrowWriter::try_new(out, schema, Some(properties)).map_err(DataFusionError::from)?;
        Ok(Self {
            writer,
            count: RowCount::default(),
        })
    }
}

impl BatchWriter for ParquetWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.count.add(batch);
        self.writer.write(batch).map_err(DataFusionError::from)?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<ResultSummary> {
        let count = self.count.summary();
        self.writer.close().map_err(DataFusionError::from)?;
        Ok(count)
    }
}

/// A GitHub-flavoured Markdown table; numbers right-aligned, `|` escaped.
pub struct MarkdownWriter<'a> {
    out: &'a mut dyn Write,
    count: RowCount,
}

impl<'a> MarkdownWriter<'a> {
    /// A writer of `schema`'s rows to `out`; writes the header at once.
    pub fn new(out: &'a mut dyn Write, schema: &SchemaRef) -> Result<Self> {
        let names: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| escape_markdown(f.name()))
            .collect();
        let rules: Vec<&str> = schema
            .fields()
            .iter()
            .map(|f| {
                if is_numeric(f.data_type()) {
                    "---:"
                } else {
                    "---"
                }
            })
            .collect();
        writeln!(out, "| {} |", names.join(" | ")).map_err(|e| arrow_error(e.into()))?;
        writeln!(out, "| {} |", rules.join(" | ")).map_err(|e| arrow_error(e.into()))?;
        Ok(Self {
            out,
            count: RowCount::default(),
        })
    }
}

impl BatchWriter for MarkdownWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.count.add(batch);
        let formatters = batch
            .columns()
            .iter()
            .map(|c| formatter(c.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(arrow_error)?;
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| escape_markdown(&cell_text(f, row)))
                .collect();
            writeln!(self.out, "| {} |", cells.join(" | ")).map_err(|e| arrow_error(e.into()))?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<ResultSummary> {
        Ok(self.count.summary())
    }
}

fn escape_markdown(text: &str) -> String {
    text.replace('|', "\\|")
}
