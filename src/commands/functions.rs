//! `salesql functions`: the sales functions with their documentation.

use crate::cli::Settings;
use crate::error::Result;

/// Lists the sales functions.
pub async fn list(_settings: &Settings) -> Result<()> {
    Ok(())
}
