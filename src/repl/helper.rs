//! The rustyline helper: completion, colours, the "does not parse" hint, and the validator
//! that keeps a statement open until its `;`.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use datafusion::sql::parser::DFParserBuilder;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use crate::repl::completion::{CatalogSnapshot, complete};
use crate::repl::highlight::highlight;
use crate::repl::input::is_complete;

/// The REPL's line-editor helper.
pub struct SqlHelper {
    catalog: Arc<RwLock<CatalogSnapshot>>,
    colours: bool,
}

impl SqlHelper {
    /// A helper completing from `catalog`; `colours` turns highlighting on.
    pub fn new(catalog: Arc<RwLock<CatalogSnapshot>>, colours: bool) -> Self {
        Self { catalog, colours }
    }
}

impl Helper for SqlHelper {}

impl Completer for SqlHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let Ok(catalog) = self.catalog.read() else {
            return Ok((pos, Vec::new()));
        };
        let (start, candidates) = complete(line, pos, &catalog);
        Ok((
            start,
            candidates
                .into_iter()
                .map(|c| Pair {
                    display: c.clone(),
                    replacement: c,
                })
                .collect(),
        ))
    }
}

impl Hinter for SqlHelper {
    type Hint = String;

    /// When the statement is finished (ends with `;`) but does not parse, says why.
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos != line.len()
            || line.trim_start().starts_with('\\')
            || !line.trim_end().ends_with(';')
        {
            return None;
        }
        let error = DFParserBuilder::new(line)
            .with_dialect(&GenericDialect {})
            .build()
            .and_then(|mut parser| parser.parse_statements())
            .err()?;
        let message = error.strip_backtrace();
        let message = message
            .trim_start_matches("SQL error: ParserError(\"")
            .trim_end_matches("\")");
        Some(format!("  ✗ {message}"))
    }
}

impl Highlighter for SqlHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.colours {
            Cow::Owned(highlight(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.colours {
            Cow::Owned(format!("\x1b[2;31m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.colours
    }
}

impl Validator for SqlHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}
