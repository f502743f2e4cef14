//! `salesql check`: validates the data root; exit code 1 when anything is wrong.

use crate::catalog::check::{check_root, reports_batch};
use crate::cli::Settings;
use crate::commands::{open_output, write_batch};
use crate::error::{Error, Result};
use crate::session::Session;

/// Reports every table (decoding every file when `deep`) and fails when a problem was found.
pub async fn run(settings: &Settings, deep: bool) -> Result<()> {
    let session = Session::open(&settings.session).await?;
    let reports = check_root(&session, deep).await;
    let mut output = open_output(settings, Some(&session))?;
    write_batch(&mut output, reports_batch(&reports)).await?;
    output.commit()?;
    let problems: Vec<String> = reports
        .iter()
        .flat_map(|r| r.problems.iter().map(move |p| format!("{}: {p}", r.name)))
        .collect();
    if problems.is_empty() {
        eprintln!("data root {}: no problems found", session.root().display());
        return Ok(());
    }
    for problem in &problems {
        eprintln!("problem: {problem}");
    }
    Err(Error::DataRoot {
        root: session.root().display().to_string(),
        message: format!("{} problem(s) found", problems.len()),
    })
}
