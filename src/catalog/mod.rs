//! From a data root to DataFusion tables: where the root lives (local, object store, the
//! built-in sample), which folders are tables, their Hive partitions and schemas, the standard
//! tables of SPEC §1, and the validation that `salesql check` reports.

pub mod aws_profile;
pub mod check;
pub mod damaged_files;
pub mod partitions;
pub mod registry;
pub mod root;
pub mod schema_provider;
pub mod standard;
pub mod stores;
pub mod table_loader;

pub use root::DataRoot;
pub use schema_provider::DataRootSchema;
pub use stores::StoreOptions;
