//! The interactive SQL REPL: multi-line statements that end at `;`, history in the user's
//! state folder, Tab completion from the live catalog, colours, `\` commands, a progress line
//! for long statements, and Ctrl-C that cancels the running statement and keeps the session.

pub mod completion;
pub mod helper;
pub mod highlight;
pub mod history;
pub mod input;
pub mod meta;
pub mod progress;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use datafusion::catalog::SchemaProvider;
use datafusion::common::ParamValues;
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::Statement;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};

use crate::cli::Settings;
use crate::error::{Error, Result};
use crate::output::{Expanded, Format, Output, OutputOptions, Sink};
use crate::panic_guard::catch_panics;
use crate::queries::QueryLibrary;
use crate::session::Session;
use crate::statements::{Bindings, parse_statements, run_statement};
use completion::CatalogSnapshot;
use helper::SqlHelper;
use input::{Input, classify};
use meta::Flow;
use progress::{PlanSlot, Progress, ProgressStop};

/// The prompt.
const PROMPT: &str = "salesql> ";

/// The REPL's state between statements.
pub struct Repl {
    session: Session,
    queries: QueryLibrary,
    output: OutputOptions,
    width_given: Option<usize>,
    timing: bool,
    output_file: Option<PathBuf>,
    params: BTreeMap<String, ScalarValue>,
    catalog: Arc<RwLock<CatalogSnapshot>>,
}

/// Runs the REPL until `\q` or Ctrl-D.
pub async fn run(settings: Settings) -> Result<()> {
    let session = Session::open(&settings.session).await?;
    // Ctrl-C from now on interrupts statements instead of ending the process.
    #[cfg(unix)]
    let _interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| Error::io("the terminal", e))?;
    let mut output = settings.output;
    if !settings.format_given {
        output.format = Format::Table;
    }
    let mut repl = Repl {
        session,
        queries: settings.queries.clone(),
        output,
        width_given: None,
        timing: true,
        output_file: settings.output_path.clone(),
        params: BTreeMap::new(),
        catalog: Arc::new(RwLock::new(CatalogSnapshot::default())),
    };
    repl.refresh_catalog().await;

    let colours = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_dups(true)
        .map_err(|e| Error::Usage(format!("line editor: {e}")))?
        .max_history_size(10_000)
        .map_err(|e| Error::Usage(format!("line editor: {e}")))?
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut editor: Editor<SqlHelper, FileHistory> = Editor::with_config(config)
        .map_err(|e| Error::io("the terminal", std::io::Error::other(e)))?;
    editor.set_helper(Some(SqlHelper::new(Arc::clone(&repl.catalog), colours)));
    let history = history::history_path(settings.history_file.as_deref());
    if let Some(path) = &history
        && path.exists()
        && let Err(e) = editor.load_history(path)
    {
        eprintln!("warning: cannot read the history {}: {e}", path.display());
    }
    repl.banner();

    loop {
        let line = tokio::task::block_in_place(|| editor.readline(PROMPT));
        let buffer = match line {
            Ok(buffer) => buffer,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::io("the terminal", std::io::Error::other(e))),
        };
        if buffer.trim().is_empty() {
            continue;
        }
        if classify(&buffer) == Input::Quit {
            break;
        }
        let _ = editor.add_history_entry(buffer.as_str());
        if let Some(path) = &history
            && let Err(e) = editor.append_history(path)
        {
            eprintln!("warning: cannot write the history {}: {e}", path.display());
        }
        let input = match classify(&buffer) {
            Input::Edit(text) => {
                let text = if text.is_empty() {
                    last_statement(&editor)
                } else {
                    text
                };
                match meta::edit(&text) {
                    Ok(edited) if !edited.trim().is_empty() => {
                        let _ = editor.add_history_entry(edited.trim());
                        Input::Sql(edited)
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        eprintln!("error: {e}");
                        continue;
                    }
                }
            }
            other => other,
        };
        if input == Input::Quit {
            break;
        }
        // A panic (a bug reached by this input) ends the input with an error, not the session.
        let outcome = catch_panics(async {
            match input {
                Input::Meta { name, args } => meta::execute(&mut repl, &name, &args).await,
                Input::Sql(text) => repl.run_sql(&text).await.map(|()| Flow::Continue),
                Input::Quit | Input::Edit(_) => Ok(Flow::Continue),
            }
        })
        .await;
        match outcome {
            Ok(Flow::Quit) => break,
            Ok(Flow::Continue) => {}
            Err(Error::Interrupted) => eprintln!("cancelled"),
            Err(e) => eprintln!("error: {e}"),
        }
        let refreshed = catch_panics(async {
            repl.refresh_catalog().await;
            Ok(())
        });
        if let Err(e) = refreshed.await {
            eprintln!("error: refreshing the catalog: {e}");
        }
    }
    Ok(())
}

/// The most recent history entry that is SQL, for a bare `\e`.
fn last_statement(editor: &Editor<SqlHelper, FileHistory>) -> String {
    use rustyline::history::{History, SearchDirection};
    let history = editor.history();
    (0..history.len())
        .rev()
        .filter_map(|i| history.get(i, SearchDirection::Reverse).ok().flatten())
        .map(|entry| entry.entry.into_owned())
        .find(|entry| !entry.trim_start().starts_with('\\'))
        .unwrap_or_default()
}

impl Repl {
    fn banner(&self) {
        let tables = self.catalog.read().map_or(0, |c| c.tables.len());
        eprintln!(
            "salesql {} — data root {} ({tables} tables). \\? for help, \\q to quit.",
            env!("CARGO_PKG_VERSION"),
            self.session.root().display()
        );
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs SQL text statement by statement; stops at the first failure.
    pub async fn run_sql(&mut self, text: &str) -> Result<()> {
        let statements = parse_statements(&self.session, text)?;
        for statement in statements {
            self.run_statement(statement, &self.bindings()).await?;
        }
        Ok(())
    }

    /// Runs SQL with the given bindings instead of the session's (`\run`).
    pub async fn run_sql_with(&mut self, text: &str, bindings: &Bindings) -> Result<()> {
        for statement in parse_statements(&self.session, text)? {
            self.run_statement(statement, bindings).await?;
        }
        Ok(())
    }

    /// The session parameters (`\set`) as bindings.
    fn bindings(&self) -> Bindings {
        let values = ParamValues::Map(
            self.params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect(),
        );
        Bindings::new(values, "set it with \\set NAME VALUE")
    }

    async fn run_statement(&mut self, statement: Statement, bindings: &Bindings) -> Result<()> {
        let started = Instant::now();
        let plan: PlanSlot = Arc::new(Mutex::new(None));
        let progress = std::io::stderr()
            .is_terminal()
            .then(|| Progress::start(Arc::clone(&plan), started));
        let mut output = self.open_output(progress.as_ref().map(Progress::stopper))?;
        let watched = Arc::clone(&plan);
        let mut watch = move |physical: &Arc<dyn datafusion::physical_plan::ExecutionPlan>| {
            if let Ok(mut slot) = watched.lock() {
                *slot = Some(Arc::clone(physical));
            }
        };
        let work = run_statement(&self.session, statement, bindings, &mut output, &mut watch);
        let result = tokio::select! {
            result = work => result,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        };
        if let Some(progress) = progress {
            progress.finish();
        }
        let outcome = result?;
        output.commit()?;
        let elapsed = if self.timing {
            format!(" · {:.3} s", started.elapsed().as_secs_f64())
        } else {
            String::new()
        };
        match outcome.result {
            Some(summary) => eprintln!("{}{elapsed}", summary.describe()),
            None => eprintln!("OK{elapsed}"),
        }
        Ok(())
    }

    /// The output for the next result: stdout (at the terminal's current width) or `\o FILE`;
    /// a progress line is erased before the first result byte.
    fn open_output(&self, progress: Option<ProgressStop>) -> Result<Output> {
        let mut options = self.output;
        let (mut sink, width) = match &self.output_file {
            Some(path) => (Sink::append(path)?, None),
            None => {
                let width = terminal_size::terminal_size().map(|(w, _)| usize::from(w.0));
                (Sink::stdout(), self.width_given.or(width))
            }
        };
        options.table.width = width;
        if let Some(progress) = progress {
            sink.before_first_write(move || progress.stop());
        }
        Output::new(sink, options)
    }

    /// Writes an in-memory result set (listings) to the current output.
    pub async fn show(&self, batch: datafusion::arrow::array::RecordBatch) -> Result<()> {
        let mut output = self.open_output(None)?;
        crate::commands::write_batch(&mut output, batch).await?;
        output.commit()
    }

    /// Re-reads tables, columns, functions and saved queries for completion.
    async fn refresh_catalog(&self) {
        let context = self.session.context();
        let mut snapshot = CatalogSnapshot::default();
        let names = SchemaProvider::table_names(self.session.schema());
        for name in names {
            if let Ok(provider) = context.table_provider(name.as_str()).await {
                let columns = provider
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                snapshot.columns.insert(name.clone(), columns);
            }
            snapshot.tables.push(name);
        }
        let state = context.state();
        let mut functions: Vec<String> = state
            .scalar_functions()
            .keys()
            .chain(state.aggregate_functions().keys())
            .chain(state.window_functions().keys())
            .cloned()
            .collect();
        functions.sort();
        functions.dedup();
        snapshot.functions = functions;
        snapshot.queries = self.queries.list().into_iter().map(|q| q.name).collect();
        if let Ok(mut catalog) = self.catalog.write() {
            *catalog = snapshot;
        }
    }
}

/// Settings the meta-commands change.
impl Repl {
    /// The saved-query library.
    pub fn queries(&self) -> &QueryLibrary {
        &self.queries
    }

    /// The result format.
    pub fn set_format(&mut self, format: Format) {
        self.output.format = format;
    }

    /// Expanded display.
    pub fn set_expanded(&mut self, expanded: Expanded) {
        self.output.table.expanded = expanded;
    }

    /// The current expanded display.
    pub fn expanded(&self) -> Expanded {
        self.output.table.expanded
    }

    /// Timing on or off.
    pub fn set_timing(&mut self, on: bool) {
        self.timing = on;
    }

    /// Whether timing is shown.
    pub fn timing(&self) -> bool {
        self.timing
    }

    /// The most rows the table view shows.
    pub fn set_max_rows(&mut self, rows: usize) {
        self.output.table.max_rows = rows;
    }

    /// Where results go (`None`: the terminal).
    pub fn set_output_file(&mut self, path: Option<PathBuf>) {
        self.output_file = path;
    }

    /// The session parameters.
    pub fn params_mut(&mut self) -> &mut BTreeMap<String, ScalarValue> {
        &mut self.params
    }
}
