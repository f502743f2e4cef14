//! The data root being written: the rows earlier imports left, and staging what changes —
//! rewritten partitions, the `stages` table, empty standard tables, and `_rejects/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::catalog::standard::STANDARD_TABLES;
use crate::error::{Error, Result};
use crate::import::REJECTS;
use crate::import::mapping::Mapping;
use crate::import::merge::Merged;
use crate::import::report::Report;
use crate::import::source::{FileRows, Rejected};
use crate::import::stages::{self, Stage};
use crate::import::staging::Staging;
use crate::import::table::{Layout, Row};

/// Rows an earlier import wrote, by partition, and the files holding each partition.
pub(super) struct Existing {
    pub(super) partitions: BTreeMap<PathBuf, Vec<Row>>,
    pub(super) files: BTreeMap<PathBuf, Vec<PathBuf>>,
}

pub(super) fn read_existing(root: &Path, layout: &Layout) -> Result<Existing> {
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
pub(super) fn stage_partitions(
    staging: &mut Staging,
    layout: &Layout,
    merged: &Merged,
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
pub(super) struct ChosenStages {
    pub(super) rows: Vec<Stage>,
    pub(super) origin: &'static str,
}

pub(super) fn choose_stages(
    given: Option<Vec<Stage>>,
    mapping: &Mapping,
    merged: &BTreeMap<&'static str, Merged>,
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

pub(super) fn stage_stages(
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
pub(super) fn stage_empty_tables(staging: &mut Staging, root: &Path) -> Result<()> {
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
pub(super) fn stage_rejects(
    staging: &mut Staging,
    root: &Path,
    rejects: &[(String, FileRows)],
) -> Result<()> {
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
