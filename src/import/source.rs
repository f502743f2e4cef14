//! Reads one CSV file of an export through one mapping source: resolves the mapping's column
//! rules against the file's header, then turns each record into a typed row, a skipped row
//! (not for this table: a deleted record, a to-do task) or a rejected row with its reason.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::catalog::standard::{ColumnKind, StandardTable};
use crate::error::{Error, Result};
use crate::import::mapping::{ColumnNames, Rule, Source, Unmapped};
use crate::import::table::{Row, Value};
use crate::import::values::{self, TimeReading};

/// A record that could not be imported, kept with its reason.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The record's line in the file (1-based, the header is line 1).
    pub line: u64,
    /// Why it was rejected, naming the column.
    pub reason: String,
    /// The record's fields as read.
    pub fields: Vec<String>,
}

/// What reading one file through one source produced.
#[derive(Debug)]
pub struct FileRows {
    /// The file read.
    pub path: PathBuf,
    /// The file's header (for the rejects file).
    pub header: Vec<String>,
    /// Records read (excluding the header).
    pub read: u64,
    /// Records that are not for this table.
    pub skipped: u64,
    /// Rows for the table.
    pub rows: Vec<Row>,
    /// Records the export marks deleted (`IsDeleted`), to remove from the dataset.
    pub deleted: Vec<Row>,
    /// Records that could not be read.
    pub rejected: Vec<Rejected>,
}

/// A column rule bound to a file's header.
#[derive(Debug)]
enum Bound {
    Constant(String),
    Column {
        index: Option<usize>,
        name: String,
        values: Option<BTreeMap<String, String>>,
        unmapped: Unmapped,
        default: Option<String>,
        prefix: Option<String>,
        only_if: Option<usize>,
        split: Option<String>,
    },
    Coalesce(Vec<Bound>),
    Flags {
        won: Option<usize>,
        closed: Option<usize>,
    },
}

/// One target column: where it sits in the row, its kind, and its rule.
#[derive(Debug)]
struct Target {
    name: String,
    slot: Slot,
    kind: ColumnKind,
    multiply: f64,
    rule: Bound,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Column(usize),
    Updated,
    Probability,
}

/// The columns of each standard table a row cannot do without.
pub fn required_columns(table: &str) -> &'static [&'static str] {
    match table {
        "reps" => &["rep_id"],
        "opportunities" => &["opportunity_id", "status"],
        "stage_history" => &["opportunity_id", "stage", "entered_at"],
        "activities" => &["activity_id", "type", "occurred_at"],
        "quotas" => &["rep_id", "period", "period_start", "amount"],
        _ => &[],
    }
}

/// Reads `path` through `source` into rows of `table`.
pub fn read_file(
    path: &Path,
    source: &Source,
    table: &StandardTable,
    time: &TimeReading,
) -> Result<FileRows> {
    let file_error = |message: String| Error::Table {
        table: table.name.to_string(),
        message: format!("{}: {message}", path.display()),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_path(path)
        .map_err(|e| file_error(e.to_string()))?;
    let mut records = reader.byte_records();
    let header: Vec<String> = match records.next() {
        Some(Ok(record)) => record
            .iter()
            .map(decode)
            .map(|f| f.trim().to_string())
            .collect(),
        Some(Err(e)) => return Err(file_error(e.to_string())),
        None => return Err(file_error("the file is empty (no header)".into())),
    };
    let header: Vec<String> = header
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            if i == 0 {
                name.trim_start_matches('\u{feff}').to_string()
            } else {
                name
            }
        })
        .collect();
    let targets = bind_targets(source, table, &header).map_err(file_error)?;
    let skip_true = indexes(&header, &source.skip_if_true);
    let skip_false = indexes(&header, &source.skip_if_false);
    let skip_empty: Vec<usize> = source
        .skip_if_empty
        .iter()
        .filter_map(|name| table.columns.iter().position(|(c, _)| c == name))
        .collect();
    let required: Vec<usize> = required_columns(table.name)
        .iter()
        .filter_map(|name| table.columns.iter().position(|(c, _)| c == name))
        .collect();

    let mut out = FileRows {
        path: path.to_path_buf(),
        header,
        read: 0,
        skipped: 0,
        rows: Vec::new(),
        deleted: Vec::new(),
        rejected: Vec::new(),
    };
    for record in records {
        let (line, fields) = match record {
            Ok(record) => (
                record.position().map_or(0, |p| p.line()),
                record
                    .iter()
                    .map(|f| decode(f).into_owned())
                    .collect::<Vec<_>>(),
            ),
            Err(e) => {
                out.read += 1;
                let line = e.position().map_or(0, |p| p.line());
                out.rejected.push(Rejected {
                    line,
                    reason: format!("unreadable record: {e}"),
                    fields: Vec::new(),
                });
                continue;
            }
        };
        if fields.len() == 1 && fields[0].trim().is_empty() {
            continue; // a blank line
        }
        out.read += 1;
        if let Some(reason) = shape_problem(&fields, out.header.len()) {
            out.rejected.push(Rejected {
                line,
                reason,
                fields,
            });
            continue;
        }
        let flag = |index: &usize, wanted: bool| matches!(values::boolean(&fields[*index]), Ok(Some(v)) if v == wanted);
        if skip_true.iter().any(|i| flag(i, true)) {
            // A deleted record: skipped, and removed from the dataset if an earlier import
            // stored it.
            out.skipped += 1;
            if let Ok(row) = build_row(&targets, &fields, table, time) {
                out.deleted.push(row);
            }
            continue;
        }
        if skip_false.iter().any(|i| flag(i, false)) {
            out.skipped += 1;
            continue;
        }
        match build_row(&targets, &fields, table, time) {
            Err(reason) => out.rejected.push(Rejected {
                line,
                reason,
                fields,
            }),
            Ok(row) if skip_empty.iter().any(|i| row.values[*i] == Value::Null) => {
                out.skipped += 1;
            }
            Ok(row) => match required.iter().find(|i| row.values[**i] == Value::Null) {
                Some(i) => {
                    let name = table.columns[*i].0;
                    let reason = format!("{name} is empty{}", describe_source(&targets, name));
                    out.rejected.push(Rejected {
                        line,
                        reason,
                        fields,
                    });
                }
                None => out.rows.push(row),
            },
        }
    }
    Ok(out)
}

/// Decodes a field as UTF-8, or as Windows-1252 (spreadsheet exports) when it is not.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(bytes.iter().map(|b| windows_1252(*b)).collect()),
    }
}

/// One Windows-1252 byte as a character: Latin-1 except 0x80–0x9F (€, smart quotes, …).
fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// A record with more fields than the header (unless the extras are empty) or fewer.
fn shape_problem(fields: &[String], columns: usize) -> Option<String> {
    let extra_is_empty = fields.iter().skip(columns).all(|f| f.trim().is_empty());
    (fields.len() < columns || !extra_is_empty).then(|| {
        format!(
            "the record has {} fields, the header has {columns}",
            fields.len()
        )
    })
}

fn indexes(header: &[String], names: &[String]) -> Vec<usize> {
    names
        .iter()
        .filter_map(|name| find_column(header, name))
        .collect()
}

/// A header column by name: exact first, then ignoring case.
fn find_column(header: &[String], name: &str) -> Option<usize> {
    header
        .iter()
        .position(|h| h == name)
        .or_else(|| header.iter().position(|h| h.eq_ignore_ascii_case(name)))
}

fn first_present(header: &[String], names: &ColumnNames) -> (Option<usize>, String) {
    let names = names.names();
    names
        .iter()
        .find_map(|name| find_column(header, name).map(|i| (Some(i), header[i].clone())))
        .unwrap_or_else(|| (None, names.join(" or ")))
}

fn bind_targets(
    source: &Source,
    table: &StandardTable,
    header: &[String],
) -> std::result::Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    for (name, rule) in &source.columns {
        let (slot, kind) = match name.as_str() {
            "_updated" => (Slot::Updated, ColumnKind::Timestamp),
            "_probability" => (Slot::Probability, ColumnKind::Amount),
            _ => {
                let index = table
                    .columns
                    .iter()
                    .position(|(c, _)| c == name)
                    .ok_or_else(|| format!("`{name}` is not a column of {}", table.name))?;
                (Slot::Column(index), table.columns[index].1)
            }
        };
        let multiply = match rule {
            Rule::Spec(spec) => spec.multiply.unwrap_or(1.0),
            Rule::Column(_) => 1.0,
        };
        targets.push(Target {
            name: name.clone(),
            slot,
            kind,
            multiply,
            rule: bind(rule, header),
        });
    }
    for required in required_columns(table.name) {
        let target = targets.iter().find(|t| t.name == *required);
        match target {
            None => return Err(format!("the mapping gives no rule for {required}")),
            Some(target) if !can_have_value(&target.rule) => {
                return Err(format!(
                    "no column for {required}: the file has none of {} (its columns: {})",
                    describe_rule(&target.rule),
                    header.join(", ")
                ));
            }
            Some(_) => {}
        }
    }
    Ok(targets)
}

fn bind(rule: &Rule, header: &[String]) -> Bound {
    match rule {
        Rule::Column(names) => {
            let (index, name) = first_present(header, names);
            Bound::Column {
                index,
                name,
                values: None,
                unmapped: Unmapped::Keep,
                default: None,
                prefix: None,
                only_if: None,
                split: None,
            }
        }
        Rule::Spec(spec) => {
            if let Some(value) = &spec.value {
                return Bound::Constant(value.clone());
            }
            if let Some(rules) = &spec.coalesce {
                return Bound::Coalesce(rules.iter().map(|r| bind(r, header)).collect());
            }
            if let (Some(won), Some(closed)) = (&spec.won, &spec.closed) {
                return Bound::Flags {
                    won: first_present(header, won).0,
                    closed: first_present(header, closed).0,
                };
            }
            let (index, name) = spec
                .column
                .as_ref()
                .map_or((None, String::new()), |names| first_present(header, names));
            Bound::Column {
                index,
                name,
                values: spec.values.as_ref().map(|map| {
                    map.iter()
                        .map(|(k, v)| (k.trim().to_lowercase(), v.clone()))
                        .collect()
                }),
                unmapped: spec.unmapped.unwrap_or(Unmapped::Keep),
                default: spec.default.clone(),
                prefix: spec.prefix.clone(),
                only_if: spec
                    .only_if_true
                    .as_ref()
                    .and_then(|names| first_present(header, names).0),
                split: spec.split.clone(),
            }
        }
    }
}

fn can_have_value(rule: &Bound) -> bool {
    match rule {
        Bound::Constant(_) => true,
        Bound::Column { index, .. } => index.is_some(),
        Bound::Coalesce(rules) => rules.iter().any(can_have_value),
        Bound::Flags { won, closed } => won.is_some() || closed.is_some(),
    }
}

fn describe_rule(rule: &Bound) -> String {
    match rule {
        Bound::Constant(value) => format!("'{value}'"),
        Bound::Column { name, .. } => name.clone(),
        Bound::Coalesce(rules) => rules
            .iter()
            .map(describe_rule)
            .collect::<Vec<_>>()
            .join(", "),
        Bound::Flags { .. } => "the won/closed flags".into(),
    }
}

fn describe_source(targets: &[Target], name: &str) -> String {
    targets
        .iter()
        .find(|t| t.name == name)
        .map(|t| format!(" (from {})", describe_rule(&t.rule)))
        .unwrap_or_default()
}

/// The text a rule gives for one record; `Err` rejects the record.
fn evaluate<'a>(
    rule: &'a Bound,
    fields: &'a [String],
) -> std::result::Result<Option<Cow<'a, str>>, String> {
    match rule {
        Bound::Constant(value) => Ok(Some(Cow::Borrowed(value))),
        Bound::Coalesce(rules) => {
            for rule in rules {
                if let Some(text) = evaluate(rule, fields)? {
                    return Ok(Some(text));
                }
            }
            Ok(None)
        }
        Bound::Flags { won, closed } => {
            let read = |index: &Option<usize>, name: &str| match index {
                Some(i) => values::boolean(&fields[*i]).map_err(|e| format!("{name}: {e}")),
                None => Ok(None),
            };
            let status = match (read(won, "won flag")?, read(closed, "closed flag")?) {
                (Some(true), _) => Some("won"),
                (_, Some(true)) => Some("lost"),
                (_, Some(false)) => Some("open"),
                _ => None,
            };
            Ok(status.map(Cow::Borrowed))
        }
        Bound::Column {
            index,
            name,
            values,
            unmapped,
            default,
            prefix,
            only_if,
            split,
        } => {
            let Some(index) = index else { return Ok(None) };
            if let Some(flag) = only_if
                && !matches!(values::boolean(&fields[*flag]), Ok(Some(true)))
            {
                return Ok(None);
            }
            let mut text = fields[*index].trim();
            if let Some(separator) = split {
                text = text.split(separator.as_str()).next().unwrap_or("").trim();
            }
            if text.is_empty() {
                return Ok(None);
            }
            if let Some(prefix) = prefix
                && !text.starts_with(prefix.as_str())
            {
                return Ok(None);
            }
            let Some(map) = values else {
                return Ok(Some(Cow::Borrowed(text)));
            };
            if let Some(mapped) = map.get(&text.to_lowercase()) {
                return Ok((!mapped.is_empty()).then_some(Cow::Borrowed(mapped.as_str())));
            }
            if let Some(default) = default {
                return Ok(Some(Cow::Borrowed(default.as_str())));
            }
            match unmapped {
                Unmapped::Keep => Ok(Some(Cow::Borrowed(text))),
                Unmapped::Null => Ok(None),
                Unmapped::Reject => Err(format!(
                    "{name}: '{text}' is not one of the mapped values ({})",
                    map.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
            }
        }
    }
}

fn build_row(
    targets: &[Target],
    fields: &[String],
    table: &StandardTable,
    time: &TimeReading,
) -> std::result::Result<Row, String> {
    let mut row = Row {
        values: vec![Value::Null; table.columns.len()],
        updated: None,
        probability: None,
    };
    for target in targets {
        let text = evaluate(&target.rule, fields).map_err(|e| format!("{}: {e}", target.name))?;
        let Some(text) = text else { continue };
        let describe = |e: String| {
            format!(
                "{} (from {}): {e}",
                target.name,
                describe_rule(&target.rule)
            )
        };
        let value = match target.kind {
            ColumnKind::Id | ColumnKind::Text => Value::Text(text.into_owned()),
            ColumnKind::Timestamp => time
                .timestamp(&text)
                .map_err(describe)?
                .map_or(Value::Null, Value::Time),
            ColumnKind::Date => time
                .date(&text)
                .map_err(describe)?
                .map_or(Value::Null, Value::Day),
            ColumnKind::Integer => values::integer(&text, target.multiply)
                .map_err(describe)?
                .map_or(Value::Null, Value::Int),
            ColumnKind::Amount if matches!(target.slot, Slot::Probability) => {
                values::decimal(&text)
                    .map_err(describe)?
                    .map_or(Value::Null, Value::Number)
            }
            ColumnKind::Amount => values::amount_cents(&text)
                .map_err(describe)?
                .map_or(Value::Null, Value::Cents),
        };
        match target.slot {
            Slot::Column(index) => row.values[index] = value,
            Slot::Updated => row.updated = value.as_time(),
            Slot::Probability => row.probability = value.as_number(),
        }
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_that_are_not_utf8_are_read_as_windows_1252() {
        assert_eq!(decode(b"\x801,200 \x93ok\x94"), "€1,200 “ok”");
        assert_eq!(decode(b"Caf\xe9"), "Café");
        assert_eq!(decode("Café".as_bytes()), "Café");
    }
}
