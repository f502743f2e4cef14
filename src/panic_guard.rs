//! Turns a panic inside a command into an error, so that a bug (ours or a library's) reached
//! by some input ends the statement with a message instead of killing the process: the REPL
//! keeps its session, `-o` removes its temporary file, and the exit code is 1.
//!
//! The binary installs [`install_hook`]: while a guard is active the hook records the panic
//! instead of printing it, and the guard that was running when it happened reports it once,
//! as its error (or as a warning when its work ended otherwise). With `RUST_BACKTRACE` set the
//! hook prints the usual report and backtrace as well. Without the hook (library users, unit
//! tests) panics are still caught, and printed as usual.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use futures::FutureExt;

use crate::error::{Error, Result, worker_panic_message};

/// How many guards are running, on any thread.
static ACTIVE_GUARDS: AtomicUsize = AtomicUsize::new(0);

/// The panics recorded while guards were running, each with its sequence number (from
/// [`NEXT_PANIC`]), oldest first, until the guard that was running when it happened takes it.
static RECORDED: Mutex<Vec<(u64, Panic)>> = Mutex::new(Vec::new());

/// The sequence number of the next recorded panic: a guard takes the panics numbered from
/// the value it saw when it started, never an earlier statement's.
static NEXT_PANIC: AtomicU64 = AtomicU64::new(0);

/// What a panic raised with something other than text says.
const NO_MESSAGE: &str = "a panic without a message";

/// How many recorded panics are kept when no guard takes them (a guard takes them at its end).
const MAX_RECORDED: usize = 64;

/// Set once a guard has returned a panic as its error: the stray panics that follow from it
/// (other tasks of the failed statement, still running after it ended) are not printed.
static PANIC_REPORTED: AtomicBool = AtomicBool::new(false);

static INSTALL_HOOK: Once = Once::new();

/// What a panic said, and where.
#[derive(Debug)]
struct Panic {
    message: String,
    location: Option<String>,
}

impl Panic {
    fn into_error(self) -> Error {
        Error::Internal {
            message: self.message,
            location: self.location,
        }
    }
}

/// Runs `work`; a panic while it runs (while it is polled, or on a task it waits for) becomes
/// [`Error::Internal`] naming the first panic's message and location. The panics that follow
/// it (tasks failing because it did) are part of the same failure. A panic recorded while the
/// work still succeeded, or failed with an error of its own, is printed as a warning, never
/// dropped.
pub async fn catch_panics<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let since = NEXT_PANIC.load(Ordering::SeqCst);
    let active = ActiveGuard::enter();
    let outcome = AssertUnwindSafe(work).catch_unwind().await;
    drop(active);
    let mut panics = take_panics_since(since);
    let mut first = (!panics.is_empty()).then(|| panics.remove(0));
    let result = match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) if !reports_a_panic(&error) => Err(error),
        Ok(Err(error)) => Err(first.take().map_or(error, Panic::into_error)),
        Err(payload) => Err(first
            .take()
            .unwrap_or_else(|| Panic {
                message: panic_message(payload.as_ref()),
                location: None,
            })
            .into_error()),
    };
    if matches!(result, Err(Error::Internal { .. })) {
        PANIC_REPORTED.store(true, Ordering::SeqCst);
    } else if let Some(first) = first {
        let more = match panics.len() {
            0 => String::new(),
            others => format!(" (and {others} more panics)"),
        };
        eprintln!("warning: a task panicked: {}{more}", first.into_error());
    }
    result
}

/// Counts one running guard for as long as it lives (also when its future is dropped).
struct ActiveGuard;

impl ActiveGuard {
    fn enter() -> Self {
        ACTIVE_GUARDS.fetch_add(1, Ordering::SeqCst);
        ActiveGuard
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        ACTIVE_GUARDS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Installs the panic hook that records panics under a guard instead of printing them (once;
/// later calls do nothing).
pub fn install_hook() {
    INSTALL_HOOK.call_once(|| {
        let report = std::panic::take_hook();
        let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|value| value != "0");
        std::panic::set_hook(Box::new(move |info| {
            let guarded = ACTIVE_GUARDS.load(Ordering::SeqCst) > 0;
            if guarded && let Ok(mut recorded) = RECORDED.lock() {
                let panic = Panic {
                    message: info.payload_as_str().unwrap_or(NO_MESSAGE).to_string(),
                    location: info.location().map(Location::to_string),
                };
                if recorded.len() == MAX_RECORDED {
                    recorded.remove(0);
                }
                recorded.push((NEXT_PANIC.fetch_add(1, Ordering::SeqCst), panic));
            }
            if verbose || !(guarded || PANIC_REPORTED.load(Ordering::SeqCst)) {
                report(info);
            }
        }));
    });
}

/// Removes and returns the panics recorded since sequence number `since`, oldest first.
fn take_panics_since(since: u64) -> Vec<Panic> {
    let Ok(mut recorded) = RECORDED.lock() else {
        return Vec::new();
    };
    let first_taken = recorded.partition_point(|(number, _)| *number < since);
    recorded
        .drain(first_taken..)
        .map(|(_, panic)| panic)
        .collect()
}

/// True for the errors a panic turns into on its way to us: a worker task's join error
/// ("task 25 panicked with message …") or a panic caught by an inner guard.
fn reports_a_panic(error: &Error) -> bool {
    match error {
        Error::Internal { .. } => true,
        // DataFusion's own text, not the description we show for it.
        Error::DataFusion(inner) => worker_panic_message(&inner.to_string()).is_some(),
        Error::InStatement { source, .. } => reports_a_panic(source),
        _ => false,
    }
}

/// The text a panic was raised with (`panic!("…")`, `expect`, arithmetic overflow, …).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        NO_MESSAGE.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // These tests run without the hook (which would silence the test harness's own reports).

    #[tokio::test]
    async fn a_panic_becomes_an_internal_error_with_its_message() {
        let caught = catch_panics(async {
            let values: Vec<u32> = Vec::new();
            Ok(values[3])
        })
        .await;
        let Err(Error::Internal { message, .. }) = caught else {
            panic!("expected an internal error, got {caught:?}");
        };
        assert!(message.contains("index out of bounds"), "{message}");
    }

    #[tokio::test]
    async fn work_that_does_not_panic_keeps_its_result() {
        assert_eq!(catch_panics(async { Ok(7) }).await.unwrap(), 7);
        let refused = catch_panics(async { Err::<(), _>(Error::Refused("no".into())) }).await;
        assert!(matches!(refused, Err(Error::Refused(_))));
    }
}
