//! Turns a panic inside a command into an error, so that a bug (ours or a library's) reached
//! by some input ends the statement with a message instead of killing the process: the REPL
//! keeps its session, `-o` removes its temporary file, and the exit code is 1.
//!
//! The binary installs [`install_hook`]: while a guard is active the hook records the panic
//! instead of printing it (the message reaches the user once, as the error); with
//! `RUST_BACKTRACE` set it prints the usual report and backtrace as well. Without the hook
//! (library users, unit tests) panics are still caught, and printed as usual.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use futures::FutureExt;

use crate::error::{Error, Result};

/// How many guards are running, on any thread.
static ACTIVE_GUARDS: AtomicUsize = AtomicUsize::new(0);

/// The first panic while guards were running, on any thread: a panic on one of DataFusion's
/// worker tasks is often followed by others that only say an earlier one happened ("inner
/// future panicked during poll"), and by the task's join error; the first one is the cause.
static FIRST_PANIC: Mutex<Option<Panic>> = Mutex::new(None);

/// Set once a guard has reported a panic: the stray panics that follow from it (other tasks of
/// the failed statement, still running after it ended) are not printed either.
static PANIC_REPORTED: AtomicBool = AtomicBool::new(false);

static INSTALL_HOOK: Once = Once::new();

/// What a panic said, and where.
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
/// [`Error::Internal`] naming the first panic's message and location.
pub async fn catch_panics<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let active = ActiveGuard::enter();
    let outcome = AssertUnwindSafe(work).catch_unwind().await;
    drop(active);
    let first = take_first_panic();
    if first.is_some() {
        PANIC_REPORTED.store(true, Ordering::SeqCst);
    }
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => match first {
            Some(panic) if reports_a_panic(&error) => Err(panic.into_error()),
            _ => Err(error),
        },
        Err(payload) => Err(first
            .unwrap_or_else(|| Panic {
                message: panic_message(payload.as_ref()),
                location: None,
            })
            .into_error()),
    }
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
            if guarded && let Ok(mut first) = FIRST_PANIC.lock() {
                first.get_or_insert_with(|| Panic {
                    message: info
                        .payload_as_str()
                        .unwrap_or("a panic without a message")
                        .to_string(),
                    location: info.location().map(Location::to_string),
                });
            }
            if verbose || !(guarded || PANIC_REPORTED.load(Ordering::SeqCst)) {
                report(info);
            }
        }));
    });
}

fn take_first_panic() -> Option<Panic> {
    FIRST_PANIC.lock().ok()?.take()
}

/// True for the errors a panic turns into on its way to us: a worker task's join error
/// ("task 25 panicked with message …") or a panic caught by an inner guard.
fn reports_a_panic(error: &Error) -> bool {
    matches!(error, Error::Internal { .. }) || error.to_string().contains(" panicked")
}

/// The text a panic was raised with (`panic!("…")`, `expect`, arithmetic overflow, …).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
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
