//! Saved queries (SPEC §4): `.sql` files whose leading comments declare a description and
//! typed parameters, found by name in a lookup order that ends with the built-in set.

pub mod header;
pub mod library;
pub mod param;

pub use header::{Header, ParamDecl};
pub use library::{QueryLibrary, QueryOrigin, SavedQuery};
pub use param::ParamType;
