//! Mapping files: how the CSV files of an export become the standard tables. The Salesforce
//! and HubSpot importers are mappings built into the binary (`data/mappings/`); `import csv`
//! reads one the user wrote. The format is documented in `data/mappings/README.md`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::catalog::standard::STANDARD_TABLES;
use crate::error::{Error, Result};

/// A whole mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// What export this mapping reads.
    #[serde(default)]
    pub description: Option<String>,
    /// strftime layouts tried before the built-in ones (`%d/%m/%Y` for European dates).
    #[serde(default)]
    pub date_formats: Vec<String>,
    /// IANA zone of timestamps that carry none (default UTC).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// One entry per (file, table) pair; several may feed one table.
    #[serde(default, rename = "source")]
    pub sources: Vec<Source>,
    /// The stage order, when the export does not let it be inferred.
    #[serde(default)]
    pub stages: Option<StageOrder>,
}

/// One CSV file feeding one table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The standard table fed.
    pub table: String,
    /// File names that may hold this source (case-insensitive; `*` matches any run of
    /// characters); every matching file in the export folder is read.
    pub files: Vec<String>,
    /// Target column → how to get its value. Columns starting with `_` are helpers:
    /// `_updated` (newest row wins), `_probability` (orders stages).
    pub columns: BTreeMap<String, Rule>,
    /// Source columns that, when true, mean the row is skipped (`IsDeleted`).
    #[serde(default)]
    pub skip_if_true: Vec<String>,
    /// Source columns that, when false, mean the row is skipped (`_fivetran_active`).
    #[serde(default)]
    pub skip_if_false: Vec<String>,
    /// Target columns that, when empty, mean the row is not for this table (a to-do task is
    /// not an activity): skipped and counted, not rejected.
    #[serde(default)]
    pub skip_if_empty: Vec<String>,
}

/// How one target column gets its value.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Rule {
    /// The first of these source columns that the file has.
    Column(ColumnNames),
    /// A fuller description.
    Spec(Box<RuleSpec>),
}

/// One source column name, or alternatives (the first present in the file is used).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ColumnNames {
    /// One name.
    One(String),
    /// Alternatives, in order of preference.
    Many(Vec<String>),
}

impl ColumnNames {
    /// The names, in order of preference.
    pub fn names(&self) -> Vec<&str> {
        match self {
            ColumnNames::One(name) => vec![name.as_str()],
            ColumnNames::Many(names) => names.iter().map(String::as_str).collect(),
        }
    }
}

/// A rule with options; exactly one of `column`, `value`, `coalesce` or `won`/`closed`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Read this source column (or the first present of several).
    #[serde(default)]
    pub column: Option<ColumnNames>,
    /// A constant.
    #[serde(default)]
    pub value: Option<String>,
    /// The first rule giving a non-empty value.
    #[serde(default)]
    pub coalesce: Option<Vec<Rule>>,
    /// A status from two boolean columns: won → `won`, else closed → `lost`, else `open`.
    #[serde(default)]
    pub won: Option<ColumnNames>,
    /// See `won`.
    #[serde(default)]
    pub closed: Option<ColumnNames>,
    /// Value map (keys compared case-insensitively, after trimming).
    #[serde(default)]
    pub values: Option<BTreeMap<String, String>>,
    /// What an unmapped value becomes when `values` is given: `keep` (default), `null`,
    /// `reject`; or use `default` for a constant.
    #[serde(default)]
    pub unmapped: Option<Unmapped>,
    /// The value of an unmapped, non-empty source value.
    #[serde(default)]
    pub default: Option<String>,
    /// Keep only values starting with this (Salesforce `WhatId` prefix `006` = opportunity).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Keep the text before the first occurrence of this separator (`;` in HubSpot's
    /// multi-valued association columns).
    #[serde(default)]
    pub split: Option<String>,
    /// Keep the value only when this boolean source column is true (`CloseDate` of a closed
    /// opportunity); when the file lacks the column, the value is kept.
    #[serde(default)]
    pub only_if_true: Option<ColumnNames>,
    /// Multiply numbers by this (minutes → seconds: 60).
    #[serde(default)]
    pub multiply: Option<f64>,
}

/// What an unmapped value becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmapped {
    /// The value itself.
    Keep,
    /// NULL.
    Null,
    /// The row is rejected.
    Reject,
}

/// An explicit stage order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageOrder {
    /// Open stages and won stages, top of the funnel first.
    pub order: Vec<String>,
    /// Stages that mean won.
    #[serde(default)]
    pub won: Vec<String>,
    /// Stages that mean lost (no position).
    #[serde(default)]
    pub lost: Vec<String>,
}

/// The built-in mappings, by importer name.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "salesforce",
        include_str!("../../data/mappings/salesforce.toml"),
    ),
    ("hubspot", include_str!("../../data/mappings/hubspot.toml")),
];

/// Helper columns a source may fill besides the table's own.
pub const HELPER_COLUMNS: &[&str] = &["_updated", "_probability"];

impl Mapping {
    /// Parses and validates mapping text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let mapping: Mapping = toml::from_str(text)
            .map_err(|e| Error::Usage(format!("mapping {origin}: {}", e.to_string().trim())))?;
        mapping.validate(origin)?;
        Ok(mapping)
    }

    /// Reads a mapping file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The built-in mapping of an importer.
    pub fn built_in(name: &str) -> Result<Self> {
        let (_, text) = BUILT_IN
            .iter()
            .find(|(known, _)| *known == name)
            .ok_or_else(|| Error::Usage(format!("no built-in mapping `{name}`")))?;
        Self::parse(text, &format!("built-in `{name}`"))
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let fail = |message: String| Err(Error::Usage(format!("mapping {origin}: {message}")));
        if let Some(zone) = &self.time_zone
            && zone.parse::<chrono_tz::Tz>().is_err()
        {
            return fail(format!("time_zone `{zone}` is not an IANA time zone"));
        }
        for (index, source) in self.sources.iter().enumerate() {
            let Some(table) = STANDARD_TABLES
                .iter()
                .find(|t| t.name == source.table && t.name != "stages")
            else {
                return fail(format!(
                    "source {}: table `{}` is not one of reps, opportunities, stage_history, activities, quotas",
                    index + 1,
                    source.table
                ));
            };
            for column in source.columns.keys() {
                let known = table.columns.iter().any(|(name, _)| name == column)
                    || HELPER_COLUMNS.contains(&column.as_str());
                if !known {
                    let columns: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
                    return fail(format!(
                        "source {} ({}): `{column}` is not a column of {} ({}; helpers {})",
                        index + 1,
                        source.table,
                        source.table,
                        columns.join(", "),
                        HELPER_COLUMNS.join(", ")
                    ));
                }
            }
            for rule in source.columns.values() {
                rule.validate()
                    .or_else(|message| fail(format!("source {}: {message}", index + 1)))?;
            }
            if source.files.is_empty() {
                return fail(format!("source {}: `files` is empty", index + 1));
            }
        }
        Ok(())
    }
}

impl Rule {
    fn validate(&self) -> std::result::Result<(), String> {
        let Rule::Spec(spec) = self else {
            return Ok(());
        };
        let kinds = [
            spec.column.is_some(),
            spec.value.is_some(),
            spec.coalesce.is_some(),
            spec.won.is_some() || spec.closed.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(
                "a column rule needs exactly one of `column`, `value`, `coalesce`, `won`/`closed`"
                    .into(),
            );
        }
        if spec.won.is_some() != spec.closed.is_some() {
            return Err("`won` and `closed` go together".into());
        }
        if let Some(rules) = &spec.coalesce {
            rules.iter().try_for_each(Rule::validate)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_mappings_parse() {
        for (name, _) in BUILT_IN {
            Mapping::built_in(name).unwrap();
        }
    }

    #[test]
    fn errors_name_the_mapping_and_the_column() {
        let text = r#"
            [[source]]
            table = "opportunities"
            files = ["deals.csv"]
            columns = { opportunity_id = "id", colour = "c" }
        "#;
        let message = Mapping::parse(text, "m.toml").unwrap_err().to_string();
        assert!(
            message.contains("m.toml") && message.contains("`colour`"),
            "{message}"
        );
        let text = r#"
            [[source]]
            table = "deals"
            files = ["deals.csv"]
            columns = {}
        "#;
        let message = Mapping::parse(text, "m.toml").unwrap_err().to_string();
        assert!(message.contains("`deals`"), "{message}");
        let message = Mapping::parse("time_zone = \"Mars/Olympus\"", "m.toml")
            .unwrap_err()
            .to_string();
        assert!(message.contains("Mars/Olympus"), "{message}");
    }
}
