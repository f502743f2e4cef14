//! `salesql functions`: the sales functions with their documentation.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::cli::Settings;
use crate::commands::{open_output, write_batch};
use crate::error::Result;
use crate::functions::{FunctionInfo, catalog};

/// Lists the sales functions: name, kind, syntax, description, arguments, example.
pub async fn list(settings: &Settings) -> Result<()> {
    let mut output = open_output(settings, None)?;
    write_batch(&mut output, functions_batch(&catalog())).await?;
    output.commit()
}

/// The functions as one result set.
pub fn functions_batch(functions: &[FunctionInfo]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("syntax", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, false),
        Field::new("arguments", DataType::Utf8, false),
        Field::new("example", DataType::Utf8, false),
    ]));
    let column = |f: &dyn Fn(&FunctionInfo) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(functions.iter().map(f)))
    };
    let columns = vec![
        column(&|f| f.name.clone()),
        column(&|f| f.kind.to_string()),
        column(&|f| f.documentation.syntax_example.clone()),
        column(&|f| f.documentation.description.clone()),
        column(&|f| {
            f.documentation
                .arguments
                .iter()
                .flatten()
                .map(|(name, text)| format!("{name}: {text}"))
                .collect::<Vec<_>>()
                .join("; ")
        }),
        column(&|f| {
            f.documentation
                .sql_example
                .clone()
                .unwrap_or_default()
                .trim_start_matches("```sql\n")
                .trim_end_matches("\n```")
                .to_string()
        }),
    ];
    RecordBatch::try_new(schema, columns).expect("columns match the schema")
}
