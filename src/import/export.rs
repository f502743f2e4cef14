//! The export folder: its CSV files, which mapping source reads which file, and whether the
//! destination may be written.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::import::{MANIFEST, REJECTS};

/// The CSV files of the export folder, sorted by name.
pub(super) fn list_export(dir: &Path) -> Result<Vec<PathBuf>> {
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
pub(super) fn check_destination(export: &Path, out: &Path) -> Result<()> {
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
pub(super) fn matches_any(path: &Path, patterns: &[String]) -> bool {
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
