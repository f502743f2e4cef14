//! Results leave salesql here, and only here: the formats of SPEC §2, streamed batch by batch
//! to stdout or to a file written atomically.

pub mod cells;
pub mod format;
pub mod sink;
pub mod table;
pub mod writers;

use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;

pub use format::Format;
pub use sink::Sink;
pub use table::{Expanded, TableOptions};

use crate::error::{Error, Result};
use writers::{ArrowStreamWriter, DelimitedWriter, JsonWriter, MarkdownWriter, ParquetWriter};

/// What a writer reports when a result set is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultSummary {
    /// Rows in the result.
    pub rows: usize,
    /// Rows written (fewer than `rows` only in the table view).
    pub shown_rows: usize,
    /// Columns left out to fit the width (table view only).
    pub hidden_columns: usize,
}

impl ResultSummary {
    /// "3 rows", "1000 rows (40 shown)", "1 row, 2 columns hidden (use \x or a wider terminal)".
    pub fn describe(&self) -> String {
        let mut text = match self.rows {
            1 => "1 row".to_string(),
            n => format!("{n} rows"),
        };
        if self.shown_rows < self.rows {
            text.push_str(&format!(" ({} shown)", self.shown_rows));
        }
        if self.hidden_columns > 0 {
            text.push_str(&format!(
                ", {} column{} hidden to fit the width (try \\x or --format csv)",
                self.hidden_columns,
                if self.hidden_columns == 1 { "" } else { "s" }
            ));
        }
        text
    }
}

/// Writes one result set, batch by batch.
pub trait BatchWriter {
    /// Writes a batch.
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Completes the result set.
    fn finish(self: Box<Self>) -> Result<ResultSummary>;
}

/// How results are rendered.
#[derive(Debug, Clone, Copy)]
pub struct OutputOptions {
    /// The format.
    pub format: Format,
    /// The table view's settings.
    pub table: TableOptions,
}

/// The writer for `options.format`, writing to `out`.
pub fn batch_writer<'a>(
    options: OutputOptions,
    out: &'a mut (dyn Write + Send),
    schema: SchemaRef,
) -> Result<Box<dyn BatchWriter + 'a>> {
    Ok(match options.format {
        Format::Table => Box::new(table::TableWriter::new(out, schema, options.table)),
        Format::Csv => Box::new(DelimitedWriter::new(out, schema, b',')),
        Format::Tsv => Box::new(DelimitedWriter::new(out, schema, b'\t')),
        Format::Json => Box::new(JsonWriter::array(out)),
        Format::Ndjson => Box::new(JsonWriter::lines(out)),
        Format::Markdown => Box::new(MarkdownWriter::new(out, &schema)?),
        Format::Arrow => Box::new(ArrowStreamWriter::new(out, &schema)?),
        Format::Parquet => Box::new(ParquetWriter::new(out, schema)?),
    })
}

/// A destination with a format: every result of a command goes through one.
pub struct Output {
    sink: Sink,
    options: OutputOptions,
    result_sets: usize,
}

impl Output {
    /// Results in `options.format` to `sink`. Binary formats are refused on a terminal.
    pub fn new(sink: Sink, options: OutputOptions) -> Result<Self> {
        if options.format.is_binary() && sink.is_terminal() {
            return Err(Error::Usage(format!(
                "refusing to write binary {} output to a terminal: redirect it or use -o FILE",
                options.format.name()
            )));
        }
        Ok(Self {
            sink,
            options,
            result_sets: 0,
        })
    }

    /// The format in use.
    pub fn format(&self) -> Format {
        self.options.format
    }

    /// The rendering options, which the REPL changes between statements.
    pub fn options_mut(&mut self) -> &mut OutputOptions {
        &mut self.options
    }

    /// Streams one result set to the destination.
    pub async fn write_stream(
        &mut self,
        mut stream: SendableRecordBatchStream,
    ) -> Result<ResultSummary> {
        if self.options.format.is_binary() && self.result_sets > 0 {
            return Err(Error::Refused(format!(
                "the {} format holds one result set, and this input returns several: \
                 write each statement's result to its own file",
                self.options.format.name()
            )));
        }
        self.result_sets += 1;
        let destination = self.sink.describe();
        let output_error = |e: Error| match e {
            Error::DataFusion(inner) => Error::Output {
                destination: destination.clone(),
                message: inner.strip_backtrace(),
            },
            other => other,
        };
        let schema = stream.schema();
        let options = self.options;
        let mut writer = batch_writer(options, &mut self.sink, schema).map_err(output_error)?;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            writer.write(&batch).map_err(output_error)?;
        }
        let summary = writer.finish().map_err(output_error)?;
        self.sink.flush().map_err(|e| Error::Output {
            destination: self.sink.describe(),
            message: e.to_string(),
        })?;
        Ok(summary)
    }

    /// Flushes stdout, or moves the output file into place.
    pub fn commit(self) -> Result<()> {
        self.sink.commit()
    }
}
