//! Merging an import into the rows already there: the newest version of each key wins (by the
//! source's modification time; a later export wins ties), unchanged rows stay as they are, and
//! only the partitions whose rows changed are marked for rewriting.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use crate::import::table::{Layout, Row};

/// Counts of one table's merge.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct MergeCounts {
    /// Keys not seen before.
    pub new: u64,
    /// Keys whose row changed.
    pub updated: u64,
    /// Keys whose row is the same as before (or older than the stored one).
    pub unchanged: u64,
    /// Rows of this import superseded by a newer row with the same key in the same import.
    pub superseded: u64,
    /// Stored rows removed because the export marks them deleted.
    pub deleted: u64,
}

/// A table after the merge: rows by partition, and which partitions changed.
#[derive(Debug, Default)]
pub struct Merged {
    /// Rows by partition folder (relative to the table's folder).
    pub partitions: BTreeMap<PathBuf, Vec<Row>>,
    /// Partitions whose content changed (including ones that are now empty).
    pub dirty: BTreeSet<PathBuf>,
    /// What happened.
    pub counts: MergeCounts,
}

/// Keeps the newest row of each key among `incoming` (ties: the later row), in first-seen order.
pub fn newest_per_key(layout: &Layout, incoming: Vec<Row>) -> (Vec<Row>, u64) {
    let mut position: HashMap<String, usize> = HashMap::new();
    let mut rows: Vec<Row> = Vec::with_capacity(incoming.len());
    let mut superseded = 0;
    for row in incoming {
        let key = layout.key_of(&row);
        match position.get(&key) {
            Some(&at) => {
                superseded += 1;
                if !is_older(&row, &rows[at]) {
                    rows[at] = row;
                }
            }
            None => {
                position.insert(key, rows.len());
                rows.push(row);
            }
        }
    }
    (rows, superseded)
}

/// Collapses a stage history so that each row is an entry into a new stage: consecutive rows
/// of one opportunity in the same stage (a Salesforce history row per amount change, a
/// history-mode snapshot per sync) keep only the first.
pub fn collapse_repeated_stages(mut rows: Vec<Row>) -> (Vec<Row>, u64) {
    rows.sort_by(|a, b| {
        (a.values[0].as_text(), a.values[2].as_time())
            .cmp(&(b.values[0].as_text(), b.values[2].as_time()))
    });
    let before = rows.len() as u64;
    rows.dedup_by(|later, earlier| {
        later.values[0] == earlier.values[0] && later.values[1] == earlier.values[1]
    });
    let removed = before - rows.len() as u64;
    (rows, removed)
}

/// Merges `incoming` (one row per key) into `existing` (rows by partition).
pub fn merge(layout: &Layout, existing: BTreeMap<PathBuf, Vec<Row>>, incoming: Vec<Row>) -> Merged {
    merge_with_deletions(layout, existing, incoming, &[])
}

/// Merges `incoming` (one row per key) into `existing`, then removes the rows whose key the
/// export marks deleted (unless the stored version is newer than the deletion).
pub fn merge_with_deletions(
    layout: &Layout,
    existing: BTreeMap<PathBuf, Vec<Row>>,
    incoming: Vec<Row>,
    deleted: &[Row],
) -> Merged {
    let mut merged = Merged {
        partitions: existing,
        ..Merged::default()
    };
    let mut located: HashMap<String, (PathBuf, usize)> = HashMap::new();
    for (partition, rows) in &merged.partitions {
        for (index, row) in rows.iter().enumerate() {
            located.insert(layout.key_of(row), (partition.clone(), index));
        }
    }
    // A table that is split by year has no rows at its top level (an empty placeholder file).
    if layout.by_year && merged.partitions.contains_key(&PathBuf::new()) && !incoming.is_empty() {
        merged.dirty.insert(PathBuf::new());
    }
    let mut removed: BTreeMap<PathBuf, BTreeSet<usize>> = BTreeMap::new();
    for row in incoming {
        let key = layout.key_of(&row);
        let partition = layout.partition_of(&row);
        match located.get(&key) {
            None => {
                merged.counts.new += 1;
                merged.dirty.insert(partition.clone());
                merged.partitions.entry(partition).or_default().push(row);
            }
            Some((at, index)) => {
                let stored = &merged.partitions[at][*index];
                if is_older(&row, stored) || same_content(&row, stored) {
                    merged.counts.unchanged += 1;
                    continue;
                }
                merged.counts.updated += 1;
                merged.dirty.insert(at.clone());
                merged.dirty.insert(partition.clone());
                if *at == partition {
                    merged.partitions.get_mut(at).expect("located")[*index] = row;
                } else {
                    removed.entry(at.clone()).or_default().insert(*index);
                    merged.partitions.entry(partition).or_default().push(row);
                }
            }
        }
    }
    remove_rows(&mut merged.partitions, removed);
    let deletions = locate(
        layout,
        &merged.partitions,
        deleted.iter().map(|row| (layout.key_of(row), row)),
        |stored, deletion| !is_older(deletion, stored),
    );
    merged.counts.deleted = deletions.values().map(|set| set.len() as u64).sum();
    merged.dirty.extend(deletions.keys().cloned());
    remove_rows(&mut merged.partitions, deletions);
    merged
}

/// Collapses repeated stages over a whole merged stage history (a delta export can repeat the
/// stage an earlier import stored); returns how many rows were removed, and keeps `counts.new`
/// to rows that stayed.
pub fn collapse_merged_stages(
    merged: &mut Merged,
    stored_before: &HashSet<String>,
    layout: &Layout,
) -> u64 {
    let mut entries: Vec<(&str, Option<i64>, &PathBuf, usize)> = Vec::new();
    for (partition, rows) in &merged.partitions {
        for (index, row) in rows.iter().enumerate() {
            if let Some(id) = row.values[0].as_text() {
                entries.push((id, row.values[2].as_time(), partition, index));
            }
        }
    }
    entries.sort();
    let mut removed: BTreeMap<PathBuf, BTreeSet<usize>> = BTreeMap::new();
    let mut new_removed = 0;
    for pair in entries.windows(2) {
        let (previous, current) = (&pair[0], &pair[1]);
        let stage =
            |e: &(&str, Option<i64>, &PathBuf, usize)| &merged.partitions[e.2][e.3].values[1];
        if previous.0 == current.0 && stage(previous) == stage(current) {
            let row = &merged.partitions[current.2][current.3];
            if !stored_before.contains(&layout.key_of(row)) {
                new_removed += 1;
            }
            removed
                .entry(current.2.clone())
                .or_default()
                .insert(current.3);
        }
    }
    let count: u64 = removed.values().map(|set| set.len() as u64).sum();
    merged.counts.new -= new_removed.min(merged.counts.new);
    merged.dirty.extend(removed.keys().cloned());
    remove_rows(&mut merged.partitions, removed);
    count
}

/// Where the rows with these keys sit, for those `keep` accepts (stored row, given row).
fn locate<'a>(
    layout: &Layout,
    partitions: &BTreeMap<PathBuf, Vec<Row>>,
    keys: impl Iterator<Item = (String, &'a Row)>,
    keep: impl Fn(&Row, &Row) -> bool,
) -> BTreeMap<PathBuf, BTreeSet<usize>> {
    let wanted: HashMap<String, &Row> = keys.collect();
    let mut found: BTreeMap<PathBuf, BTreeSet<usize>> = BTreeMap::new();
    if wanted.is_empty() {
        return found;
    }
    for (partition, rows) in partitions {
        for (index, row) in rows.iter().enumerate() {
            if let Some(given) = wanted.get(&layout.key_of(row))
                && keep(row, given)
            {
                found.entry(partition.clone()).or_default().insert(index);
            }
        }
    }
    found
}

fn remove_rows(
    partitions: &mut BTreeMap<PathBuf, Vec<Row>>,
    removed: BTreeMap<PathBuf, BTreeSet<usize>>,
) {
    for (partition, indexes) in removed {
        if let Some(rows) = partitions.get_mut(&partition) {
            let mut index = 0;
            rows.retain(|_| {
                let keep = !indexes.contains(&index);
                index += 1;
                keep
            });
        }
    }
}

/// True when `row` was modified before `stored` (rows without a time are never older).
fn is_older(row: &Row, stored: &Row) -> bool {
    matches!((row.updated, stored.updated), (Some(new), Some(old)) if new < old)
}

fn same_content(row: &Row, stored: &Row) -> bool {
    row.values == stored.values && row.updated == stored.updated
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::table::Value;

    fn activity(id: &str, year: i32, outcome: &str, updated: i64) -> Row {
        let micros = chrono::NaiveDate::from_ymd_opt(year, 6, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        let mut values = vec![Value::Null; 8];
        values[0] = Value::Text(id.into());
        values[5] = Value::Time(micros);
        values[7] = Value::Text(outcome.into());
        Row {
            values,
            updated: Some(updated),
            probability: None,
        }
    }

    #[test]
    fn the_newest_row_wins_and_only_touched_partitions_are_dirty() {
        let layout = Layout::of("activities").unwrap();
        let first = merge(
            &layout,
            BTreeMap::new(),
            vec![activity("a", 2023, "x", 1), activity("b", 2024, "x", 1)],
        );
        assert_eq!(first.counts.new, 2);
        assert_eq!(first.dirty.len(), 2);
        let second = merge(
            &layout,
            first.partitions,
            vec![
                activity("a", 2023, "x", 1), // unchanged
                activity("b", 2024, "y", 0), // older than the stored row: ignored
                activity("c", 2025, "x", 1), // new
            ],
        );
        assert_eq!(
            (
                second.counts.new,
                second.counts.updated,
                second.counts.unchanged
            ),
            (1, 0, 2)
        );
        assert_eq!(second.dirty, BTreeSet::from([PathBuf::from("year=2025")]));
        let third = merge(
            &layout,
            second.partitions,
            vec![activity("b", 2025, "z", 2)],
        );
        assert_eq!(third.counts.updated, 1);
        assert_eq!(
            third.dirty,
            BTreeSet::from([PathBuf::from("year=2024"), PathBuf::from("year=2025")])
        );
        assert!(third.partitions[&PathBuf::from("year=2024")].is_empty());
        assert_eq!(third.partitions[&PathBuf::from("year=2025")].len(), 2);
    }

    #[test]
    fn duplicates_within_an_import_keep_the_newest() {
        let layout = Layout::of("activities").unwrap();
        let (rows, superseded) = newest_per_key(
            &layout,
            vec![
                activity("a", 2023, "old", 5),
                activity("a", 2023, "new", 7),
                activity("a", 2023, "stale", 6),
            ],
        );
        assert_eq!(superseded, 2);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].values[7], Value::Text("new".into()));
    }

    #[test]
    fn repeated_stages_collapse_to_the_first_entry() {
        let entry = |stage: &str, at: i64| Row {
            values: vec![
                Value::Text("o".into()),
                Value::Text(stage.into()),
                Value::Time(at),
                Value::Null,
            ],
            updated: None,
            probability: None,
        };
        let (rows, removed) = collapse_repeated_stages(vec![
            entry("B", 3),
            entry("A", 1),
            entry("A", 2),
            entry("A", 4),
        ]);
        let stages: Vec<_> = rows
            .iter()
            .map(|r| (r.values[1].clone(), r.values[2].clone()))
            .collect();
        assert_eq!(removed, 1);
        assert_eq!(
            stages,
            [
                (Value::Text("A".into()), Value::Time(1)),
                (Value::Text("B".into()), Value::Time(3)),
                (Value::Text("A".into()), Value::Time(4)),
            ]
        );
    }
}
