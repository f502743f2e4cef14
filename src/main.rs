//! The `salesql` binary: parse the command line, run it, map the outcome to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use salesql::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // Deep plans recurse when they are planned and (on a cluster) encoded and decoded; Ballista
    // runs its scheduler with the same stack size. Only touched pages cost memory.
    builder.thread_stack_size(32 << 20);
    if cli.command.is_none() && std::io::stdin().is_terminal() {
        // In the REPL a cancelled statement can leave an operator that never yields running
        // on a worker (see README, "The REPL"); spare workers keep the next statements, and
        // the catalog refresh between them, from waiting for it.
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        builder.worker_threads(cores + 2);
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    salesql::panic_guard::install_hook();
    let outcome = runtime.block_on(async {
        let outcome = salesql::commands::execute(cli).await;
        // A statement cancelled with Ctrl-C removes its files in the background.
        salesql::file_writes::settle_rollbacks(std::time::Duration::from_secs(10)).await;
        outcome
    });
    // A cancelled statement (Ctrl-C in the REPL) can leave an operator that never
    // yields still running on a worker thread; exiting must not wait for it.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}
