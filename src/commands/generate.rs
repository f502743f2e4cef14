//! `salesql generate`: writes a synthetic dataset on worker threads; Ctrl-C stops it and
//! leaves `--out` as it was.

use crate::commands::cancellable_worker;
use crate::error::Result;
use crate::generate::{GenerateArgs, generate};

/// Generates the dataset the arguments describe.
pub async fn run(args: &GenerateArgs) -> Result<()> {
    let worker_args = args.clone();
    let destination = args.out.display().to_string();
    cancellable_worker(&destination, move |cancel| generate(&worker_args, cancel))
        .await
        .map(|_| ())
}
