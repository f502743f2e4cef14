//! Integration test areas.

mod catalog;
mod cli;
mod common;
mod formats;
mod generate;
mod params;
mod saved_queries;
