//! `salesql generate`: writes a synthetic dataset on worker threads; Ctrl-C stops it and
//! leaves `--out` as it was.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::generate::{GenerateArgs, generate};

/// Generates the dataset the arguments describe.
pub async fn run(args: &GenerateArgs) -> Result<()> {
    let cancel = Arc::new(AtomicBool::new(false));
    let worker_cancel = Arc::clone(&cancel);
    let worker_args = args.clone();
    let mut work = tokio::task::spawn_blocking(move || generate(&worker_args, &worker_cancel));
    let joined = tokio::select! {
        joined = &mut work => joined,
        _ = tokio::signal::ctrl_c() => {
            cancel.store(true, Ordering::Relaxed);
            // Let the worker stop and remove its temporary folder.
            let _ = work.await;
            return Err(Error::Interrupted);
        }
    };
    joined
        .map_err(|e| Error::Output {
            destination: args.out.display().to_string(),
            message: format!("the generator stopped: {e}"),
        })?
        .map(|_| ())
}
