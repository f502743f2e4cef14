//! Runs the SQL behaviour tests in `tests/slt/*.slt` (sqllogictest format) against a salesql
//! session over the built-in sample, with the sales functions registered and four partitions
//! so that aggregates merge partial states. Prints `N passed, N failed`.
//!
//! `cargo test --test slt -- --complete` rewrites the expected results from what salesql
//! returns (review the diff before committing it); a file name filter may follow.

use std::path::PathBuf;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use salesql::session::{Session, SessionSettings};
use sqllogictest::{DBOutput, DefaultColumnType};

/// A salesql session as a sqllogictest database.
struct Salesql {
    session: Session,
}

#[async_trait]
impl sqllogictest::AsyncDB for Salesql {
    type Error = salesql::Error;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let frame = self.session.context().sql(sql).await?;
        let schema = frame.schema().as_arrow().clone();
        let batches = frame.collect().await?;
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; schema.fields().len()],
            rows: rows(&batches)?,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "salesql"
    }
}

/// Every cell as text; NULL as `NULL`, empty strings as `(empty)`.
fn rows(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, salesql::Error> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(datafusion::error::DataFusionError::from)?;
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| match f.value(row).to_string() {
                        text if text.is_empty() => "(empty)".to_string(),
                        text => text,
                    })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

async fn connect() -> Result<Salesql, salesql::Error> {
    let settings = SessionSettings {
        target_partitions: Some(4),
        ..SessionSettings::default()
    };
    Ok(Salesql {
        session: Session::open(&settings).await?,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let complete = args.iter().any(|a| a == "--complete");
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .filter(|p| {
            filter
                .as_ref()
                .is_none_or(|f| p.to_string_lossy().contains(f.as_str()))
        })
        .collect();
    files.sort();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let mut runner = sqllogictest::Runner::new(connect);
        let outcome = runtime.block_on(async {
            if complete {
                runner
                    .update_test_file(
                        file,
                        " ",
                        sqllogictest::default_validator,
                        sqllogictest::default_normalizer,
                        sqllogictest::default_column_validator,
                    )
                    .await
                    .map_err(|e| e.to_string())
            } else {
                runner
                    .run_file_async(file)
                    .await
                    .map_err(|e| e.display(true).to_string())
            }
        });
        match outcome {
            Ok(()) => {
                passed += 1;
                eprintln!("ok      {}", file.display());
            }
            Err(message) => {
                failed += 1;
                eprintln!("FAILED  {}\n{message}", file.display());
            }
        }
    }
    eprintln!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
