//! Where the REPL keeps its history: `--history-file`, else `$XDG_STATE_HOME/salesql/history`,
//! else `~/.local/state/salesql/history` — never the current directory.

use std::path::{Path, PathBuf};

/// The history file to use, with its folder created; `None` when there is nowhere to keep it.
pub fn history_path(given: Option<&Path>) -> Option<PathBuf> {
    let path = match given {
        Some(path) => path.to_path_buf(),
        None => {
            let state = std::env::var_os("XDG_STATE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/state"))
                })?;
            state.join("salesql").join("history")
        }
    };
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        eprintln!(
            "warning: history will not be kept: cannot create {}: {e}",
            parent.display()
        );
        return None;
    }
    Some(path)
}
