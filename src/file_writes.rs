//! Statements that write files, `COPY … TO` and `INSERT INTO` a table of files, either finish
//! or leave the files as they were.
//!
//! When a statement fails midway, DataFusion still completes every file it had started. On its
//! own, a failed `COPY` would leave a partial file, or an empty one in place of the file it was
//! replacing, and a failed `INSERT` would leave the rows written so far in the table. So:
//!
//! - a `COPY` writes to a hidden staging location beside its target (`.salesql-staging-…`),
//!   and its files are moved into place only once the statement has succeeded;
//! - an `INSERT` only adds files to its table's folder, so after a failed one the files that
//!   were not there before it are deleted.
//!
//! A statement cancelled with Ctrl-C (in the REPL, or in `salesql query`) is rolled back the
//! same way, in the background; the next statement and the process's exit wait for that.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use datafusion::datasource::listing::{ListingTable, ListingTableUrl};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::dml::CopyTo;
use datafusion::logical_expr::{Analyze, DmlStatement, LogicalPlan, WriteOp};
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::import::staging::remove_empty_parents;

/// The prefix of a staging location's name.
const STAGING: &str = ".salesql-staging-";

/// The `COPY` option that tells DataFusion to write one file (`true`) or a folder (`false`).
const SINGLE_FILE_OUTPUT: &str = "single_file_output";

/// Rollbacks of statements dropped before they ended, still running.
static ROLLBACKS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// The files a running statement writes, until it is known whether it succeeded.
pub struct FileWrites {
    /// `None` once committed or rolled back.
    pending: Option<Pending>,
}

/// What to do with a statement's files once it ends.
enum Pending {
    /// A `COPY` writing to a staging location.
    Staged(Box<Staging>),
    /// An `INSERT` adding files to a table's folder.
    Added(Box<Insertion>),
}

/// An `INSERT` into `table`, whose folder is `folder`, which held `before`.
struct Insertion {
    table: String,
    store: Arc<dyn ObjectStore>,
    folder: ListingTableUrl,
    before: HashSet<Path>,
}

/// A `COPY` writing under `staging`, whose files belong under `target`.
struct Staging {
    store: Arc<dyn ObjectStore>,
    staging: ListingTableUrl,
    target: ListingTableUrl,
    /// The staging location on the local disk, to remove the folders it leaves.
    local: Option<PathBuf>,
    /// The nearest local folder above the staging location that existed before: the folders
    /// below it that writing creates are removed with the staging location.
    existing: Option<PathBuf>,
}

impl FileWrites {
    /// Prepares `plan` to run: a `COPY` is redirected to its staging location, and an `INSERT`
    /// into a table of files has its folder listed. Returns the plan to run, and the writes to
    /// settle once it has run (`None` when the plan writes no files).
    pub async fn prepare(
        context: &SessionContext,
        plan: LogicalPlan,
    ) -> Result<(LogicalPlan, Option<Self>)> {
        match plan {
            LogicalPlan::Copy(copy) => {
                let (copy, pending) = stage_copy(context, copy)?;
                Ok((LogicalPlan::Copy(copy), Some(Self::new(pending))))
            }
            LogicalPlan::Dml(DmlStatement {
                op: WriteOp::Insert(_),
                ref target,
                ref table_name,
                ..
            }) => {
                let Some(folder) = source_as_provider(target).ok().and_then(|provider| {
                    provider
                        .downcast_ref::<ListingTable>()
                        .and_then(|table| table.table_paths().first().cloned())
                }) else {
                    return Ok((plan, None));
                };
                let store = store_of(context, &folder)?;
                let before = list(&store, folder.prefix())
                    .await
                    .map_err(Error::object_store(format!(
                        "listing the files of {} before INSERT",
                        folder.as_str()
                    )))?;
                let pending = Pending::Added(Box::new(Insertion {
                    table: table_name.to_string(),
                    store,
                    folder,
                    before,
                }));
                Ok((plan, Some(Self::new(pending))))
            }
            // EXPLAIN ANALYZE runs the statement it explains.
            LogicalPlan::Analyze(analyze) => {
                let input = Arc::unwrap_or_clone(analyze.input);
                let (input, writes) = Box::pin(Self::prepare(context, input)).await?;
                let analyze = Analyze {
                    input: Arc::new(input),
                    ..analyze
                };
                Ok((LogicalPlan::Analyze(analyze), writes))
            }
            other => Ok((other, None)),
        }
    }

    fn new(pending: Pending) -> Self {
        Self {
            pending: Some(pending),
        }
    }

    /// The statement succeeded: a `COPY`'s files are moved into place.
    pub async fn commit(mut self) -> Result<()> {
        match self.pending.take() {
            Some(Pending::Staged(copy)) => {
                let Staging {
                    store,
                    staging,
                    target,
                    local,
                    ..
                } = *copy;
                move_into_place(&store, staging.prefix(), target.prefix())
                    .await
                    .map_err(Error::object_store(format!(
                        "COPY wrote its files, but moving them from {} to {} failed \
                         (what was not moved is still there)",
                        staging.as_str(),
                        target.as_str()
                    )))?;
                // A staged folder stays behind once its files are moved.
                if let Some(path) = &local {
                    let _ = remove_path(path);
                }
                Ok(())
            }
            Some(Pending::Added(_)) | None => Ok(()),
        }
    }

    /// The statement failed: what it wrote is removed. A failure to remove is returned, so
    /// that it can be reported beside the statement's own error.
    pub async fn roll_back(mut self) -> Result<()> {
        match self.pending.take() {
            Some(pending) => pending.undo().await,
            None => Ok(()),
        }
    }
}

impl Drop for FileWrites {
    /// A statement dropped before it ended (cancelled with Ctrl-C) is rolled back in the
    /// background; [`settle_rollbacks`] waits for that.
    fn drop(&mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let rollback = runtime.spawn(async move {
                    if let Err(e) = pending.undo().await {
                        eprintln!("warning: {e}");
                    }
                });
                if let Ok(mut rollbacks) = ROLLBACKS.lock() {
                    rollbacks.push(rollback);
                }
            }
            Err(_) => eprintln!(
                "warning: a cancelled statement's files at {} were not removed",
                pending.location()
            ),
        }
    }
}

/// Waits, for up to `limit`, for the rollbacks of cancelled statements: before the next
/// statement runs, and before the process exits.
pub async fn settle_rollbacks(limit: Duration) {
    let rollbacks = ROLLBACKS
        .lock()
        .map(|mut rollbacks| std::mem::take(&mut *rollbacks))
        .unwrap_or_default();
    if rollbacks.is_empty() {
        return;
    }
    if tokio::time::timeout(limit, futures::future::join_all(rollbacks))
        .await
        .is_err()
    {
        eprintln!(
            "warning: removing a cancelled statement's files took over {} s; some may be left",
            limit.as_secs()
        );
    }
}

impl Pending {
    /// Where the statement writes.
    fn location(&self) -> &str {
        match self {
            Pending::Staged(copy) => copy.staging.as_str(),
            Pending::Added(insertion) => insertion.folder.as_str(),
        }
    }

    /// Removes what the statement wrote.
    async fn undo(self) -> Result<()> {
        match self {
            Pending::Staged(copy) => {
                let Staging {
                    store,
                    staging,
                    local,
                    existing,
                    ..
                } = *copy;
                let removed =
                    match &local {
                        // Also removes the folders, and any upload left half done.
                        Some(path) => remove_path(path).map_err(|e| Error::io(path, e)),
                        None => remove_staged(&store, staging.prefix()).await.map_err(
                            Error::object_store(format!(
                                "removing the partial output of COPY at {}",
                                staging.as_str()
                            )),
                        ),
                    };
                if let (Some(path), Some(existing)) = (&local, &existing) {
                    remove_empty_parents(existing, path);
                }
                removed
            }
            Pending::Added(insertion) => insertion.undo().await,
        }
    }
}

impl Insertion {
    /// Deletes the files the INSERT added: those not in the folder before it, when they all
    /// carry the one write id DataFusion gives the files of a statement. Files another writer
    /// added meanwhile cannot be told apart from them otherwise, so then nothing is deleted.
    async fn undo(self) -> Result<()> {
        let context = format!(
            "removing the files a failed INSERT added to {}",
            self.folder.as_str()
        );
        let added: Vec<Path> = list(&self.store, self.folder.prefix())
            .await
            .map_err(Error::object_store(context.clone()))?
            .into_iter()
            .filter(|file| !self.before.contains(file))
            .collect();
        let ids: HashSet<Option<&str>> = added
            .iter()
            .map(|file| file.filename().and_then(write_id))
            .collect();
        if ids.len() > 1 || ids.contains(&None) {
            let names: Vec<String> = added.iter().map(ToString::to_string).collect();
            return Err(Error::Table {
                table: self.table.clone(),
                message: format!(
                    "a failed INSERT left the files it wrote: other files were added to {} \
                     meanwhile, and they cannot be told apart ({})",
                    self.folder.as_str(),
                    names.join(", ")
                ),
            });
        }
        for file in &added {
            self.store
                .delete(file)
                .await
                .map_err(Error::object_store(context.clone()))?;
        }
        self.remove_emptied_folders(&added);
        Ok(())
    }

    /// On the local disk, removes the partition folders (`p=1/`) the INSERT created, once
    /// emptied: the store leaves folders behind.
    fn remove_emptied_folders(&self, deleted: &[Path]) {
        let Some(table) = local_path(&self.folder) else {
            return;
        };
        for file in deleted {
            let Some(rest) = file.prefix_match(self.folder.prefix()) else {
                continue;
            };
            let mut path = table.clone();
            path.extend(rest.map(|part| part.as_ref().to_string()));
            if path != table {
                remove_empty_parents(&table, &path);
            }
        }
    }
}

/// The write id in the name of a file DataFusion wrote: 16 letters or digits, then `_` or `.`
/// (`{id}_{n}.csv`, or `{id}.csv` in a partition folder).
fn write_id(name: &str) -> Option<&str> {
    let id = name.get(..16)?;
    let next = name[16..].chars().next()?;
    (id.chars().all(|c| c.is_ascii_alphanumeric()) && (next == '_' || next == '.')).then_some(id)
}

/// `copy` redirected to a staging location beside its target, with what settles it.
fn stage_copy(context: &SessionContext, mut copy: CopyTo) -> Result<(CopyTo, Pending)> {
    let target = ListingTableUrl::parse(&copy.output_url)?;
    let store = store_of(context, &target)?;
    // DataFusion writes one file, or a folder of files, as the target's URL says (a trailing
    // slash, or a name without an extension, means a folder). The staging location's name
    // would say otherwise, so the target's answer is passed on as the option that decides.
    let single_file = !target.is_collection() && target.file_extension().is_some();
    copy.options
        .entry(SINGLE_FILE_OUTPUT.to_string())
        .or_insert_with(|| single_file.to_string());

    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("{STAGING}{:x}-{nonce:x}", std::process::id());
    let staging_url = staging_url(&target, &name);
    let staging = ListingTableUrl::parse(&staging_url)?;
    let local = local_path(&staging);
    let existing = local.as_deref().and_then(existing_folder_above);
    let pending = Pending::Staged(Box::new(Staging {
        store,
        staging,
        target,
        local,
        existing,
    }));
    copy.output_url = staging_url;
    Ok((copy, pending))
}

/// The staging location called `name` for `target`: a folder (or a bucket) stages inside
/// itself, a file beside itself.
fn staging_url(target: &ListingTableUrl, name: &str) -> String {
    let url = target.as_str();
    let path = AsRef::<url::Url>::as_ref(target).path();
    match url.rsplit_once('/') {
        Some((parent, file)) if !target.is_collection() && !path.trim_matches('/').is_empty() => {
            format!("{parent}/{name}-{file}")
        }
        _ => format!("{}/{name}/", url.trim_end_matches('/')),
    }
}

/// Where `url` is on the local disk, if it is there.
fn local_path(url: &ListingTableUrl) -> Option<PathBuf> {
    (url.scheme() == "file")
        .then(|| AsRef::<url::Url>::as_ref(url).to_file_path().ok())
        .flatten()
}

/// The nearest folder above `path` that exists.
fn existing_folder_above(path: &std::path::Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|folder| folder.exists())
        .map(std::path::Path::to_path_buf)
}

/// The object store that serves `url`.
fn store_of(context: &SessionContext, url: &ListingTableUrl) -> Result<Arc<dyn ObjectStore>> {
    Ok(context.runtime_env().object_store(url.object_store())?)
}

/// Moves the file at `staging`, or every file under it, to the same place under `target`.
async fn move_into_place(
    store: &Arc<dyn ObjectStore>,
    staging: &Path,
    target: &Path,
) -> object_store::Result<()> {
    if store.head(staging).await.is_ok() {
        return store.rename(staging, target).await;
    }
    for from in list(store, staging).await? {
        let Some(rest) = from.prefix_match(staging) else {
            continue;
        };
        let to: Path = target.parts().chain(rest).collect();
        store.rename(&from, &to).await?;
    }
    Ok(())
}

/// Every file under `folder`.
async fn list(store: &Arc<dyn ObjectStore>, folder: &Path) -> object_store::Result<HashSet<Path>> {
    store
        .list(Some(folder))
        .map_ok(|meta| meta.location)
        .try_collect()
        .await
}

/// Deletes the file at `location`, or every file under it.
async fn remove_staged(store: &Arc<dyn ObjectStore>, location: &Path) -> object_store::Result<()> {
    if store.head(location).await.is_ok() {
        return store.delete(location).await;
    }
    for file in list(store, location).await? {
        store.delete(&file).await?;
    }
    Ok(())
}

/// Removes a local file or folder, if it is there.
fn remove_path(path: &std::path::Path) -> std::io::Result<()> {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match removed {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(target: &str) -> String {
        staging_url(&ListingTableUrl::parse(target).unwrap(), ".s")
    }

    #[test]
    fn a_file_stages_beside_itself_and_a_folder_or_bucket_inside_itself() {
        assert_eq!(staged("s3://b/out/x.csv"), "s3://b/out/.s-x.csv");
        assert_eq!(staged("s3://b/x.csv"), "s3://b/.s-x.csv");
        assert_eq!(staged("s3://b/out/plain"), "s3://b/out/.s-plain");
        assert_eq!(staged("s3://b/out/"), "s3://b/out/.s/");
        assert_eq!(staged("s3://b"), "s3://b/.s/");
        assert_eq!(staged("s3://b/"), "s3://b/.s/");
        assert_eq!(staged("/tmp/out/x.csv"), "file:///tmp/out/.s-x.csv");
        assert_eq!(staged("/tmp/my out/"), "file:///tmp/my%20out/.s/");
    }

    #[test]
    fn only_datafusions_file_names_carry_a_write_id() {
        assert_eq!(write_id("kYpbesyujIh7ZQ27_0.csv"), Some("kYpbesyujIh7ZQ27"));
        assert_eq!(
            write_id("kYpbesyujIh7ZQ27.parquet"),
            Some("kYpbesyujIh7ZQ27")
        );
        assert_eq!(write_id("kYpbesyujIh7ZQ27x.csv"), None);
        assert_eq!(write_id("part-00000.parquet"), None);
        assert_eq!(write_id(".salesql-staging-1"), None);
        assert_eq!(write_id("é"), None);
    }
}
