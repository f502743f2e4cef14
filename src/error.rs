//! The one error type of salesql. Every variant says what went wrong and where (the file,
//! table, column or parameter at fault), and maps to the exit code of SPEC §2.

use std::path::PathBuf;

use datafusion::error::DataFusionError;

/// The result type used throughout salesql.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in salesql.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong: a bad flag value, an unknown saved query.
    #[error("{0}")]
    Usage(String),
    /// A parameter of a statement or saved query is unknown, missing or ill-typed.
    #[error("parameter `{name}`: {message}")]
    Parameter {
        /// The parameter's name, without `$`.
        name: String,
        /// What is wrong with it, and which parameters are declared.
        message: String,
    },
    /// The data root does not exist or cannot be listed.
    #[error("data root {root}: {message}")]
    DataRoot {
        /// The data root as the user gave it.
        root: String,
        /// Why it cannot be used.
        message: String,
    },
    /// A table of the data root cannot be used (schema disagreement, invalid Parquet, …).
    #[error("table `{table}`: {message}")]
    Table {
        /// The table's name.
        table: String,
        /// What is wrong, naming the file at fault.
        message: String,
    },
    /// A Parquet file a statement reads cannot be decoded.
    #[error("{}", describe_damage(table.as_deref(), file, column.as_deref(), message))]
    DamagedFile {
        /// The table the file belongs to, when known.
        table: Option<String>,
        /// The file: a local path or an object store URL.
        file: String,
        /// The column that cannot be decoded (`None`: the file's metadata cannot be).
        column: Option<String>,
        /// The decoder's message.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing results to their destination failed.
    #[error("writing results to {destination}: {message}")]
    Output {
        /// `stdout` or the output file's path.
        destination: String,
        /// The cause.
        message: String,
    },
    /// A statement was refused before it ran.
    #[error("{0}")]
    Refused(String),
    /// An object store request failed.
    #[error("{context}: {source}")]
    ObjectStore {
        /// What was being done, and on which URL.
        context: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// DataFusion failed to plan or execute a statement.
    #[error("{}", describe_datafusion(.0))]
    DataFusion(#[from] DataFusionError),
    /// A statement of a multi-statement script failed.
    #[error("statement {index} of {count}: {source}")]
    InStatement {
        /// The failing statement's 1-based position.
        index: usize,
        /// How many statements the script has.
        count: usize,
        /// Why it failed.
        source: Box<Error>,
    },
    /// A Ballista scheduler, executor or cluster connection failed.
    #[error("{role}: {message}")]
    Cluster {
        /// `scheduler`, `executor` or `cluster df://HOST:PORT`.
        role: String,
        /// What went wrong.
        message: String,
    },
    /// A panic inside salesql or a library it uses, caught by [`crate::panic_guard`]: a bug
    /// to report, not a fault of the input.
    #[error("{}", describe_panic(message, location.as_deref()))]
    Internal {
        /// The panic's message.
        message: String,
        /// Where it was raised (`file:line`), when known.
        location: Option<String>,
    },
    /// The user pressed Ctrl-C.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The process exit code for this error: 2 for usage errors, 130 for an interrupt,
    /// 1 for everything else (query, data and I/O errors).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Parameter { .. } => 2,
            Error::Interrupted => 130,
            Error::InStatement { source, .. } => source.exit_code(),
            Error::DataFusion(e) => match salesql_error_in(e) {
                Some(inner) => inner.exit_code(),
                None => 1,
            },
            _ => 1,
        }
    }

    /// Shorthand for an I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A mapping of an object store's error to one that says what was being done.
    pub fn object_store(context: String) -> impl FnOnce(object_store::Error) -> Self {
        move |source| Error::ObjectStore { context, source }
    }

    /// True when this error only says that the reader of stdout went away (`| head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output { message, .. } if message.contains("Broken pipe"))
    }
}

impl From<Error> for DataFusionError {
    fn from(e: Error) -> Self {
        match e {
            Error::DataFusion(inner) => inner,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

/// Finds a salesql error that DataFusion carried through its own error type.
fn salesql_error_in(e: &DataFusionError) -> Option<&Error> {
    match e.find_root() {
        DataFusionError::External(inner) => inner.downcast_ref::<Error>(),
        _ => None,
    }
}

/// "table `t`: file F is damaged: column `c` cannot be decoded (…)".
fn describe_damage(table: Option<&str>, file: &str, column: Option<&str>, message: &str) -> String {
    let table = table.map(|t| format!("table `{t}`: ")).unwrap_or_default();
    let part = match column {
        Some(column) => format!("column `{column}`"),
        None => "its metadata".to_string(),
    };
    format!("{table}file {file} is damaged: {part} cannot be decoded ({message})")
}

/// Renders a DataFusion error readably: our own errors carried inside it are shown as
/// themselves; the optimizer's "rule … failed / caused by" wrapping is dropped for the cause,
/// and so is an operator's wrapping of a refused allocation (which names the consumers);
/// a failed argument coercion is cut down to the function's own message.
fn describe_datafusion(e: &DataFusionError) -> String {
    if let Some(inner) = salesql_error_in(e) {
        return inner.to_string();
    }
    let root = e.find_root();
    let text = match root {
        DataFusionError::ObjectStore(store_error) => return with_causes(store_error.as_ref()),
        DataFusionError::ResourcesExhausted(message) => {
            let text = root.strip_backtrace();
            return match message.contains(POOL_REFUSAL) {
                true => format!("{text}\n{MEMORY_HINT}"),
                false => text,
            };
        }
        _ if matches!(e, DataFusionError::Context(..)) => root.strip_backtrace(),
        _ => with_causes_after(e.strip_backtrace(), e),
    };
    let text = coercion_message(&text).unwrap_or(text);
    if let Some(message) = worker_panic_message(&text) {
        return describe_panic(&message, None);
    }
    if text.contains(BALLISTA_TRANSPORT) && !text.contains(BALLISTA_REJECTED_TASK) {
        return format!(
            "the connection to the cluster broke (a scheduler or executor stopped?): {text}"
        );
    }
    if text.contains(NO_OPERATOR_METRICS) {
        return "EXPLAIN ANALYZE is not available on a cluster: its executors report no \
                per-operator metrics (see README, Scaling out); run it without --cluster, or \
                use EXPLAIN"
            .to_string();
    }
    if text.contains(UNSENDABLE_TABLE) {
        return "the statement reads a table held in this session's memory (made by CREATE \
                TABLE or registered in the REPL), which cannot be sent to the cluster: use a \
                view (CREATE VIEW) or write the table to shared storage with COPY … TO"
            .to_string();
    }
    match text.contains(BALLISTA_REJECTED_TASK) {
        true => format!(
            "{text} (an executor could not decode the plan, often a function it does not \
             have: run the same salesql build on the client, the scheduler and every \
             executor; the executor's log names what is missing)"
        ),
        false => text,
    }
}

/// What a caught panic says to the user: a known upstream failure is explained, anything else
/// is reported as a bug.
fn describe_panic(message: &str, location: Option<&str>) -> String {
    if message.contains(NESTED_LOOP_JOIN_FALLBACK) {
        return format!(
            "the query ran an input twice, which DataFusion's repartitioning cannot do; this \
             happens when a nested loop join's build side does not fit in --memory-limit and \
             the join falls back to re-reading it (apache/datafusion#24676; internal message: \
             {message})\n{MEMORY_HINT}"
        );
    }
    let location = location.map(|at| format!(" at {at}")).unwrap_or_default();
    format!(
        "internal error (a bug in salesql or a library it uses, not in your input; please \
         report it with the statement): {message}{location}"
    )
}

/// How DataFusion panics when a nested loop join re-executes its build side after the memory
/// pool refused it (apache/datafusion#24676).
const NESTED_LOOP_JOIN_FALLBACK: &str = "partition not used yet";

/// How DataFusion's memory pool words a refusal (other resources, such as spill space, are
/// exhausted in other words).
const POOL_REFUSAL: &str = "Failed to allocate additional";

/// What to do when the memory pool refused an operator.
const MEMORY_HINT: &str = "hint: the query needs more memory than --memory-limit \
                           (SALESQL_MEMORY_LIMIT) grants; raise the limit (operators shown with \
                           `can spill: false` cannot give memory back by spilling)";

/// How a gRPC failure between a Ballista client and its cluster reads (tonic's status).
const BALLISTA_TRANSPORT: &str = "Execution error: code: '";

/// How Ballista's scheduler refuses EXPLAIN ANALYZE when tasks reported no operator metrics.
const NO_OPERATOR_METRICS: &str = "Missing metrics for operator";

/// How DataFusion's plan encoding refuses a table it cannot describe (an in-memory table).
const UNSENDABLE_TABLE: &str = "Error serializing custom table";

/// How a Ballista job that an executor could not decode reports its failure to the client.
const BALLISTA_REJECTED_TASK: &str = "task could not be prepared or was rejected by executor";

/// An error's message followed by those of its causes that it does not already include
/// ("error sending request: … Connection refused"), on one line.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    with_causes_after(error.to_string(), error)
}

fn with_causes_after(mut text: String, error: &dyn std::error::Error) -> String {
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !message.is_empty() && !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// The message of a panic on one of DataFusion's worker tasks, which reaches us as the task's
/// join error: `task 25 panicked with message "…"`, the message written as Rust writes a
/// string literal (`{:?}`: quotes and line breaks escaped). Unescaped, up to its closing quote.
pub(crate) fn worker_panic_message(text: &str) -> Option<String> {
    const PANICKED: &str = " panicked with message \"";
    let (_, rest) = text.split_once(PANICKED)?;
    let mut message = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => message.push('\n'),
                Some('t') => message.push('\t'),
                Some('r') => message.push('\r'),
                Some('0') => message.push('\0'),
                Some(other) => message.push(other),
                None => break,
            },
            other => message.push(other),
        }
    }
    Some(message)
}

/// The function's own words inside DataFusion's "user-defined coercion failed" message.
fn coercion_message(text: &str) -> Option<String> {
    const FAILED: &str = "user-defined coercion failed with: ";
    let (_, rest) = text.split_once(FAILED)?;
    let message = rest.split(". No function matches").next()?;
    Some(message.trim().to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::error::ArrowError;

    use super::*;

    #[test]
    fn a_panic_on_a_worker_task_reads_as_a_panic() {
        let joined = DataFusionError::External(
            "task 25 panicked with message \"partition not used yet\"".into(),
        );
        let text = Error::DataFusion(joined).to_string();
        assert!(text.contains("apache/datafusion#24676"), "{text}");
        assert!(
            text.contains("internal message: partition not used yet)"),
            "{text}"
        );
        assert!(text.ends_with(MEMORY_HINT), "{text}");

        let other = DataFusionError::External(
            format!(
                "task 3 panicked with message {:?}: caused by …",
                "a \"quoted\"\nboom"
            )
            .into(),
        );
        let text = Error::DataFusion(other).to_string();
        assert!(text.starts_with("internal error (a bug"), "{text}");
        assert!(text.ends_with(": a \"quoted\"\nboom"), "{text}");
    }

    #[test]
    fn a_refused_allocation_reads_as_itself_however_deep_an_operator_wrapped_it() {
        let refused = DataFusionError::ResourcesExhausted(
            "Failed to allocate additional 136.0 B for FinalHashAggregateStream[1]".into(),
        );
        let wrapped = DataFusionError::ArrowError(
            Box::new(ArrowError::ExternalError(Box::new(
                DataFusionError::Shared(Arc::new(
                    refused.context("Decreasing allocation after spilling should succeed"),
                )),
            ))),
            None,
        );
        let out_of_spill_space = DataFusionError::ResourcesExhausted(
            "The used disk space during the spilling process has exceeded the allowable limit"
                .into(),
        );
        assert!(
            !Error::DataFusion(out_of_spill_space)
                .to_string()
                .contains("--memory-limit"),
            "the hint is for the memory pool's refusals only"
        );
        assert_eq!(
            Error::DataFusion(wrapped).to_string(),
            format!(
                "Resources exhausted: Failed to allocate additional 136.0 B for \
                 FinalHashAggregateStream[1]\n{MEMORY_HINT}"
            )
        );
    }
}
