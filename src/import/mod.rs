//! `salesql import`: turns CRM exports (Salesforce, HubSpot, any CSV with a mapping file) into
//! the Parquet layout of SPEC §1, incrementally. Each run reads the export through a mapping,
//! rejects unreadable records into `_rejects/` with their reason, merges the rest into what an
//! earlier import wrote (newest version of each id wins), rewrites only the files whose rows
//! changed, and replaces files atomically, so a failed import leaves the dataset as it was.

pub mod mapping;
pub mod merge;
mod report;
pub mod source;
pub mod stages;
pub mod staging;
pub mod table;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::catalog::standard::STANDARD_TABLES;
use crate::error::{Error, Result};
use mapping::Mapping;
use report::{Report, TableReport};
use source::{FileRows, Rejected};
use stages::Stage;
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
        let expected: Vec<&str> = mapping
            .sources
            .iter()
            .flat_map(|s| s.files.iter().map(String::as_str))
            .collect();
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
        let merged = merge::merge(&layout, existing.partitions, rows);
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

/// The CSV files of the export folder, sorted by name.
fn list_export(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if path.is_file() && is_csv {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Refuses to import into the export folder itself, or into a folder of data that an import did
/// not write (it would be mixed with, or overwrite, someone's files).
fn check_destination(export: &Path, out: &Path) -> Result<()> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(export, out) {
        return Err(Error::Usage(format!(
            "--out {}: the data root must not be the export folder",
            out.display()
        )));
    }
    let Ok(mut entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    let has_data = entries.any(|e| {
        e.is_ok_and(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && name != REJECTS
        })
    });
    if has_data && !out.join(MANIFEST).exists() {
        return Err(Error::Usage(format!(
            "--out {}: the folder holds files that salesql import did not write; import into a new \
             folder or one an earlier import made",
            out.display()
        )));
    }
    Ok(())
}

/// True when the file's name matches one of the patterns (case-insensitive, `*` wildcards).
fn matches_any(path: &Path, patterns: &[String]) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    patterns
        .iter()
        .any(|p| wildcard_match(&p.to_lowercase(), &name))
}

fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(remaining) = text.strip_prefix(head) else {
                return false;
            };
            (0..=remaining.len())
                .filter(|i| remaining.is_char_boundary(*i))
                .any(|i| wildcard_match(rest, &remaining[i..]))
        }
    }
}

/// Rows an earlier import wrote, by partition, and the files holding each partition.
struct Existing {
    partitions: BTreeMap<PathBuf, Vec<Row>>,
    files: BTreeMap<PathBuf, Vec<PathBuf>>,
}

fn read_existing(root: &Path, layout: &Layout) -> Result<Existing> {
    let mut existing = Existing {
        partitions: BTreeMap::new(),
        files: BTreeMap::new(),
    };
    let dir = root.join(layout.table.name);
    if !dir.is_dir() {
        return Ok(existing);
    }
    let mut pending = vec![dir.clone()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).map_err(|e| Error::io(&current, e))? {
            let path = entry.map_err(|e| Error::io(&current, e))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                let partition = current
                    .strip_prefix(&dir)
                    .unwrap_or(Path::new(""))
                    .to_path_buf();
                let rows = layout.read_file(&path)?;
                existing
                    .partitions
                    .entry(partition.clone())
                    .or_default()
                    .extend(rows);
                let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                existing.files.entry(partition).or_default().push(relative);
            }
        }
    }
    Ok(existing)
}

/// The file each partition of a table is written to.
fn partition_file(layout: &Layout, partition: &Path) -> PathBuf {
    Path::new(layout.table.name)
        .join(partition)
        .join("part-0.parquet")
}

/// Stages the changed partitions of a merged table; returns how many files were written.
fn stage_partitions(
    staging: &mut Staging,
    layout: &Layout,
    merged: &merge::Merged,
    existing_files: &BTreeMap<PathBuf, Vec<PathBuf>>,
) -> Result<u64> {
    let mut written = 0;
    let total_rows: usize = merged.partitions.values().map(Vec::len).sum();
    for partition in &merged.dirty {
        let rows = merged
            .partitions
            .get(partition)
            .map_or(&[][..], Vec::as_slice);
        for old in existing_files.get(partition).into_iter().flatten() {
            staging.remove(old);
        }
        let keep_placeholder = total_rows == 0 && partition.as_os_str().is_empty();
        if rows.is_empty() && !keep_placeholder {
            continue;
        }
        let mut sorted: Vec<&Row> = rows.iter().collect();
        sorted.sort_by(|a, b| {
            let time = |r: &Row| r.values[layout.time].as_time();
            time(a)
                .cmp(&time(b))
                .then_with(|| layout.key_of(a).cmp(&layout.key_of(b)))
        });
        let relative = partition_file(layout, partition);
        let staged = staging.file(&relative)?;
        layout.write_file(&sorted, &staged)?;
        written += 1;
    }
    if total_rows == 0 && !merged.dirty.contains(Path::new("")) && existing_files.is_empty() {
        let relative = partition_file(layout, Path::new(""));
        layout.write_file(&[], &staging.file(&relative)?)?;
        written += 1;
    }
    Ok(written)
}

/// The stages chosen for the dataset, and where they came from.
struct ChosenStages {
    rows: Vec<Stage>,
    origin: &'static str,
}

fn choose_stages(
    given: Option<Vec<Stage>>,
    mapping: &Mapping,
    merged: &BTreeMap<&'static str, merge::Merged>,
    root: &Path,
) -> Result<ChosenStages> {
    if let Some(rows) = given {
        return Ok(ChosenStages {
            rows,
            origin: "--stages",
        });
    }
    if let Some(order) = &mapping.stages {
        return Ok(ChosenStages {
            rows: stages::from_order(order),
            origin: "mapping",
        });
    }
    let all_rows = |name: &str| -> Vec<&Row> {
        merged
            .get(name)
            .map(|m| m.partitions.values().flatten().collect())
            .unwrap_or_default()
    };
    let (opportunities, history) = (all_rows("opportunities"), all_rows("stage_history"));
    let inferred = stages::infer(&opportunities, &history);
    // Keep the previous order when it still names every stage (its positions may have been
    // edited by hand, and earlier exports' probabilities are not stored).
    let layout = Layout::of("stages").expect("stages is standard");
    let previous: Vec<Stage> = read_existing(root, &layout)?
        .partitions
        .values()
        .flatten()
        .filter_map(Stage::from_row)
        .collect();
    let covered = inferred
        .iter()
        .all(|s| previous.iter().any(|p| p.name == s.name));
    if !previous.is_empty() && covered {
        return Ok(ChosenStages {
            rows: previous,
            origin: "kept",
        });
    }
    Ok(ChosenStages {
        rows: inferred,
        origin: "inferred",
    })
}

fn stage_stages(
    staging: &mut Staging,
    root: &Path,
    stages: &[Stage],
    report: &mut Report,
) -> Result<()> {
    let layout = Layout::of("stages").expect("stages is standard");
    let rows: Vec<Row> = stages.iter().map(Stage::to_row).collect();
    let existing = read_existing(root, &layout)?;
    let previous: Vec<&Row> = existing.partitions.values().flatten().collect();
    if previous.len() == rows.len() && previous.iter().zip(&rows).all(|(a, b)| *a == b) {
        return Ok(());
    }
    if rows.is_empty() {
        // No stage is known: without a `stages` table the engine's default order applies.
        return Ok(());
    }
    let refs: Vec<&Row> = rows.iter().collect();
    let relative = partition_file(&layout, Path::new(""));
    layout.write_file(&refs, &staging.file(&relative)?)?;
    report.stages_written = true;
    Ok(())
}

/// Standard tables the dataset does not have yet get an empty file, so that the saved queries
/// and `check` find every table (`stages` excepted: without it the default order applies).
fn stage_empty_tables(staging: &mut Staging, root: &Path) -> Result<()> {
    for table in STANDARD_TABLES.iter().filter(|t| t.name != "stages") {
        let layout = Layout::of(table.name).expect("standard");
        let relative = partition_file(&layout, Path::new(""));
        let has_files = root.join(table.name).is_dir();
        if !has_files && !staging.is_staged(&relative) && !staging.stages_under(table.name) {
            layout.write_file(&[], &staging.file(&relative)?)?;
        }
    }
    Ok(())
}

/// Replaces `_rejects/` with this import's rejected records: one CSV per (table, file) with
/// the line, the reason and the original fields.
fn stage_rejects(staging: &mut Staging, root: &Path, rejects: &[(String, FileRows)]) -> Result<()> {
    let dir = root.join(REJECTS);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            staging.remove(&Path::new(REJECTS).join(entry.file_name()));
        }
    }
    for (table, file) in rejects {
        let name = file
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let relative = Path::new(REJECTS).join(format!("{table}--{name}"));
        let path = staging.file(&relative)?;
        write_rejects(&path, &file.header, &file.rejected)?;
    }
    Ok(())
}

fn write_rejects(path: &Path, header: &[String], rejected: &[Rejected]) -> Result<()> {
    let fail = |e: csv::Error| Error::io(path, std::io::Error::other(e));
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(fail)?;
    let mut head = vec!["_line".to_string(), "_reason".to_string()];
    head.extend(header.iter().cloned());
    writer.write_record(&head).map_err(fail)?;
    for reject in rejected {
        let mut record = vec![reject.line.to_string(), reject.reason.clone()];
        record.extend(reject.fields.iter().cloned());
        // Short records are padded so that every line has the header's columns.
        if record.len() < head.len() {
            record.resize(head.len(), String::new());
        }
        writer.write_record(&record).map_err(fail)?;
    }
    writer.flush().map_err(|e| Error::io(path, e))
}

impl Report {
    fn table(&mut self, name: &str) -> &mut TableReport {
        self.tables.entry(name.to_string()).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_patterns_match_names_case_insensitively_with_wildcards() {
        let matches =
            |pattern: &str, name: &str| matches_any(Path::new(name), &[pattern.to_string()]);
        assert!(matches("Opportunity.csv", "opportunity.CSV"));
        assert!(matches("sf_*_data.csv", "sf_task_data.csv"));
        assert!(matches(
            "*deals*.csv",
            "hubspot-crm-exports-all-deals-2024.csv"
        ));
        assert!(!matches("Opportunity.csv", "OpportunityHistory.csv"));
        assert!(!matches("sf_*_data.csv", "sf_task.csv"));
    }
}
