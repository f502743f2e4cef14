//! `salesql import`: runs the import on a worker thread; Ctrl-C stops it before anything is
//! committed, leaving the data root as it was.

use crate::commands::cancellable_worker;
use crate::error::Result;
use crate::import::{ImportArgs, import, write_report};

/// Imports the export the arguments name and prints the summary to stderr.
pub async fn run(args: &ImportArgs) -> Result<()> {
    let worker_args = args.clone();
    let destination = args.out.display().to_string();
    let report =
        cancellable_worker(&destination, move |cancel| import(&worker_args, cancel)).await?;
    eprint!("{}", report.describe());
    if let Some(path) = &args.report {
        write_report(&report, path)?;
    }
    Ok(())
}
