//! Hive-style partition columns (`activities/year=2024/month=3/…`), inferred from file paths.
//!
//! As in DuckDB, a partition column whose values are all integers is typed BIGINT (so
//! `WHERE year = 2024` compares numbers and prunes files); any other is VARCHAR. Types are
//! concrete, never dictionary-encoded, so that plans behave the same on every executor.

use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::listing::ListingTableUrl;
use object_store::ObjectMeta;

use crate::catalog::table_loader::file_name;

/// The partition columns shared by every file of a table, or a message naming two files
/// that disagree.
pub fn infer_partition_columns(
    table_url: &ListingTableUrl,
    files: &[ObjectMeta],
) -> Result<Vec<(String, DataType)>, String> {
    let mut reference: Option<(&ObjectMeta, Vec<String>)> = None;
    let mut values: Vec<Vec<String>> = Vec::new();
    for file in files {
        let pairs = partition_pairs(table_url, file);
        let keys: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
        match &reference {
            None => {
                values = vec![Vec::new(); keys.len()];
                reference = Some((file, keys));
            }
            Some((first, first_keys)) if *first_keys != keys => {
                return Err(format!(
                    "files disagree on their partition folders: {} is under ({}) but {} is under ({})",
                    file_name(table_url, &first.location),
                    first_keys.join(", "),
                    file_name(table_url, &file.location),
                    keys.join(", ")
                ));
            }
            Some(_) => {}
        }
        for (slot, (_, value)) in values.iter_mut().zip(pairs) {
            slot.push(value);
        }
    }
    let Some((_, keys)) = reference else {
        return Ok(Vec::new());
    };
    Ok(keys
        .into_iter()
        .zip(values)
        .map(|(key, values)| {
            let all_integers = values.iter().all(|v| v.parse::<i64>().is_ok());
            let data_type = if all_integers {
                DataType::Int64
            } else {
                DataType::Utf8
            };
            (key, data_type)
        })
        .collect())
}

/// The `key=value` folders between the table's folder and the file, in order.
fn partition_pairs(table_url: &ListingTableUrl, file: &ObjectMeta) -> Vec<(String, String)> {
    let Some(segments) = table_url.strip_prefix(&file.location) else {
        return Vec::new();
    };
    let segments: Vec<&str> = segments.collect();
    let folders = &segments[..segments.len().saturating_sub(1)];
    folders
        .iter()
        .filter_map(|segment| segment.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::path::Path;

    fn file(path: &str) -> ObjectMeta {
        ObjectMeta {
            location: Path::from(path),
            last_modified: chrono::DateTime::UNIX_EPOCH,
            size: 1,
            e_tag: None,
            version: None,
        }
    }

    fn url() -> ListingTableUrl {
        ListingTableUrl::parse("s3://bucket/root/activities/").unwrap()
    }

    #[test]
    fn integer_values_make_bigint_columns_and_others_varchar() {
        let files = [
            file("root/activities/year=2024/region=emea/a.parquet"),
            file("root/activities/year=2025/region=amer/b.parquet"),
        ];
        let columns = infer_partition_columns(&url(), &files).unwrap();
        assert_eq!(
            columns,
            vec![
                ("year".to_string(), DataType::Int64),
                ("region".to_string(), DataType::Utf8)
            ]
        );
    }

    #[test]
    fn unpartitioned_tables_have_no_partition_columns() {
        let files = [
            file("root/activities/a.parquet"),
            file("root/activities/b.parquet"),
        ];
        assert!(infer_partition_columns(&url(), &files).unwrap().is_empty());
    }

    #[test]
    fn disagreeing_folders_name_both_files() {
        let files = [
            file("root/activities/year=2024/a.parquet"),
            file("root/activities/year=2024/month=1/b.parquet"),
        ];
        let message = infer_partition_columns(&url(), &files).unwrap_err();
        assert!(
            message.contains("s3://bucket/root/activities/year=2024/a.parquet"),
            "{message}"
        );
        assert!(
            message.contains("s3://bucket/root/activities/year=2024/month=1/b.parquet"),
            "{message}"
        );
    }
}
