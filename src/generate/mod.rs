//! `salesql generate` (SPEC §5): a realistic, seeded synthetic CRM history — five years
//! ending 2025-12-31 — in the data-root layout of SPEC §1.
//!
//! The same seed and scale give the same rows whatever the thread count: every rep draws from
//! its own random stream, and rows are numbered after sorting. Memory stays bounded whatever
//! the scale (see [`timeline`]). The dataset is written into a hidden temporary folder beside
//! `--out` and renamed into place only when complete, so an interrupted run leaves nothing
//! half-written at `--out`.

pub mod activities;
pub mod calendar;
pub mod model;
pub mod opportunities;
pub mod quotas;
pub mod random;
pub mod reps;
pub mod stage_history;
pub mod timeline;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use datafusion::arrow::datatypes::{DataType, TimeUnit};

use crate::catalog::standard::default_stages_batch;
use crate::error::{Error, Result};
use calendar::Months;
use timeline::{Timeline, Writers};
pub use writer::Partitioning;
use writer::{BackgroundTable, TableFiles};

/// `salesql generate` options.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// The folder to write the dataset into (refused if it exists and is not empty, unless --force).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Size: 1 is about 1,000,000 activities and 100,000 opportunities; fractions work.
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub scale: f64,
    /// Random seed: the same seed and scale give the same rows.
    #[arg(long, default_value_t = 42, value_name = "N")]
    pub seed: u64,
    /// Hive partitioning of `activities` and `stage_history`.
    #[arg(long, value_enum, default_value_t = Partitioning::None)]
    pub partition: Partitioning,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Worker threads (default: one per core); the rows do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// The timestamp type of generated tables.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Rows and files written per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// The table.
    pub table: &'static str,
    /// Rows written.
    pub rows: u64,
    /// Files written.
    pub files: usize,
}

/// Writes the dataset `args` describe, reporting progress on stderr. Stops with
/// [`Error::Interrupted`] soon after `cancel` is set, leaving `--out` untouched.
pub fn generate(args: &GenerateArgs, cancel: &AtomicBool) -> Result<Vec<TableSummary>> {
    if !(args.scale > 0.0 && args.scale <= 1000.0) {
        return Err(Error::Usage(format!(
            "--scale {}: expected a number above 0 and at most 1000",
            args.scale
        )));
    }
    let started = Instant::now();
    check_destination(&args.out, args.force)?;
    let parent = match args.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".salesql-generate-")
        .tempdir_in(&parent)
        .map_err(|e| Error::io(&parent, e))?;

    let summary = write_tables(staging.path(), args, cancel)?;
    move_into_place(staging, &args.out)?;
    let total: u64 = summary.iter().map(|s| s.rows).sum();
    eprintln!(
        "wrote {} rows to {} in {:.1} s ({})",
        total,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        summary
            .iter()
            .map(|s| format!("{} {}", s.table, s.rows))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(summary)
}

fn check_destination(out: &Path, force: bool) -> Result<()> {
    match std::fs::metadata(out) {
        Err(_) => Ok(()),
        Ok(meta) if !meta.is_dir() => Err(Error::Usage(format!(
            "--out {}: exists and is not a directory",
            out.display()
        ))),
        Ok(_) => {
            let mut entries = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?;
            if entries.next().is_some() && !force {
                return Err(Error::Usage(format!(
                    "--out {}: exists and is not empty; use --force to replace it",
                    out.display()
                )));
            }
            Ok(())
        }
    }
}

/// Renames the finished dataset to `out`, replacing what was there only now.
fn move_into_place(staging: tempfile::TempDir, out: &Path) -> Result<()> {
    let staged = staging.keep();
    if out.exists() {
        let parent = staged.parent().unwrap_or(Path::new("."));
        let retired = tempfile::Builder::new()
            .prefix(".salesql-replaced-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?
            .keep();
        let retired_out = retired.join("old");
        std::fs::rename(out, &retired_out).map_err(|e| Error::io(out, e))?;
        if let Err(e) = std::fs::rename(&staged, out) {
            let _ = std::fs::rename(&retired_out, out);
            let _ = std::fs::remove_dir_all(&staged);
            return Err(Error::io(out, e));
        }
        let _ = std::fs::remove_dir_all(&retired);
        return Ok(());
    }
    std::fs::rename(&staged, out).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        Error::io(out, e)
    })
}

fn write_tables(
    root: &Path,
    args: &GenerateArgs,
    cancel: &AtomicBool,
) -> Result<Vec<TableSummary>> {
    let months = Months::default();
    let reps = model::draw_reps(args.seed, args.scale, &months);
    let total_weight: f64 = reps
        .iter()
        .map(|r| model::expected_weight(r, &months))
        .sum();
    let opportunities_per_weight = 100_000.0 * args.scale / total_weight;
    let mean_open_rate = reps.iter().map(|r| r.open_rate).sum::<f64>() / reps.len() as f64;

    let mut summary = Vec::new();
    let mut write_whole = |name: &'static str,
                           batch: datafusion::arrow::array::RecordBatch,
                           sort_column: usize|
     -> Result<()> {
        let mut files =
            TableFiles::new(root, name, batch.schema(), sort_column, Partitioning::None)?;
        files.write(&batch, (0, 0))?;
        let (rows, count) = files.finish()?;
        summary.push(TableSummary {
            table: name,
            rows,
            files: count,
        });
        Ok(())
    };
    write_whole("reps", reps::batch(&reps), 5)?;
    write_whole(
        "quotas",
        quotas::batch(
            args.seed,
            &reps,
            &months,
            opportunities_per_weight * mean_open_rate,
        ),
        2,
    )?;
    write_whole("stages", default_stages_batch(), 1)?;

    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .clamp(1, 64);
    let writers = Writers {
        opportunities: BackgroundTable::spawn(TableFiles::new(
            root,
            "opportunities",
            opportunities::schema(),
            3,
            Partitioning::None,
        )?),
        stage_history: BackgroundTable::spawn(TableFiles::new(
            root,
            "stage_history",
            stage_history::schema(),
            2,
            args.partition,
        )?),
        activities: BackgroundTable::spawn(TableFiles::new(
            root,
            "activities",
            activities::schema(),
            5,
            args.partition,
        )?),
        partitioning: args.partition,
    };
    let timeline = Timeline {
        seed: args.seed,
        reps: &reps,
        months: &months,
        opportunities_per_weight,
        threads,
    };
    let outcome = timeline.run(&writers, cancel);
    let Writers {
        opportunities,
        stage_history,
        activities,
        ..
    } = writers;
    let finished = [
        ("opportunities", opportunities.finish()),
        ("stage_history", stage_history.finish()),
        ("activities", activities.finish()),
    ];
    outcome?;
    for (table, result) in finished {
        let (rows, files) = result?;
        summary.push(TableSummary { table, rows, files });
    }
    Ok(summary)
}
