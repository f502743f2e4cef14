//! The interactive SQL REPL.

use crate::cli::Settings;
use crate::error::Result;

/// Runs the REPL until the user quits.
pub async fn run(_settings: Settings) -> Result<()> {
    Ok(())
}
