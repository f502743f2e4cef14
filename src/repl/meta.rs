//! The REPL's `\` commands.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::ValueEnum;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::SchemaProvider;
use datafusion::datasource::MemTable;
use datafusion::datasource::listing::ListingTable;

use crate::commands::functions::functions_batch;
use crate::commands::queries::queries_batch;
use crate::error::{Error, Result};
use crate::functions::catalog;
use crate::output::{Expanded, Format};
use crate::queries::ParamType;
use crate::queries::param::{bind, declared_list, infer_value};
use crate::repl::Repl;
use crate::statements::Bindings;

/// Whether the REPL goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next input.
    Continue,
    /// Leave.
    Quit,
}

/// The help text of `\?`.
pub const HELP: &str = "\
SQL statements end with ; and may span lines. Tab completes; Ctrl-R searches the history;
Ctrl-C cancels a running statement (or clears the line); Ctrl-D or \\q quits.

  \\?                     this help
  \\q                     quit
  \\d                     tables, with row counts where they are cheap
  \\d NAME                a table's columns and types
  \\df [PATTERN]          functions (the sales functions with their documentation)
  \\dq                    saved queries with their parameters
  \\run NAME [k=v ...]    run a saved query
  \\i FILE                run the SQL in FILE
  \\set [NAME [TYPE] VALUE]  set (or list) parameters used as $NAME
  \\unset NAME            remove a parameter
  \\format FORMAT         table, csv, tsv, json, ndjson, markdown, arrow, parquet
  \\x [on|off|auto]       expanded display (auto: when the columns do not fit)
  \\timing [on|off]       show how long statements take
  \\o [FILE]              send results to FILE (appended), or back to the terminal
  \\maxrows N             rows the table view shows (0: all)
  \\e                     edit the current buffer (or the last statement) in $EDITOR
";

/// Runs `\name args`.
pub async fn execute(repl: &mut Repl, name: &str, args: &str) -> Result<Flow> {
    match name {
        "?" | "h" | "help" => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(HELP.as_bytes())
                .map_err(|e| Error::io("stdout", e))?;
        }
        "q" | "quit" => return Ok(Flow::Quit),
        "d" if args.is_empty() => repl.show(tables_batch(repl).await?).await?,
        "d" => repl.show(columns_batch(repl, args).await?).await?,
        "df" => repl.show(functions_matching(repl, args)).await?,
        "dq" => repl.show(queries_batch(&repl.queries().list())).await?,
        "run" => run_saved(repl, args).await?,
        "i" => {
            let text = std::fs::read_to_string(args).map_err(|e| Error::io(args, e))?;
            repl.run_sql(&text).await?;
        }
        "set" => set(repl, args)?,
        "unset" => {
            if repl.params_mut().remove(args).is_none() {
                return Err(Error::Usage(format!("\\unset: no parameter `{args}`")));
            }
        }
        "format" => {
            let format = Format::from_str(args, true).map_err(|_| {
                Error::Usage(format!(
                    "\\format: unknown format `{args}` (table, csv, tsv, json, ndjson, markdown, arrow, parquet)"
                ))
            })?;
            repl.set_format(format);
        }
        "x" => {
            let expanded = match args {
                "on" => Expanded::On,
                "off" => Expanded::Off,
                "auto" => Expanded::Auto,
                "" if repl.expanded() == Expanded::Off => Expanded::On,
                "" => Expanded::Off,
                other => {
                    return Err(Error::Usage(format!(
                        "\\x: expected on, off or auto, not `{other}`"
                    )));
                }
            };
            repl.set_expanded(expanded);
            eprintln!(
                "expanded display is {}",
                match expanded {
                    Expanded::On => "on",
                    Expanded::Off => "off",
                    Expanded::Auto => "auto",
                }
            );
        }
        "timing" => {
            let on = match args {
                "on" => true,
                "off" => false,
                "" => !repl.timing(),
                other => {
                    return Err(Error::Usage(format!(
                        "\\timing: expected on or off, not `{other}`"
                    )));
                }
            };
            repl.set_timing(on);
            eprintln!("timing is {}", if on { "on" } else { "off" });
        }
        "o" => {
            let path = (!args.is_empty()).then(|| PathBuf::from(args));
            if let Some(path) = &path {
                std::fs::write(path, b"").map_err(|e| Error::io(path, e))?;
                eprintln!("results go to {}", path.display());
            } else {
                eprintln!("results go to the terminal");
            }
            repl.set_output_file(path);
        }
        "maxrows" => {
            let rows = args
                .parse()
                .map_err(|_| Error::Usage(format!("\\maxrows: expected a number, not `{args}`")))?;
            repl.set_max_rows(rows);
        }
        other => {
            return Err(Error::Usage(format!(
                "unknown command \\{other}; \\? lists the commands"
            )));
        }
    }
    Ok(Flow::Continue)
}

/// `\set` (list), `\set NAME VALUE` (typed by its look) or `\set NAME TYPE VALUE`.
fn set(repl: &mut Repl, args: &str) -> Result<()> {
    if args.is_empty() {
        for (name, value) in repl.params_mut().iter() {
            eprintln!("{name} = {value} ({})", value.data_type());
        }
        return Ok(());
    }
    let (name, rest) = args
        .split_once(char::is_whitespace)
        .ok_or_else(|| Error::Usage("\\set NAME VALUE or \\set NAME TYPE VALUE".into()))?;
    let name = name.trim_start_matches('$');
    let rest = rest.trim();
    let typed = rest
        .split_once(char::is_whitespace)
        .and_then(|(type_name, value)| ParamType::parse(type_name).ok().map(|t| (t, value.trim())));
    let value = match typed {
        Some((param_type, text)) => {
            param_type
                .parse_value(text)
                .map_err(|message| Error::Parameter {
                    name: name.to_string(),
                    message,
                })?
        }
        None => infer_value(rest),
    };
    repl.params_mut().insert(name.to_string(), value);
    Ok(())
}

/// `\run NAME [k=v …]`.
async fn run_saved(repl: &mut Repl, args: &str) -> Result<()> {
    let mut words = args.split_whitespace();
    let name = words
        .next()
        .ok_or_else(|| Error::Usage("\\run NAME [k=v ...]".into()))?;
    let query = repl.queries().find(name)?;
    let given = words
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::Usage(format!("\\run: expected NAME=VALUE, not `{pair}`")))
        })
        .collect::<Result<Vec<_>>>()?;
    let values = bind(query.params(), &given)?;
    let bindings = Bindings::new(values, declared_list(query.params()));
    repl.run_sql_with(&query.sql, &bindings).await
}

/// `\d`: every table with its kind, column count and row count where cheap.
async fn tables_batch(repl: &Repl) -> Result<RecordBatch> {
    let session = repl.session();
    let schema = session.schema();
    let mut names = Vec::new();
    let mut kinds = Vec::new();
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    for name in SchemaProvider::table_names(schema) {
        let kind = if schema.is_root_table(&name) {
            "data root"
        } else if name == "stages" && schema.uses_default_stages() {
            "default"
        } else {
            "session"
        };
        match session.context().table_provider(name.as_str()).await {
            Ok(provider) => {
                columns.push(Some(provider.schema().fields().len() as u64));
                let cheap = provider.downcast_ref::<ListingTable>().is_some()
                    || provider.downcast_ref::<MemTable>().is_some();
                let count = if cheap {
                    match session.context().table(name.as_str()).await {
                        Ok(frame) => frame.count().await.ok().map(|n| n as u64),
                        Err(_) => None,
                    }
                } else {
                    None
                };
                rows.push(count);
                kinds.push(kind.to_string());
            }
            Err(e) => {
                columns.push(None);
                rows.push(None);
                kinds.push(format!("unusable: {}", Error::from(e)));
            }
        }
        names.push(name);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("columns", DataType::UInt64, true),
        Field::new("rows", DataType::UInt64, true),
    ]));
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(names)),
        Arc::new(StringArray::from(kinds)),
        Arc::new(UInt64Array::from(columns)),
        Arc::new(UInt64Array::from(rows)),
    ];
    Ok(RecordBatch::try_new(schema, arrays).map_err(datafusion::error::DataFusionError::from)?)
}

/// `\d NAME`: a table's columns.
async fn columns_batch(repl: &Repl, name: &str) -> Result<RecordBatch> {
    let provider = repl.session().context().table_provider(name).await?;
    let fields = provider.schema().fields().clone();
    let schema = Arc::new(Schema::new(vec![
        Field::new("column", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("nullable", DataType::Utf8, false),
    ]));
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            fields.iter().map(|f| f.name().clone()),
        )),
        Arc::new(StringArray::from_iter_values(
            fields.iter().map(|f| f.data_type().to_string()),
        )),
        Arc::new(StringArray::from_iter_values(
            fields
                .iter()
                .map(|f| if f.is_nullable() { "yes" } else { "no" }),
        )),
    ];
    Ok(RecordBatch::try_new(schema, arrays).map_err(datafusion::error::DataFusionError::from)?)
}

/// `\df [PATTERN]`: the sales functions matching, with their documentation, then the built-in
/// functions whose names match.
fn functions_matching(repl: &Repl, pattern: &str) -> RecordBatch {
    let pattern = pattern.trim_matches('*').to_ascii_lowercase();
    let matches = |name: &str| pattern.is_empty() || name.to_ascii_lowercase().contains(&pattern);
    let sales: Vec<_> = catalog().into_iter().filter(|f| matches(&f.name)).collect();
    let batch = functions_batch(&sales);
    let state = repl.session().context().state();
    let mut builtin: Vec<(String, &str, String)> = Vec::new();
    let documented = |doc: Option<&datafusion::logical_expr::Documentation>| {
        doc.map(|d| (d.syntax_example.clone(), d.description.clone()))
            .unwrap_or_default()
    };
    for (name, udf) in state.scalar_functions() {
        if matches(name) && !sales.iter().any(|f| &f.name == name) {
            let (syntax, description) = documented(udf.documentation());
            builtin.push((
                name.clone(),
                "built-in scalar",
                format!("{syntax}\u{1f}{description}"),
            ));
        }
    }
    for (name, udaf) in state.aggregate_functions() {
        if matches(name) && !sales.iter().any(|f| &f.name == name) {
            let (syntax, description) = documented(udaf.documentation());
            builtin.push((
                name.clone(),
                "built-in aggregate",
                format!("{syntax}\u{1f}{description}"),
            ));
        }
    }
    for (name, udwf) in state.window_functions() {
        if matches(name) {
            let (syntax, description) = documented(udwf.documentation());
            builtin.push((
                name.clone(),
                "built-in window",
                format!("{syntax}\u{1f}{description}"),
            ));
        }
    }
    builtin.sort();
    let mut names: Vec<String> = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    let mut syntaxes: Vec<String> = Vec::new();
    let mut descriptions: Vec<String> = Vec::new();
    let mut arguments: Vec<String> = Vec::new();
    let mut examples: Vec<String> = Vec::new();
    for row in 0..batch.num_rows() {
        let text = |column: usize| {
            batch
                .column(column)
                .as_any()
                .downcast_ref::<StringArray>()
                .map_or(String::new(), |a| a.value(row).to_string())
        };
        names.push(text(0));
        kinds.push(text(1));
        syntaxes.push(text(2));
        descriptions.push(text(3));
        arguments.push(text(4));
        examples.push(text(5));
    }
    for (name, kind, doc) in builtin {
        let (syntax, description) = doc.split_once('\u{1f}').unwrap_or_default();
        names.push(name);
        kinds.push(kind.to_string());
        syntaxes.push(syntax.to_string());
        descriptions.push(description.to_string());
        arguments.push(String::new());
        examples.push(String::new());
    }
    let arrays: Vec<ArrayRef> = [names, kinds, syntaxes, descriptions, arguments, examples]
        .into_iter()
        .map(|column| Arc::new(StringArray::from(column)) as ArrayRef)
        .collect();
    RecordBatch::try_new(batch.schema(), arrays).expect("the same columns as the sales listing")
}

/// Opens `$VISUAL`/`$EDITOR` (else `vi`) on `text` and returns what was saved.
pub fn edit(text: &str) -> Result<String> {
    let mut file = tempfile::Builder::new()
        .prefix("salesql-")
        .suffix(".sql")
        .tempfile()
        .map_err(|e| Error::io("a temporary file", e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(file.path(), e))?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_string());
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(parts)
        .arg(file.path())
        .status()
        .map_err(|e| Error::io(program, e))?;
    if !status.success() {
        return Err(Error::Refused(format!(
            "{editor} exited with {status}; nothing was run"
        )));
    }
    std::fs::read_to_string(file.path()).map_err(|e| Error::io(file.path(), e))
}
