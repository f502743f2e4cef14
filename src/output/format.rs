//! The result formats of SPEC §2 and how one is chosen.

use std::path::Path;

/// A result format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A width-aware table for people (the default on a terminal).
    Table,
    /// Comma-separated values with a header (the default otherwise).
    Csv,
    /// Tab-separated values with a header.
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A GitHub-flavoured Markdown table.
    Markdown,
    /// An Arrow IPC stream (binary).
    Arrow,
    /// A Parquet file (binary).
    Parquet,
}

impl Format {
    /// True for formats that must never be written to a terminal.
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Arrow | Format::Parquet)
    }

    /// The format an output file's extension asks for (`out.parquet` → Parquet).
    pub fn from_extension(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "csv" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "json" => Format::Json,
            "ndjson" | "jsonl" => Format::Ndjson,
            "md" | "markdown" => Format::Markdown,
            "arrow" | "arrows" | "ipc" => Format::Arrow,
            "parquet" => Format::Parquet,
            "txt" => Format::Table,
            _ => return None,
        })
    }

    /// The format used when none is asked for: an output file's extension, else `table` on a
    /// terminal and `csv` otherwise.
    pub fn default_for(output: Option<&Path>, stdout_is_terminal: bool) -> Self {
        match output {
            Some(path) => Self::from_extension(path).unwrap_or(Format::Csv),
            None if stdout_is_terminal => Format::Table,
            None => Format::Csv,
        }
    }

    /// The format's name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Markdown => "markdown",
            Format::Arrow => "arrow",
            Format::Parquet => "parquet",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_follows_the_file_extension_then_the_terminal() {
        assert_eq!(
            Format::default_for(Some(Path::new("a.PARQUET")), true),
            Format::Parquet
        );
        assert_eq!(
            Format::default_for(Some(Path::new("a.unknown")), true),
            Format::Csv
        );
        assert_eq!(Format::default_for(None, true), Format::Table);
        assert_eq!(Format::default_for(None, false), Format::Csv);
    }
}
