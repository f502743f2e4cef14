//! One module per subcommand; this one dispatches and holds what they share: opening the
//! output (refusing a file under the data root) and running a script with Ctrl-C handling.

mod check;
pub(crate) mod functions;
mod generate;
mod import;
pub(crate) mod queries;
mod sql;

use std::io::{IsTerminal, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::arrow::array::RecordBatch;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

use crate::cli::{Cli, Command, Settings};
use crate::error::{Error, Result};
use crate::output::{Format, Output, Sink};
use crate::panic_guard::catch_panics;
use crate::session::Session;

/// Runs the command line. A panic (a bug reached by some input) ends the command with
/// [`Error::Internal`] instead of a crash report; see [`crate::panic_guard`]. Servers are not
/// guarded: they report a failed task to its client and log its panic.
pub async fn execute(cli: Cli) -> Result<()> {
    match serves(&cli) {
        true => run_command(cli).await,
        false => catch_panics(run_command(cli)).await,
    }
}

/// True for the commands that run Ballista servers until they are stopped.
fn serves(cli: &Cli) -> bool {
    #[cfg(feature = "distributed")]
    if matches!(
        cli.command,
        Some(Command::Scheduler(_) | Command::Executor(_) | Command::Cluster(_))
    ) {
        return true;
    }
    let _ = cli;
    false
}

async fn run_command(cli: Cli) -> Result<()> {
    let settings = Settings::from_args(&cli.global)?;
    match cli.command {
        None if std::io::stdin().is_terminal() => crate::repl::run(settings).await,
        None => {
            let sql = read_stdin()?;
            sql::run_text(&settings, &sql).await
        }
        Some(Command::Query { sql, file }) => {
            let text = match (sql, file) {
                (_, Some(path)) => {
                    std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?
                }
                (Some(sql), None) if sql == "-" => read_stdin()?,
                (Some(sql), None) => sql,
                (None, None) => return Err(Error::Usage("query needs SQL text or -f FILE".into())),
            };
            sql::run_text(&settings, &text).await
        }
        Some(Command::Run { name }) => sql::run_saved(&settings, &name).await,
        Some(Command::Queries) => queries::list(&settings).await,
        Some(Command::Check { deep }) => check::run(&settings, deep).await,
        Some(Command::Functions) => functions::list(&settings).await,
        Some(Command::Generate(args)) => generate::run(&args).await,
        Some(Command::Import(args)) => import::run(&args).await,
        #[cfg(feature = "distributed")]
        Some(Command::Scheduler(args)) => {
            crate::distributed::scheduler::run(args, &settings.session.store).await
        }
        #[cfg(feature = "distributed")]
        Some(Command::Executor(args)) => {
            crate::distributed::executor::run(args, &settings.session.store).await
        }
        #[cfg(feature = "distributed")]
        Some(Command::Cluster(args)) => {
            crate::distributed::cluster::run(&args, &settings.session.store).await
        }
    }
}

fn read_stdin() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Error::io("stdin", e))?;
    Ok(text)
}

/// Opens the output the settings ask for. A file under the data root is refused.
pub(crate) fn open_output(settings: &Settings, session: Option<&Session>) -> Result<Output> {
    let sink = match &settings.output_path {
        Some(path) => {
            let destination = crate::output::sink::destination(path)?;
            if let Some(session) = session
                && [path, &destination].iter().any(|candidate| {
                    candidate
                        .to_str()
                        .is_some_and(|location| session.root().contains_location(location))
                })
            {
                return Err(Error::Refused(format!(
                    "-o {}: salesql never writes under the data root {}",
                    path.display(),
                    session.root().display()
                )));
            }
            Sink::file(path)?
        }
        None => Sink::stdout(),
    };
    Output::new(sink, settings.output)
}

/// Runs `work` unless Ctrl-C comes first, in which case it is dropped (cancelling the query)
/// and the command ends with [`Error::Interrupted`].
pub(crate) async fn interruptible<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
    }
}

/// Runs blocking `work` on a worker thread. Ctrl-C raises the flag it is given and waits for
/// it to stop (so it can remove its temporary files), then ends with [`Error::Interrupted`]
/// unless the work completed anyway.
pub(crate) async fn cancellable_worker<T: Send + 'static>(
    what: &str,
    work: impl FnOnce(&AtomicBool) -> Result<T> + Send + 'static,
) -> Result<T> {
    let cancel = Arc::new(AtomicBool::new(false));
    let worker_cancel = Arc::clone(&cancel);
    let mut handle = tokio::task::spawn_blocking(move || work(&worker_cancel));
    let joined = tokio::select! {
        joined = &mut handle => joined,
        _ = tokio::signal::ctrl_c() => {
            cancel.store(true, Ordering::Relaxed);
            // Work that was past its last check (committing) finished: report that, not a
            // failure that did not happen.
            return match handle.await {
                Ok(Ok(done)) => Ok(done),
                _ => Err(Error::Interrupted),
            };
        }
    };
    joined.map_err(|e| Error::Output {
        destination: what.to_string(),
        message: format!("the worker stopped: {e}"),
    })?
}

/// Writes one in-memory result set (listings such as `queries` and `check`).
pub(crate) async fn write_batch(output: &mut Output, batch: RecordBatch) -> Result<()> {
    let schema = batch.schema();
    let stream = RecordBatchStreamAdapter::new(schema, futures::stream::iter([Ok(batch)]));
    let summary = output.write_stream(Box::pin(stream)).await?;
    if output.format() == Format::Table {
        eprintln!("{}", summary.describe());
    }
    Ok(())
}
