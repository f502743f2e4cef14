//! The summary of an import: per table, rows read, skipped, rejected, new, updated, unchanged
//! and files written; printed to stderr and, with `--report FILE`, written as JSON.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::import::ImportKind;
use crate::import::merge::MergeCounts;

/// What one import did.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The importer (`salesforce`, `hubspot`, `csv`).
    pub importer: String,
    /// The export folder.
    pub export: String,
    /// The data root written.
    pub out: String,
    /// When the import ran (UTC, RFC 3339).
    pub imported_at: String,
    /// Per table.
    pub tables: BTreeMap<String, TableReport>,
    /// CSV files of the export that no mapping source reads.
    pub ignored_files: Vec<String>,
    /// The stages, top of the funnel first.
    pub stages: Vec<String>,
    /// Where the stage order came from: `inferred`, `kept`, `mapping`, `--stages`.
    pub stages_origin: &'static str,
    /// True when the `stages` table was (re)written.
    pub stages_written: bool,
}

/// What one import did to one table.
#[derive(Debug, Default, Serialize)]
pub struct TableReport {
    /// Records read from the export.
    pub read: u64,
    /// Records not meant for this table (deleted, or not an activity).
    pub skipped: u64,
    /// Records that could not be read (see `_rejects/`).
    pub rejected: u64,
    /// How the rows merged with the existing ones.
    #[serde(flatten)]
    pub merge: MergeCounts,
    /// Rows written to the dataset by this import: new plus updated.
    pub written: u64,
    /// History rows dropped because the stage did not change.
    pub repeated_stages: u64,
    /// Parquet files written (unchanged partitions are not rewritten).
    pub files_written: u64,
    /// The export files read.
    pub files_read: Vec<String>,
}

impl Report {
    /// An empty report.
    pub fn new(kind: ImportKind, export: &Path, out: &Path) -> Self {
        let importer = match kind {
            ImportKind::Salesforce => "salesforce",
            ImportKind::Hubspot => "hubspot",
            ImportKind::Csv => "csv",
        };
        Self {
            importer: importer.into(),
            export: export.display().to_string(),
            out: out.display().to_string(),
            imported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            tables: BTreeMap::new(),
            ignored_files: Vec::new(),
            stages: Vec::new(),
            stages_origin: "inferred",
            stages_written: false,
        }
    }

    /// Rows rejected over all tables.
    pub fn rejected(&self) -> u64 {
        self.tables.values().map(|t| t.rejected).sum()
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// What the data root's manifest records: this report.
    pub fn manifest_json(&self) -> String {
        self.to_json()
    }

    /// The human summary for stderr.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "imported {} export {} into {}\n",
            self.importer, self.export, self.out
        );
        text.push_str(&format!(
            "  {:<14} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>6}\n",
            "table", "read", "skipped", "rejected", "new", "updated", "unchanged", "files"
        ));
        for (name, table) in &self.tables {
            text.push_str(&format!(
                "  {:<14} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>6}\n",
                name,
                table.read,
                table.skipped,
                table.rejected,
                table.merge.new,
                table.merge.updated,
                table.merge.unchanged,
                table.files_written
            ));
        }
        text.push_str(&format!(
            "  stages ({}): {}\n",
            self.stages_origin,
            self.stages.join(" → ")
        ));
        if self.rejected() > 0 {
            text.push_str(&format!(
                "  {} rejected records, with their reasons, in {}\n",
                self.rejected(),
                Path::new(&self.out).join(crate::import::REJECTS).display()
            ));
        }
        if !self.ignored_files.is_empty() {
            text.push_str(&format!(
                "  not read (no mapping): {}\n",
                self.ignored_files.join(", ")
            ));
        }
        text
    }
}

/// Writes the JSON report to `path` atomically.
pub fn write_report(report: &Report, path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(path, e))?;
    file.write_all(report.to_json().as_bytes())
        .map_err(|e| Error::io(path, e))?;
    file.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
