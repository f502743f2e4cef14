//! Integration test areas.

mod catalog;
mod cli;
mod common;
mod dense_aggregation;
#[cfg(feature = "distributed")]
mod distributed;
mod file_writes;
mod formats;
mod function_properties;
mod functions;
mod generate;
mod import;
mod lowercase_comparison;
mod params;
mod repl;
mod s3;
mod saved_queries;
mod saved_query_answers;
mod spread_scans;
