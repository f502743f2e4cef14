//! `salesql queries`: the saved queries visible from here, with their parameters.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::cli::Settings;
use crate::commands::{open_output, write_batch};
use crate::error::Result;
use crate::queries::SavedQuery;

/// Lists the saved queries: name, description, parameters, origin.
pub async fn list(settings: &Settings) -> Result<()> {
    let queries = settings.queries.list();
    let mut output = open_output(settings, None)?;
    write_batch(&mut output, queries_batch(&queries)).await?;
    output.commit()
}

/// The saved queries as one result set (also the REPL's `\\dq`).
pub fn queries_batch(queries: &[SavedQuery]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, true),
        Field::new("parameters", DataType::Utf8, false),
        Field::new("origin", DataType::Utf8, false),
    ]));
    let params = |q: &SavedQuery| -> String {
        q.params()
            .iter()
            .map(|p| match &p.default {
                Some(default) => format!("{} {} = {default}", p.name, p.param_type.sql_name()),
                None => format!("{} {} (required)", p.name, p.param_type.sql_name()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            queries.iter().map(|q| q.name.as_str()),
        )),
        Arc::new(StringArray::from_iter(
            queries.iter().map(|q| q.header.description.as_deref()),
        )),
        Arc::new(StringArray::from_iter_values(queries.iter().map(params))),
        Arc::new(StringArray::from_iter_values(
            queries.iter().map(|q| q.origin.to_string()),
        )),
    ];
    RecordBatch::try_new(schema, columns).expect("columns match the schema")
}
