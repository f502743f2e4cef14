//! The standard tables of SPEC §1: their columns, the types each column accepts, and the
//! default `stages` table registered when a data root has none.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::view::ViewTable;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{LogicalPlanBuilder, col, lit};

/// What a standard column may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// An identifier: any integer or string type.
    Id,
    /// Text.
    Text,
    /// A timestamp of any unit, with or without a time zone.
    Timestamp,
    /// A calendar date (a timestamp is accepted too).
    Date,
    /// An integer.
    Integer,
    /// A money amount: decimal, float or integer.
    Amount,
}

impl ColumnKind {
    /// True when a column of type `data_type` can serve as this kind.
    pub fn accepts(self, data_type: &DataType) -> bool {
        let data_type = match data_type {
            DataType::Dictionary(_, value) => value.as_ref(),
            other => other,
        };
        let is_text = matches!(
            data_type,
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
        );
        match self {
            ColumnKind::Id => is_text || data_type.is_integer(),
            ColumnKind::Text => is_text,
            ColumnKind::Timestamp => matches!(data_type, DataType::Timestamp(_, _)),
            ColumnKind::Date => {
                matches!(
                    data_type,
                    DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
                )
            }
            ColumnKind::Integer => data_type.is_integer(),
            ColumnKind::Amount => {
                data_type.is_integer()
                    || data_type.is_floating()
                    || matches!(
                        data_type,
                        DataType::Decimal128(_, _) | DataType::Decimal256(_, _)
                    )
            }
        }
    }

    /// A short description for messages: "an id (integer or string)".
    pub fn describe(self) -> &'static str {
        match self {
            ColumnKind::Id => "an id (integer or string)",
            ColumnKind::Text => "text",
            ColumnKind::Timestamp => "a timestamp",
            ColumnKind::Date => "a date",
            ColumnKind::Integer => "an integer",
            ColumnKind::Amount => "an amount (decimal, float or integer)",
        }
    }

    /// The type this kind gets in an empty standard table.
    fn canonical_type(self) -> DataType {
        match self {
            ColumnKind::Id | ColumnKind::Text => DataType::Utf8,
            ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnKind::Date => DataType::Date32,
            ColumnKind::Integer => DataType::Int32,
            ColumnKind::Amount => DataType::Decimal128(18, 2),
        }
    }
}

/// A standard table: its name and columns.
#[derive(Debug)]
pub struct StandardTable {
    /// The table's (folder's) name.
    pub name: &'static str,
    /// Its columns, in the order of SPEC §1.
    pub columns: &'static [(&'static str, ColumnKind)],
}

impl StandardTable {
    /// The schema an empty instance of this table gets.
    pub fn canonical_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(name, kind)| Field::new(*name, kind.canonical_type(), true))
            .collect();
        Arc::new(Schema::new(fields))
    }
}

use ColumnKind as K;

/// The standard tables of SPEC §1.
pub static STANDARD_TABLES: &[StandardTable] = &[
    StandardTable {
        name: "reps",
        columns: &[
            ("rep_id", K::Id),
            ("name", K::Text),
            ("team", K::Text),
            ("region", K::Text),
            ("manager_id", K::Id),
            ("hired_at", K::Timestamp),
        ],
    },
    StandardTable {
        name: "opportunities",
        columns: &[
            ("opportunity_id", K::Id),
            ("account_id", K::Id),
            ("owner_id", K::Id),
            ("created_at", K::Timestamp),
            ("closed_at", K::Timestamp),
            ("status", K::Text),
            ("stage", K::Text),
            ("amount", K::Amount),
            ("source", K::Text),
            ("segment", K::Text),
        ],
    },
    StandardTable {
        name: "stage_history",
        columns: &[
            ("opportunity_id", K::Id),
            ("stage", K::Text),
            ("entered_at", K::Timestamp),
            ("owner_id", K::Id),
        ],
    },
    StandardTable {
        name: "activities",
        columns: &[
            ("activity_id", K::Id),
            ("rep_id", K::Id),
            ("opportunity_id", K::Id),
            ("account_id", K::Id),
            ("type", K::Text),
            ("occurred_at", K::Timestamp),
            ("duration_s", K::Integer),
            ("outcome", K::Text),
        ],
    },
    StandardTable {
        name: "quotas",
        columns: &[
            ("rep_id", K::Id),
            ("period", K::Text),
            ("period_start", K::Date),
            ("period_end", K::Date),
            ("amount", K::Amount),
        ],
    },
    StandardTable {
        name: "stages",
        columns: &[
            ("stage", K::Text),
            ("position", K::Integer),
            ("kind", K::Text),
        ],
    },
];

/// The standard table called `name`, if it is one.
pub fn standard_table(name: &str) -> Option<&'static StandardTable> {
    STANDARD_TABLES.iter().find(|t| t.name == name)
}

/// The default stage order of SPEC §1, used when the data root has no `stages` folder.
pub const DEFAULT_STAGES: &[(&str, Option<i32>, &str)] = &[
    ("prospecting", Some(1), "open"),
    ("qualification", Some(2), "open"),
    ("discovery", Some(3), "open"),
    ("proposal", Some(4), "open"),
    ("negotiation", Some(5), "open"),
    ("closed_won", Some(6), "won"),
    ("closed_lost", None, "lost"),
];

/// The default `stages` table as one record batch.
pub fn default_stages_batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("stage", DataType::Utf8, false),
        Field::new("position", DataType::Int32, true),
        Field::new("kind", DataType::Utf8, false),
    ]));
    let stage: ArrayRef = Arc::new(StringArray::from_iter_values(
        DEFAULT_STAGES.iter().map(|s| s.0),
    ));
    let position: ArrayRef = Arc::new(Int32Array::from_iter(DEFAULT_STAGES.iter().map(|s| s.1)));
    let kind: ArrayRef = Arc::new(StringArray::from_iter_values(
        DEFAULT_STAGES.iter().map(|s| s.2),
    ));
    RecordBatch::try_new(schema, vec![stage, position, kind]).expect("columns match the schema")
}

/// The default `stages` table as a view over `VALUES`: a plan that serializes, so it reaches a
/// Ballista cluster like any other table (an in-memory table would not).
pub fn default_stages_view() -> datafusion::common::Result<ViewTable> {
    let rows = DEFAULT_STAGES
        .iter()
        .map(|(stage, position, kind)| {
            vec![
                lit(ScalarValue::Utf8(Some((*stage).to_string()))),
                lit(ScalarValue::Int32(*position)),
                lit(ScalarValue::Utf8(Some((*kind).to_string()))),
            ]
        })
        .collect();
    // VALUES names its columns column1, column2, …; the projection gives them their names.
    let names = default_stages_batch().schema();
    let columns = names
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| col(format!("column{}", i + 1)).alias(field.name()));
    let plan = LogicalPlanBuilder::values(rows)?
        .project(columns)?
        .build()?;
    Ok(ViewTable::new(plan, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_stages_view_has_the_table_schema() {
        use datafusion::catalog::TableProvider;
        let view = default_stages_view().unwrap();
        let batch = default_stages_batch();
        let names: Vec<_> = view
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["stage", "position", "kind"]);
        for (field, expected) in view.schema().fields().iter().zip(batch.schema().fields()) {
            assert_eq!(field.data_type(), expected.data_type(), "{}", field.name());
        }
    }
    use ColumnKind::{Id, Timestamp};

    #[test]
    fn ids_accept_integers_and_strings_but_not_floats() {
        assert!(Id.accepts(&DataType::Int64));
        assert!(Id.accepts(&DataType::Utf8View));
        assert!(Id.accepts(&DataType::Dictionary(
            Box::new(DataType::Int32),
            Box::new(DataType::Utf8)
        )));
        assert!(!Id.accepts(&DataType::Float64));
    }

    #[test]
    fn timestamps_of_every_unit_and_zone_are_accepted() {
        for unit in [
            TimeUnit::Second,
            TimeUnit::Millisecond,
            TimeUnit::Microsecond,
            TimeUnit::Nanosecond,
        ] {
            assert!(Timestamp.accepts(&DataType::Timestamp(unit, None)));
            assert!(Timestamp.accepts(&DataType::Timestamp(unit, Some("Europe/Paris".into()))));
        }
        assert!(!Timestamp.accepts(&DataType::Date32));
    }

    #[test]
    fn default_stages_follow_the_spec() {
        let batch = default_stages_batch();
        assert_eq!(batch.num_rows(), 7);
        assert_eq!(batch.schema().field(0).name(), "stage");
    }
}
