//! The `reps` table.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::generate::model::Rep;
use crate::generate::timestamp_type;

/// The table's schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("rep_id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("team", DataType::Utf8, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("manager_id", DataType::Int64, true),
        Field::new("hired_at", timestamp_type(), false),
    ]))
}

/// The reps as a batch, sorted by hire time.
pub fn batch(reps: &[Rep]) -> RecordBatch {
    let mut sorted: Vec<&Rep> = reps.iter().collect();
    sorted.sort_by_key(|r| (r.hired_at, r.id));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(sorted.iter().map(|r| r.id))),
        Arc::new(StringArray::from_iter_values(
            sorted.iter().map(|r| r.name.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            sorted.iter().map(|r| r.team.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            sorted.iter().map(|r| r.region),
        )),
        Arc::new(Int64Array::from_iter(sorted.iter().map(|r| r.manager_id))),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(sorted.iter().map(|r| r.hired_at))
                .with_timezone("UTC"),
        ),
    ];
    RecordBatch::try_new(schema(), columns).expect("columns match the schema")
}
