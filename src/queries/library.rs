//! Where saved queries are found (SPEC §4): a path, then `--queries DIR` / `SALESQL_QUERIES`,
//! then `./queries`, then the queries built into the binary from the repository's `queries/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::embedded::BUILTIN_QUERIES;
use crate::error::{Error, Result};
use crate::queries::header::{Header, ParamDecl, parse_header};

/// Where a saved query comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryOrigin {
    /// A `.sql` file.
    File(PathBuf),
    /// Built into the binary.
    Builtin,
}

impl std::fmt::Display for QueryOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryOrigin::File(path) => write!(f, "{}", path.display()),
            QueryOrigin::Builtin => f.write_str("built-in"),
        }
    }
}

/// A saved query: its name, header and SQL.
#[derive(Debug, Clone)]
pub struct SavedQuery {
    /// The file stem.
    pub name: String,
    /// Where it was found.
    pub origin: QueryOrigin,
    /// Its description and declared parameters.
    pub header: Header,
    /// The whole file, header included.
    pub sql: String,
}

impl SavedQuery {
    /// Parses a saved query's text; errors name the query and the header line.
    pub fn parse(name: &str, origin: QueryOrigin, sql: String) -> Result<Self> {
        let header = parse_header(&sql).map_err(|message| {
            Error::Usage(format!("saved query `{name}` ({origin}): {message}"))
        })?;
        Ok(Self {
            name: name.to_string(),
            origin,
            header,
            sql,
        })
    }

    /// The declared parameters.
    pub fn params(&self) -> &[ParamDecl] {
        &self.header.params
    }
}

/// The folders searched for saved queries, in order.
#[derive(Debug, Clone, Default)]
pub struct QueryLibrary {
    dirs: Vec<PathBuf>,
}

impl QueryLibrary {
    /// The library searching `--queries DIR` (when given) then `./queries`.
    pub fn new(queries_dir: Option<&Path>) -> Self {
        let mut dirs: Vec<PathBuf> = queries_dir.map(Path::to_path_buf).into_iter().collect();
        dirs.push(PathBuf::from("queries"));
        Self { dirs }
    }

    /// Finds the saved query named `name_or_path`: a path to a `.sql` file, or a name looked
    /// up in the folders then among the built-ins.
    pub fn find(&self, name_or_path: &str) -> Result<SavedQuery> {
        let as_path = Path::new(name_or_path);
        let looks_like_path = name_or_path.ends_with(".sql")
            || name_or_path.contains(std::path::MAIN_SEPARATOR)
            || name_or_path.contains('/');
        // A folder given where a query was meant (a path, or a name no query has).
        let folder = || {
            Error::Usage(format!(
                "saved query {name_or_path}: a folder, not a saved query (give --queries \
                 {name_or_path} to look up names in it)"
            ))
        };
        if looks_like_path {
            if as_path.is_file() {
                return read_query_file(as_path);
            }
            return Err(match as_path.is_dir() {
                true => folder(),
                false => Error::Usage(format!("saved query {name_or_path}: no such file")),
            });
        }
        for dir in &self.dirs {
            let candidate = dir.join(format!("{name_or_path}.sql"));
            if candidate.is_file() {
                return read_query_file(&candidate);
            }
        }
        if let Some((name, sql)) = BUILTIN_QUERIES
            .iter()
            .find(|(name, _)| *name == name_or_path)
        {
            return SavedQuery::parse(name, QueryOrigin::Builtin, (*sql).to_string());
        }
        if as_path.is_dir() {
            return Err(folder());
        }
        let known: Vec<String> = self.list().into_iter().map(|q| q.name).collect();
        Err(Error::Usage(format!(
            "no saved query named `{name_or_path}`; known: {}",
            known.join(", ")
        )))
    }

    /// Every saved query visible, by name; a folder's query shadows a built-in of the same
    /// name. Files that fail to parse are listed with their error on stderr and skipped.
    pub fn list(&self) -> Vec<SavedQuery> {
        let mut found: BTreeMap<String, SavedQuery> = BTreeMap::new();
        for dir in &self.dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "sql"))
                .collect();
            paths.sort();
            for path in paths {
                match read_query_file(&path) {
                    Ok(query) => {
                        found.entry(query.name.clone()).or_insert(query);
                    }
                    Err(e) => eprintln!("warning: {e}"),
                }
            }
        }
        for (name, sql) in BUILTIN_QUERIES {
            if found.contains_key(*name) {
                continue;
            }
            match SavedQuery::parse(name, QueryOrigin::Builtin, (*sql).to_string()) {
                Ok(query) => {
                    found.insert(query.name.clone(), query);
                }
                Err(e) => eprintln!("warning: {e}"),
            }
        }
        found.into_values().collect()
    }
}

/// Reads and parses the saved query in `path`.
fn read_query_file(path: &Path) -> Result<SavedQuery> {
    let sql = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("query")
        .to_string();
    SavedQuery::parse(&name, QueryOrigin::File(path.to_path_buf()), sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_shadows_builtins_and_paths_win() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("funnel.sql"),
            "-- description: mine\nSELECT 1",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("extra.sql"),
            "-- description: extra\nSELECT 2",
        )
        .unwrap();
        let library = QueryLibrary::new(Some(dir.path()));
        let funnel = library.find("funnel").unwrap();
        assert_eq!(funnel.header.description.as_deref(), Some("mine"));
        assert_eq!(
            funnel.origin,
            QueryOrigin::File(dir.path().join("funnel.sql"))
        );
        let by_path = library
            .find(dir.path().join("extra.sql").to_str().unwrap())
            .unwrap();
        assert_eq!(by_path.name, "extra");
        let folder = library.find(dir.path().to_str().unwrap()).unwrap_err();
        assert!(
            folder.to_string().contains("a folder, not a saved query"),
            "{folder}"
        );
        assert_eq!(folder.exit_code(), 2);
        let names: Vec<String> = library.list().into_iter().map(|q| q.name).collect();
        assert!(names.contains(&"extra".to_string()));
        assert!(names.contains(&"quota_attainment".to_string()));
    }

    #[test]
    fn unknown_names_are_usage_errors_listing_known_queries() {
        let err = QueryLibrary::new(None).find("funel").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("known: "), "{err}");
        assert!(err.to_string().contains("funnel"), "{err}");
    }
}
