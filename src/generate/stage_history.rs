//! The `stage_history` table: one row each time an opportunity enters a stage.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::generate::model::STAGES;
use crate::generate::timestamp_type;

/// One stage entry. `opportunity_id` holds a month-local index until ids are assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    /// The opportunity.
    pub opportunity_id: i64,
    /// Index of the stage entered.
    pub stage: u8,
    /// When (µs).
    pub entered_at: i64,
    /// The owner at that time.
    pub owner_id: i64,
}

/// The table's schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("opportunity_id", DataType::Int64, false),
        Field::new("stage", DataType::Utf8, false),
        Field::new("entered_at", timestamp_type(), false),
        Field::new("owner_id", DataType::Int64, false),
    ]))
}

/// The rows as a batch.
pub fn batch(rows: &[StageRow]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.opportunity_id),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| STAGES[r.stage as usize]),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.entered_at))
                .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.owner_id),
        )),
    ];
    RecordBatch::try_new(schema(), columns).expect("columns match the schema")
}
