//! salesql: a columnar analytical query engine for CRM sales data, on Apache DataFusion.
//!
//! Activities, opportunities, stage history, quotas and reps stored as Parquet (on local disk
//! or in an object store) are registered as DataFusion tables ([`catalog`]); sales functions
//! ([`functions`]) answer funnel, conversion, cycle-time, fiscal and open-pipeline questions;
//! results leave through [`output`]. The binary's commands live in [`commands`].

pub mod catalog;
pub mod cli;
pub mod commands;
#[cfg(feature = "distributed")]
pub mod distributed;
pub mod error;
pub mod file_writes;
pub mod functions;
pub mod generate;
pub mod import;
pub mod logical;
pub mod memory_limit;
pub mod output;
pub mod panic_guard;
pub mod parquet_layout;
pub mod physical;
pub mod queries;
pub mod repl;
pub mod session;
pub mod statements;
mod text_views;

/// Files built into the binary: the saved queries and the sample dataset.
pub mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

pub use error::{Error, Result};
pub use session::{Session, SessionSettings};
