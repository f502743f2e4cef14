//! Writes one generated table as Parquet files: zstd-compressed, 64-bit columns delta-encoded
//! ([`crate::parquet_layout`]), with page statistics and the
//! sort column declared in each row group's metadata (DataFusion reads it back as the file's
//! ordering), at most [`ROWS_PER_FILE`] rows per file, optionally in Hive partition folders by
//! year or month. Runs on its own thread, fed batches in time order through a bounded channel.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::error::{Error, Result};
use crate::generate::calendar::{FIRST_YEAR, year_month};
use crate::parquet_layout::with_column_encodings;

/// Rows per row group: small enough for statistics to prune, large enough to scan fast.
pub const ROWS_PER_ROW_GROUP: usize = 256 * 1024;
/// Rows per file, which bounds file size.
pub const ROWS_PER_FILE: usize = 4 * ROWS_PER_ROW_GROUP;

/// How partitioned tables are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Partitioning {
    /// All files directly in the table's folder.
    #[default]
    None,
    /// `year=YYYY/` folders.
    Year,
    /// `year=YYYY/month=M/` folders.
    Month,
}

/// The partition a batch belongs to: (year, month); unused parts are 0.
pub type PartitionKey = (i32, u32);

impl Partitioning {
    /// The key of a row whose time falls in calendar `(year, month)`.
    pub fn key(self, (year, month): (i32, u32)) -> PartitionKey {
        match self {
            Partitioning::None => (0, 0),
            Partitioning::Year => (year, 0),
            Partitioning::Month => (year, month),
        }
    }

    /// The key of a row at time `ts` (µs).
    pub fn key_at(self, ts: i64) -> PartitionKey {
        match self {
            Partitioning::None => (0, 0),
            _ => self.key(year_month(ts)),
        }
    }

    fn folder(self, (year, month): PartitionKey) -> PathBuf {
        match self {
            Partitioning::None => PathBuf::new(),
            Partitioning::Year => PathBuf::from(format!("year={year}")),
            Partitioning::Month => {
                PathBuf::from(format!("year={year}")).join(format!("month={month}"))
            }
        }
    }
}

/// The files of one table being written.
pub struct TableFiles {
    dir: PathBuf,
    schema: SchemaRef,
    properties: WriterProperties,
    partitioning: Partitioning,
    current: Option<OpenFile>,
    rows: u64,
    files: usize,
}

struct OpenFile {
    key: PartitionKey,
    index: usize,
    rows: usize,
    path: PathBuf,
    writer: ArrowWriter<File>,
}

impl TableFiles {
    /// Files for table `name` under `root`, declaring column `sort_column` as their order.
    pub fn new(
        root: &Path,
        name: &str,
        schema: SchemaRef,
        sort_column: usize,
        partitioning: Partitioning,
    ) -> Result<Self> {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let properties = with_column_encodings(WriterProperties::builder(), &schema)
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).expect("3 is a valid level"),
            ))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(ROWS_PER_ROW_GROUP))
            .set_sorting_columns(Some(vec![SortingColumn {
                column_idx: sort_column as i32,
                descending: false,
                nulls_first: false,
            }]))
            .set_created_by("salesql generate".to_string())
            .build();
        Ok(Self {
            dir,
            schema,
            properties,
            partitioning,
            current: None,
            rows: 0,
            files: 0,
        })
    }

    /// Appends a batch whose rows all belong to partition `key`; rows arrive in time order.
    pub fn write(&mut self, batch: &RecordBatch, key: PartitionKey) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let file = self.file_for(key)?;
            let take = (ROWS_PER_FILE - file.rows).min(batch.num_rows() - offset);
            let slice = batch.slice(offset, take);
            file.writer
                .write(&slice)
                .map_err(|e| Error::io(&file.path, std::io::Error::other(e)))?;
            file.rows += take;
            offset += take;
            self.rows += take as u64;
        }
        Ok(())
    }

    /// The open file for `key` with room left, opening the next one when needed.
    fn file_for(&mut self, key: PartitionKey) -> Result<&mut OpenFile> {
        let next_index = match &self.current {
            Some(file) if file.key == key && file.rows < ROWS_PER_FILE => None,
            Some(file) if file.key == key => Some(file.index + 1),
            _ => Some(0),
        };
        if let Some(index) = next_index {
            self.close_current()?;
            let folder = self.dir.join(self.partitioning.folder(key));
            std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
            let path = folder.join(format!("part-{index:05}.parquet"));
            let handle = File::create(&path).map_err(|e| Error::io(&path, e))?;
            let writer = ArrowWriter::try_new(
                handle,
                std::sync::Arc::clone(&self.schema),
                Some(self.properties.clone()),
            )
            .map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
            self.current = Some(OpenFile {
                key,
                index,
                rows: 0,
                path,
                writer,
            });
            self.files += 1;
        }
        Ok(self.current.as_mut().expect("a file was just opened"))
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some(file) = self.current.take() {
            file.writer
                .close()
                .map_err(|e| Error::io(&file.path, std::io::Error::other(e)))?;
        }
        Ok(())
    }

    /// Closes the last file; an empty table still gets one (empty) file so that its schema is
    /// known. Returns (rows, files).
    pub fn finish(mut self) -> Result<(u64, usize)> {
        if self.files == 0 {
            self.file_for(self.partitioning.key((FIRST_YEAR, 1)))?;
        }
        self.close_current()?;
        Ok((self.rows, self.files))
    }
}

/// A table writer running on its own thread.
pub struct BackgroundTable {
    sender: SyncSender<(RecordBatch, PartitionKey)>,
    handle: JoinHandle<Result<(u64, usize)>>,
}

impl BackgroundTable {
    /// Starts a thread writing `files`.
    pub fn spawn(mut files: TableFiles) -> Self {
        let (sender, receiver): (_, Receiver<(RecordBatch, PartitionKey)>) = sync_channel(4);
        let handle = std::thread::spawn(move || {
            for (batch, key) in receiver {
                files.write(&batch, key)?;
            }
            files.finish()
        });
        Self { sender, handle }
    }

    /// Queues a batch; fails when the writer thread has stopped on an error.
    pub fn send(&self, batch: RecordBatch, key: PartitionKey) -> Result<()> {
        self.sender.send((batch, key)).map_err(|_| Error::Output {
            destination: "the generated dataset".into(),
            message: "a table writer stopped".into(),
        })
    }

    /// Waits for the thread and returns (rows, files), or its error.
    pub fn finish(self) -> Result<(u64, usize)> {
        drop(self.sender);
        self.handle.join().map_err(|_| Error::Output {
            destination: "the generated dataset".into(),
            message: "a table writer panicked".into(),
        })?
    }
}
