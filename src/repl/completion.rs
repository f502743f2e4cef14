//! Tab completion: meta-commands after `\`, saved-query names after `\run`, file paths inside
//! quotes (and after `\i`, `\o`), and in SQL: keywords, table names (first after FROM or JOIN),
//! column names of the tables the statement names (else of all tables; after `alias.` of that
//! table), and function names. It reads a snapshot of the live catalog, refreshed after every
//! statement, so tables a statement creates appear.

use std::collections::BTreeMap;
use std::path::Path;

use datafusion::sql::sqlparser::keywords::ALL_KEYWORDS;

/// What completion knows about the session.
#[derive(Debug, Clone, Default)]
pub struct CatalogSnapshot {
    /// Table names.
    pub tables: Vec<String>,
    /// Columns per table.
    pub columns: BTreeMap<String, Vec<String>>,
    /// Function names (built-in and sales).
    pub functions: Vec<String>,
    /// Saved-query names.
    pub queries: Vec<String>,
}

/// The meta-commands, for completion and help.
pub const META_COMMANDS: &[&str] = &[
    "\\?",
    "\\q",
    "\\d",
    "\\df",
    "\\dq",
    "\\run",
    "\\i",
    "\\set",
    "\\unset",
    "\\format",
    "\\x",
    "\\timing",
    "\\o",
    "\\maxrows",
    "\\e",
];

/// Where the completed word starts, and the candidates for it.
pub fn complete(line: &str, pos: usize, catalog: &CatalogSnapshot) -> (usize, Vec<String>) {
    let before = &line[..pos];
    if let Some(quote_start) = open_quote(before) {
        return complete_path(before, quote_start + 1);
    }
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let current_line = &before[line_start..];
    if current_line.trim_start().starts_with('\\') {
        return complete_meta(before, line_start, catalog);
    }
    let start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
    let word = &before[start..];
    if let Some((qualifier, partial)) = word.rsplit_once('.') {
        let table = resolve_alias(line, qualifier).unwrap_or_else(|| qualifier.to_string());
        let columns = catalog.columns.get(&table).cloned().unwrap_or_default();
        let offset = start + qualifier.len() + 1;
        return (
            offset,
            matching(columns.iter().map(String::as_str), partial, false),
        );
    }
    let previous = previous_keyword(&before[..start]);
    let mentioned = mentioned_tables(line, catalog);
    let mut candidates = Vec::new();
    let tables = matching(catalog.tables.iter().map(String::as_str), word, false);
    if matches!(
        previous.as_deref(),
        Some("FROM" | "JOIN" | "INTO" | "TABLE" | "UPDATE")
    ) {
        return (start, tables);
    }
    let column_sources: Vec<&String> = if mentioned.is_empty() {
        catalog.columns.keys().collect()
    } else {
        mentioned.iter().collect()
    };
    let mut columns: Vec<&str> = column_sources
        .iter()
        .filter_map(|t| catalog.columns.get(*t))
        .flatten()
        .map(String::as_str)
        .collect();
    columns.sort_unstable();
    columns.dedup();
    candidates.extend(matching(columns.into_iter(), word, false));
    candidates.extend(tables);
    candidates.extend(matching(
        catalog.functions.iter().map(String::as_str),
        word,
        false,
    ));
    candidates.extend(matching(ALL_KEYWORDS.iter().copied(), word, true));
    let mut seen = std::collections::HashSet::new();
    candidates.retain(|c| seen.insert(c.clone()));
    (start, candidates)
}

/// Candidates starting with `prefix` (case-insensitively); keywords follow the prefix's case.
fn matching<'a>(items: impl Iterator<Item = &'a str>, prefix: &str, keyword: bool) -> Vec<String> {
    if prefix.is_empty() && keyword {
        return Vec::new();
    }
    let lower = prefix.to_ascii_lowercase();
    let use_lower = keyword && prefix.chars().next().is_some_and(char::is_lowercase);
    let mut found: Vec<String> = items
        .filter(|item| item.to_ascii_lowercase().starts_with(&lower))
        .map(|item| {
            if use_lower {
                item.to_ascii_lowercase()
            } else {
                item.to_string()
            }
        })
        .collect();
    found.sort();
    found
}

fn complete_meta(
    before: &str,
    line_start: usize,
    catalog: &CatalogSnapshot,
) -> (usize, Vec<String>) {
    let line = &before[line_start..];
    let indent = line.len() - line.trim_start().len();
    let command_line = line.trim_start();
    match command_line.split_once(char::is_whitespace) {
        None => (
            line_start + indent,
            META_COMMANDS
                .iter()
                .filter(|c| c.starts_with(command_line))
                .map(|c| (*c).to_string())
                .collect(),
        ),
        Some((command, rest)) => {
            let start =
                before.len() - rest.len() + rest.rfind(char::is_whitespace).map_or(0, |i| i + 1);
            let word = &before[start..];
            match command {
                "\\run" if !rest.trim_start().contains(char::is_whitespace) => (
                    start,
                    matching(catalog.queries.iter().map(String::as_str), word, false),
                ),
                "\\d" => (
                    start,
                    matching(catalog.tables.iter().map(String::as_str), word, false),
                ),
                "\\i" | "\\o" => complete_path(before, start),
                "\\format" => (
                    start,
                    matching(
                        [
                            "table", "csv", "tsv", "json", "ndjson", "markdown", "arrow", "parquet",
                        ]
                        .into_iter(),
                        word,
                        false,
                    ),
                ),
                "\\x" => (
                    start,
                    matching(["on", "off", "auto"].into_iter(), word, false),
                ),
                "\\timing" => (start, matching(["on", "off"].into_iter(), word, false)),
                _ => (start, Vec::new()),
            }
        }
    }
}

/// File paths completing the text from `start`.
fn complete_path(before: &str, start: usize) -> (usize, Vec<String>) {
    let partial = &before[start..];
    let (dir, prefix) = match partial.rfind('/') {
        Some(i) => (&partial[..=i], &partial[i + 1..]),
        None => ("", partial),
    };
    let search = if dir.is_empty() {
        Path::new(".")
    } else {
        Path::new(dir)
    };
    let Ok(entries) = std::fs::read_dir(search) else {
        return (start, Vec::new());
    };
    let mut found: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            name.starts_with(prefix)
                .then(|| format!("{dir}{name}{}", if is_dir { "/" } else { "" }))
        })
        .collect();
    found.sort();
    (start, found)
}

/// The position of an unclosed single quote before the cursor, if any.
fn open_quote(before: &str) -> Option<usize> {
    let mut open = None;
    for (i, c) in before.char_indices() {
        if c == '\'' {
            open = if open.is_some() { None } else { Some(i) };
        }
    }
    open
}

/// The keyword just before the word being completed.
fn previous_keyword(before: &str) -> Option<String> {
    before
        .split(|c: char| c.is_whitespace() || c == '(' || c == ',')
        .rfind(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
}

/// The catalog tables the statement names (after FROM, JOIN or a comma in a FROM list).
fn mentioned_tables(line: &str, catalog: &CatalogSnapshot) -> Vec<String> {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let mut found: Vec<String> = words
        .iter()
        .filter(|w| catalog.tables.iter().any(|t| t.eq_ignore_ascii_case(w)))
        .map(|w| w.to_ascii_lowercase())
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The table behind `alias` in `… FROM table alias` / `table AS alias`.
fn resolve_alias(line: &str, alias: &str) -> Option<String> {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(3)
        .find_map(|w| match w {
            [table, as_keyword, name]
                if as_keyword.eq_ignore_ascii_case("as") && *name == alias =>
            {
                Some(table.to_string())
            }
            _ => None,
        })
        .or_else(|| {
            words.windows(2).find_map(|w| match w {
                [table, name] if *name == alias && !table.eq_ignore_ascii_case("as") => {
                    Some(table.to_string())
                }
                _ => None,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> CatalogSnapshot {
        let mut columns = BTreeMap::new();
        columns.insert(
            "opportunities".into(),
            vec![
                "opportunity_id".into(),
                "owner_id".into(),
                "created_at".into(),
            ],
        );
        columns.insert("reps".into(), vec!["rep_id".into(), "name".into()]);
        CatalogSnapshot {
            tables: vec!["opportunities".into(), "reps".into()],
            columns,
            functions: vec!["window_funnel".into(), "win_rate".into()],
            queries: vec!["funnel".into(), "conversion".into()],
        }
    }

    fn complete_at_end(line: &str) -> Vec<String> {
        complete(line, line.len(), &catalog()).1
    }

    #[test]
    fn tables_after_from_and_columns_of_the_named_tables() {
        assert_eq!(complete_at_end("select * from opp"), ["opportunities"]);
        assert_eq!(
            complete_at_end("select nam"),
            ["name", "names"],
            "the column, then the keyword"
        );
        // With the cursor at the end, the word is the table; in the select list, a column.
        assert_eq!(
            complete_at_end("select own from opportunities"),
            ["opportunities"]
        );
        let line = "select own from opportunities";
        assert_eq!(
            complete(line, 10, &catalog()).1[0],
            "owner_id",
            "columns come first"
        );
        assert_eq!(
            complete("select o.cre from opportunities o", 12, &catalog()).1,
            ["created_at"]
        );
    }

    #[test]
    fn functions_and_keywords_complete_in_sql() {
        let found = complete_at_end("select win");
        assert!(found.contains(&"win_rate".to_string()), "{found:?}");
        assert!(
            found.contains(&"window".to_string()),
            "keywords follow the typed case: {found:?}"
        );
    }

    #[test]
    fn meta_commands_and_saved_queries() {
        assert_eq!(complete_at_end("\\ti"), ["\\timing"]);
        assert_eq!(complete_at_end("\\run fu"), ["funnel"]);
        assert_eq!(complete_at_end("\\d re"), ["reps"]);
        assert_eq!(complete_at_end("\\x a"), ["auto"]);
    }

    #[test]
    fn paths_inside_quotes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("deals.parquet"), b"").unwrap();
        let line = format!("select * from '{}/dea", dir.path().display());
        let (start, found) = complete(&line, line.len(), &catalog());
        assert_eq!(found, [format!("{}/deals.parquet", dir.path().display())]);
        assert_eq!(start, line.find('\'').unwrap() + 1);
    }
}
