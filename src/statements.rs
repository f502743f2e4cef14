//! Runs SQL text: splits it into statements, plans each one, refuses any that would write
//! under the data root, binds parameters as typed literals (never as text), executes, and
//! streams rows to the output. A script stops at its first failing statement.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::common::ParamValues;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{DdlStatement, Expr, LogicalPlan, WriteOp};
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::dialect::dialect_from_str;

use crate::catalog::damaged_files;
use crate::error::{Error, Result};
use crate::file_writes::{self, FileWrites};
use crate::output::{Output, ResultSummary};
use crate::session::Session;

/// Values for a script's `$name` placeholders, and how to explain a missing one.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    values: HashMap<String, ScalarValue>,
    /// Appended to "no value for `$x`" errors: what the caller can do about it.
    hint: String,
}

impl Bindings {
    /// Bindings from typed values; `hint` completes errors about missing parameters.
    pub fn new(values: ParamValues, hint: impl Into<String>) -> Self {
        let values = match values {
            ParamValues::Map(map) => map.into_iter().map(|(k, v)| (k, v.value)).collect(),
            ParamValues::List(_) => HashMap::new(),
        };
        Self {
            values,
            hint: hint.into(),
        }
    }

    /// The bound names and values.
    pub fn values(&self) -> &HashMap<String, ScalarValue> {
        &self.values
    }

    /// Binds the parameters `used` by `plan` (its placeholders, as `$name`).
    fn bind(&self, plan: LogicalPlan, used: &HashSet<String>) -> Result<LogicalPlan> {
        if used.is_empty() {
            return Ok(plan);
        }
        let mut used: Vec<&String> = used.iter().collect();
        used.sort();
        for id in &used {
            let name = id.trim_start_matches('$');
            if name.chars().all(|c| c.is_ascii_digit()) {
                return Err(Error::Parameter {
                    name: id.to_string(),
                    message: "positional parameters are not supported; use named ones ($name)"
                        .into(),
                });
            }
            if !self.values.contains_key(name) {
                return Err(Error::Parameter {
                    name: name.to_string(),
                    message: format!(
                        "the statement uses ${name} but no value is given; {}",
                        self.hint
                    ),
                });
            }
        }
        let values = ParamValues::Map(
            self.values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect(),
        );
        Ok(plan.with_param_values(values)?)
    }

    /// `error` blamed on the parameter that caused it, when exactly one of the parameters the
    /// statement uses (`used`, as `$name`) clearly did:
    /// - a DATE compared with a timestamp column is cast to nanoseconds, which hold the years
    ///   1677 to 2262 only, and DataFusion's refusal names the value in days;
    /// - a sales function refusing an argument while the statement is planned names itself
    ///   and ends its message with "not VALUE" (`fiscal_trunc(…granularity…)`:
    ///   "fiscal_trunc: …, not 'fortnight'"), the
    ///   parameter stands in one of that function's arguments (`takers`, from
    ///   [`functions_taking_placeholders`]), and the statement's text `sql` does not hold the
    ///   value itself (a literal or a constant expression may be at fault then).
    ///
    /// The error then becomes a parameter error (exit code 2) naming it.
    fn blame_for(
        &self,
        error: Error,
        used: &HashSet<String>,
        takers: &HashMap<String, HashSet<String>>,
        sql: &str,
    ) -> Error {
        let text = error.to_string();
        let refusal = text.strip_prefix(PLANNING_ERROR).unwrap_or(&text);
        let refused_by = |id: &str| {
            takers.get(id).is_some_and(|functions| {
                functions
                    .iter()
                    .any(|f| refusal.starts_with(&format!("{f}: ")))
            })
        };
        let mut culprits = self.values.iter().filter_map(|(name, value)| {
            if !used.contains(&format!("${name}")) {
                return None;
            }
            let literal = sql_literal(value);
            let message = match value {
                ScalarValue::Date32(Some(days))
                    if text.contains(&format!("Cannot cast Date32 value {days} to Timestamp")) =>
                {
                    format!(
                        "{value} is compared with timestamps, which hold dates from 1677-09-22 \
                         to 2262-04-11 only; give a date in that range"
                    )
                }
                ScalarValue::Utf8(Some(_))
                | ScalarValue::Int32(Some(_))
                | ScalarValue::Int64(Some(_))
                    if refusal.ends_with(&format!("not {literal}"))
                        && refused_by(&format!("${name}"))
                        && !holds_literal(sql, &literal) =>
                {
                    refusal.to_string()
                }
                _ => return None,
            };
            Some((name, message))
        });
        match (culprits.next(), culprits.next()) {
            (Some((name, message)), None) => Error::Parameter {
                name: name.clone(),
                message,
            },
            _ => error,
        }
    }
}

/// For each placeholder (`$name`) of `plan`, the functions that take it somewhere inside one
/// of their arguments (`fiscal_year(d, $x + 1)` takes `$x`).
fn functions_taking_placeholders(plan: &LogicalPlan) -> HashMap<String, HashSet<String>> {
    let mut takers: HashMap<String, HashSet<String>> = HashMap::new();
    let mut note = |function: &str, args: &[Expr]| {
        for arg in args {
            let _ = arg.apply(|e| {
                if let Expr::Placeholder(placeholder) = e {
                    takers
                        .entry(placeholder.id.clone())
                        .or_default()
                        .insert(function.to_string());
                }
                Ok(TreeNodeRecursion::Continue)
            });
        }
    };
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                match e {
                    Expr::ScalarFunction(call) => note(call.name(), &call.args),
                    Expr::AggregateFunction(call) => note(call.func.name(), &call.params.args),
                    Expr::WindowFunction(call) => note(call.fun.name(), &call.params.args),
                    _ => {}
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    takers
}

/// True when `literal` (`13`, `'fortnight'`) stands in `sql` as a token of its own, not inside
/// a longer number or name.
fn holds_literal(sql: &str, literal: &str) -> bool {
    let continues = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    sql.match_indices(literal).any(|(at, _)| {
        let before = sql[..at].chars().next_back();
        let after = sql[at + literal.len()..].chars().next();
        !before.is_some_and(continues) && !after.is_some_and(continues)
    })
}

/// How long a statement waits for the files of a cancelled one to be removed.
const ROLLBACK_LIMIT: Duration = Duration::from_secs(30);

/// How DataFusion prefixes a planning error's message.
const PLANNING_ERROR: &str = "Error during planning: ";

/// A value as SQL (and the sales functions' messages) write it: text quoted, numbers bare.
fn sql_literal(value: &ScalarValue) -> String {
    match value {
        ScalarValue::Utf8(Some(text)) => format!("'{text}'"),
        other => other.to_string(),
    }
}

/// What running one statement produced.
#[derive(Debug, Clone, Copy)]
pub struct StatementOutcome {
    /// The result's summary, for statements that return rows.
    pub result: Option<ResultSummary>,
    /// Wall time from planning to the last row written.
    pub elapsed: Duration,
}

/// Splits `sql` into statements with the session's SQL dialect.
pub fn parse_statements(session: &Session, sql: &str) -> Result<VecDeque<Statement>> {
    let state = session.context().state();
    let options = state.config().options();
    let dialect_name = &options.sql_parser.dialect;
    let dialect = dialect_from_str(dialect_name)
        .ok_or_else(|| Error::Usage(format!("unsupported SQL dialect `{dialect_name}`")))?;
    let statements = DFParserBuilder::new(sql)
        .with_dialect(dialect.as_ref())
        .with_recursion_limit(options.sql_parser.recursion_limit.get())
        .build()?
        .parse_statements()?;
    Ok(statements)
}

/// Called with the physical plan of a statement that returns rows, just before it runs (the
/// REPL reads its metrics for the progress line).
pub type PlanWatcher<'a> = &'a mut dyn FnMut(&Arc<dyn ExecutionPlan>);

/// Runs every statement of `sql` in order, streaming results to `output` and calling
/// `observe` after each. Stops at the first failure, naming the statement when there are
/// several.
pub async fn run_script(
    session: &Session,
    sql: &str,
    bindings: &Bindings,
    output: &mut Output,
    observe: &mut dyn FnMut(&StatementOutcome),
) -> Result<()> {
    let statements = parse_statements(session, sql)?;
    let count = statements.len();
    for (index, statement) in statements.into_iter().enumerate() {
        let outcome = run_statement(session, statement, bindings, output, &mut |_| {})
            .await
            .map_err(|e| match count {
                1 => e,
                _ => Error::InStatement {
                    index: index + 1,
                    count,
                    source: Box::new(e),
                },
            })?;
        observe(&outcome);
    }
    Ok(())
}

/// Plans, checks, binds and runs one statement.
pub async fn run_statement(
    session: &Session,
    statement: Statement,
    bindings: &Bindings,
    output: &mut Output,
    watch: PlanWatcher<'_>,
) -> Result<StatementOutcome> {
    let started = Instant::now();
    let state = session.context().state();
    let sql = statement.to_string();
    let plan = state.statement_to_plan(statement).await?;
    refuse_writes_under_root(session, &plan)?;
    let used = plan.get_parameter_names()?;
    let takers = functions_taking_placeholders(&plan);
    let bound = match bindings.bind(plan, &used) {
        Ok(plan) => run_bound(session, plan, output, watch).await,
        Err(e) => Err(e),
    };
    let result = bound.map_err(|e| bindings.blame_for(e, &used, &takers, &sql))?;
    Ok(StatementOutcome {
        result,
        elapsed: started.elapsed(),
    })
}

/// Runs a bound plan: its rows go to `output`. The files a `COPY` or an `INSERT` writes are
/// kept only when it succeeds (see [`FileWrites`]), except on a cluster, whose executors write
/// where this process may not see.
async fn run_bound(
    session: &Session,
    plan: LogicalPlan,
    output: &mut Output,
    watch: PlanWatcher<'_>,
) -> Result<Option<ResultSummary>> {
    if session.on_cluster() {
        return run_plan(session, plan, output, watch).await;
    }
    // A statement cancelled just before may still be removing its files.
    file_writes::settle_rollbacks(ROLLBACK_LIMIT).await;
    let (plan, writes) = FileWrites::prepare(session.context(), plan).await?;
    let outcome = run_plan(session, plan, output, watch).await;
    let Some(writes) = writes else {
        return outcome;
    };
    match outcome {
        Ok(summary) => writes.commit().await.map(|()| summary),
        Err(e) => {
            if let Err(left) = writes.roll_back().await {
                eprintln!("warning: {left}");
            }
            Err(e)
        }
    }
}

/// Plans and runs a bound plan, its rows going to `output`.
async fn run_plan(
    session: &Session,
    plan: LogicalPlan,
    output: &mut Output,
    watch: PlanWatcher<'_>,
) -> Result<Option<ResultSummary>> {
    let returns_rows = !matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Statement(_))
        || matches!(
            &plan,
            LogicalPlan::Statement(datafusion::logical_expr::Statement::Execute(_))
        );
    let frame = match session.context().execute_logical_plan(plan.clone()).await {
        Ok(frame) => frame,
        Err(e) if damaged_files::is_decoding_error(&e) => {
            let damage = damage_in_input(session, &plan).await;
            return Err(damage.unwrap_or(Error::DataFusion(e)));
        }
        Err(e) => return Err(e.into()),
    };
    if !returns_rows {
        frame.collect().await?;
        return Ok(None);
    }
    let tables = damaged_files::scanned_tables(frame.logical_plan());
    let task = Arc::new(frame.task_ctx());
    let physical = frame.create_physical_plan().await?;
    watch(&physical);
    let stream = execute_stream(Arc::clone(&physical), Arc::clone(&task))?;
    match output.write_stream(stream).await {
        Ok(summary) => Ok(Some(summary)),
        Err(Error::DataFusion(e)) if damaged_files::is_decoding_error(&e) => {
            let damage =
                damaged_files::locate_damage(&physical, &task.runtime_env(), &tables).await;
            Err(damage.unwrap_or(Error::DataFusion(e)))
        }
        Err(e) => Err(e),
    }
}

/// The damaged file behind a decoding error of a statement that runs its query while it is
/// planned (`CREATE TABLE … AS SELECT`): that query is planned again on its own, and its scans'
/// files decoded. `None` for other statements, or when no file is found damaged.
async fn damage_in_input(session: &Session, plan: &LogicalPlan) -> Option<Error> {
    let LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(create)) = plan else {
        return None;
    };
    let state = session.context().state();
    let physical = state.create_physical_plan(&create.input).await.ok()?;
    let tables = damaged_files::scanned_tables(&create.input);
    damaged_files::locate_damage(&physical, state.runtime_env(), &tables).await
}

/// Refuses statements that would write into the data root: `INSERT`/`DELETE`/`UPDATE` on a
/// table whose files live under it, and `COPY … TO` a location under it.
fn refuse_writes_under_root(session: &Session, plan: &LogicalPlan) -> Result<()> {
    let root = session.root();
    let refuse = |what: String| {
        Err(Error::Refused(format!(
            "{what}: salesql never modifies the data root {}",
            root.display()
        )))
    };
    match plan {
        LogicalPlan::Dml(dml) if !matches!(dml.op, WriteOp::Ctas) => {
            let table = dml.table_name.table();
            if session.schema().is_root_table(table) {
                return refuse(format!("`{}` is a table of the data root", dml.table_name));
            }
            if let Ok(provider) = source_as_provider(&dml.target)
                && let Some(listing) = provider.downcast_ref::<ListingTable>()
                && listing
                    .table_paths()
                    .iter()
                    .any(|p| root.contains_location(p.as_str()))
            {
                return refuse(format!(
                    "`{}` reads files under the data root",
                    dml.table_name
                ));
            }
            Ok(())
        }
        LogicalPlan::Ddl(DdlStatement::DropTable(drop))
            if session.schema().is_root_table(drop.name.table()) =>
        {
            refuse(format!("`{}` is a table of the data root", drop.name))
        }
        LogicalPlan::Copy(copy) if root.contains_location(&copy.output_url) => refuse(format!(
            "COPY to {} writes under the data root",
            copy.output_url
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_is_found_only_as_a_token_of_its_own() {
        assert!(holds_literal("fiscal_year(d, 13)", "13"));
        assert!(holds_literal("WHERE p = 'fortnight'", "'fortnight'"));
        assert!(!holds_literal("LIMIT 130", "13"));
        assert!(!holds_literal("x13 + 1.13", "13"));
        assert!(!holds_literal("DATE '2013-01-01'", "13"));
    }
}
