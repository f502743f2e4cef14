//! `query`, `run` and SQL from stdin: run a script against the data root and stream its
//! results to the output.

use crate::cli::Settings;
use crate::commands::{interruptible, open_output};
use crate::error::Result;
use crate::output::Format;
use crate::queries::param::{bind, bind_untyped, declared_list};
use crate::session::Session;
use crate::statements::{Bindings, StatementOutcome, run_script};

/// Runs SQL text; `--param` values are typed by what they look like.
pub async fn run_text(settings: &Settings, sql: &str) -> Result<()> {
    let bindings = Bindings::new(
        bind_untyped(&settings.params),
        "pass it with --param NAME=VALUE",
    );
    run(settings, sql, &bindings).await
}

/// Runs a saved query with its declared parameters bound.
pub async fn run_saved(settings: &Settings, name: &str) -> Result<()> {
    let query = settings.queries.find(name)?;
    let values = bind(query.params(), &settings.params)?;
    let bindings = Bindings::new(
        values,
        format!(
            "declare it in the header of {}; {}",
            query.name,
            declared_list(query.params())
        ),
    );
    run(settings, &query.sql, &bindings).await
}

async fn run(settings: &Settings, sql: &str, bindings: &Bindings) -> Result<()> {
    let session = Session::open(&settings.session).await?;
    let mut output = open_output(settings, Some(&session))?;
    let show_footer = output.format() == Format::Table;
    let mut observe = |outcome: &StatementOutcome| {
        if let (true, Some(result)) = (show_footer, outcome.result) {
            eprintln!("{}", result.describe());
        }
    };
    interruptible(run_script(
        &session,
        sql,
        bindings,
        &mut output,
        &mut observe,
    ))
    .await?;
    output.commit()
}
