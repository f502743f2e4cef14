//! `salesql import`: turns CRM exports (Salesforce, HubSpot, any CSV with a mapping file) into
//! the Parquet layout of SPEC §1, incrementally. Each run reads the export through a mapping,
//! rejects unreadable records into `_rejects/` with their reason, merges the rest into what an
//! earlier import wrote (newest version of each id wins), rewrites only the files whose rows
//! changed, and replaces files atomically, so a failed import leaves the dataset as it was.

mod dataset;
mod export;
pub mod mapping;
pub mod merge;
mod report;
pub mod source;
pub mod stages;
pub mod staging;
pub mod table;
pub mod values;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use dataset::{
    choose_stages, read_existing, stage_empty_tables, stage_partitions, stage_rejects, stage_stages,
};
use export::{check_destination, list_export, matches_any};
use mapping::Mapping;
use report::{Report, TableReport};
use source::FileRows;
use staging::Staging;
use table::{Layout, Row};
use values::TimeReading;

pub use report::write_report;

/// The export formats `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    /// Salesforce objects (Data Loader, report exports, or ELT snake_case replicas).
    Salesforce,
    /// HubSpot deals, deal stage history and engagements.
    Hubspot,
    /// Any CSV export, described by `--mapping FILE`.
    Csv,
}

/// Arguments of `salesql import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// What kind of export DIR holds.
    #[arg(value_enum)]
    pub kind: ImportKind,
    /// The folder holding the export's CSV files.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The data root to create or update.
    #[arg(long, value_name = "ROOT")]
    pub out: PathBuf,
    /// The mapping file (required for `csv`; replaces the built-in one otherwise).
    #[arg(long, value_name = "MAPPING.toml", required_if_eq("kind", "csv"))]
    pub mapping: Option<PathBuf>,
    /// The stage order as CSV with columns stage, position, kind (instead of inferring it).
    #[arg(long, value_name = "FILE")]
    pub stages: Option<PathBuf>,
    /// Also write the summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The IANA time zone of timestamps that carry none (overrides the mapping; default UTC).
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
}

/// The file an import writes at the data root to recognise its own datasets.
pub const MANIFEST: &str = "_salesql_import.json";
/// The folder rejected records go to.
pub const REJECTS: &str = "_rejects";

/// Runs an import; `cancel` stops it before anything is committed.
pub fn import(args: &ImportArgs, cancel: &AtomicBool) -> Result<Report> {
    let mapping = match (&args.mapping, args.kind) {
        (Some(path), _) => Mapping::read(path)?,
        (None, ImportKind::Salesforce) => Mapping::built_in("salesforce")?,
        (None, ImportKind::Hubspot) => Mapping::built_in("hubspot")?,
        (None, ImportKind::Csv) => {
            return Err(Error::Usage("import csv needs --mapping FILE".into()));
        }
    };
    let time = time_reading(&mapping, args.time_zone.as_deref())?;
    let given_stages = args.stages.as_deref().map(stages::read_file).transpose()?;
    let files = list_export(&args.dir)?;
    check_destination(&args.dir, &args.out)?;
    let stopped = || -> Result<()> {
        if cancel.load(Ordering::Relaxed) {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    };

    // Read every file through the sources that match it.
    let mut incoming: BTreeMap<&'static str, Vec<Row>> = BTreeMap::new();
    let mut deleted: BTreeMap<&'static str, Vec<Row>> = BTreeMap::new();
    let mut report = Report::new(args.kind, &args.dir, &args.out);
    let mut rejects: Vec<(String, FileRows)> = Vec::new();
    let mut used = BTreeSet::new();
    for source in &mapping.sources {
        let layout = Layout::of(&source.table).expect("validated mapping tables");
        for path in files.iter().filter(|f| matches_any(f, &source.files)) {
            stopped()?;
            used.insert(path.clone());
            let mut read = source::read_file(path, source, layout.table, &time)?;
            let entry = report.table(layout.table.name);
            entry.read += read.read;
            entry.skipped += read.skipped;
            entry.rejected += read.rejected.len() as u64;
            entry.files_read.push(path.display().to_string());
            incoming
                .entry(layout.table.name)
                .or_default()
                .append(&mut read.rows);
            deleted
                .entry(layout.table.name)
                .or_default()
                .append(&mut read.deleted);
            if !read.rejected.is_empty() {
                rejects.push((layout.table.name.to_string(), read));
            }
        }
    }
    report.ignored_files = files
        .iter()
        .filter(|f| !used.contains(*f))
        .map(|f| f.display().to_string())
        .collect();
    if used.is_empty() {
        let mut expected: Vec<&str> = Vec::new();
        for pattern in mapping.sources.iter().flat_map(|s| &s.files) {
            if !expected.contains(&pattern.as_str()) {
                expected.push(pattern);
            }
        }
        return Err(Error::Usage(format!(
            "{}: no file matches the mapping (looked for {})",
            args.dir.display(),
            expected.join(", ")
        )));
    }

    // Merge with what is there and stage the files that change.
    let mut staging = Staging::new(&args.out)?;
    let mut merged_tables = BTreeMap::new();
    for (name, rows) in incoming {
        stopped()?;
        let layout = Layout::of(name).expect("a standard table");
        let (rows, superseded) = merge::newest_per_key(&layout, rows);
        let (rows, repeated) = if name == "stage_history" {
            merge::collapse_repeated_stages(rows)
        } else {
            (rows, 0)
        };
        let existing = read_existing(&args.out, &layout)?;
        let existing_files = existing.files.clone();
        let stored_before: HashSet<String> = existing
            .partitions
            .values()
            .flatten()
            .map(|row| layout.key_of(row))
            .collect();
        let removals = deleted.remove(name).unwrap_or_default();
        let mut merged = merge::merge_with_deletions(&layout, existing.partitions, rows, &removals);
        let repeated = if name == "stage_history" {
            repeated + merge::collapse_merged_stages(&mut merged, &stored_before, &layout)
        } else {
            repeated
        };
        let entry = report.table(name);
        entry.merge = merged.counts;
        entry.merge.superseded = superseded;
        entry.written = merged.counts.new + merged.counts.updated;
        entry.repeated_stages = repeated;
        entry.files_written = stage_partitions(&mut staging, &layout, &merged, &existing_files)?;
        merged_tables.insert(name, merged);
    }

    let stages = choose_stages(given_stages, &mapping, &merged_tables, &args.out)?;
    report.stages = stages.rows.iter().map(|s| s.name.clone()).collect();
    stage_stages(&mut staging, &args.out, &stages.rows, &mut report)?;
    report.stages_origin = stages.origin;
    stage_empty_tables(&mut staging, &args.out)?;
    stage_rejects(&mut staging, &args.out, &rejects)?;
    let manifest = staging.file(Path::new(MANIFEST))?;
    std::fs::write(&manifest, report.manifest_json()).map_err(|e| Error::io(&manifest, e))?;
    stopped()?;
    staging.commit()?;
    Ok(report)
}

fn time_reading(mapping: &Mapping, zone: Option<&str>) -> Result<TimeReading> {
    let zone_name = zone.or(mapping.time_zone.as_deref()).unwrap_or("UTC");
    let zone = zone_name.parse().map_err(|_| {
        Error::Usage(format!(
            "time zone `{zone_name}` is not an IANA time zone (e.g. Europe/Paris)"
        ))
    })?;
    Ok(TimeReading {
        formats: mapping.date_formats.clone(),
        zone,
    })
}

impl Report {
    fn table(&mut self, name: &str) -> &mut TableReport {
        self.tables.entry(name.to_string()).or_default()
    }
}
