//! The data root: where the tables live (a local directory, an object-store URL, or the sample
//! dataset built into the binary), and the object store that reads it.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::runtime_env::RuntimeEnv;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use url::Url;

use crate::catalog::stores::{self, StoreOptions};
use crate::embedded::SAMPLE_FILES;
use crate::error::{Error, Result};

/// The URL under which the built-in sample dataset is served.
pub(crate) const SAMPLE_URL: &str = "sample://builtin/";

/// A data root: every sub-folder holding Parquet files is a table.
#[derive(Debug, Clone)]
pub struct DataRoot {
    /// The root as the user gave it, for messages.
    display: String,
    /// The root's URL, ending in `/`.
    url: Url,
    /// The store that holds the root.
    store: Arc<dyn ObjectStore>,
    /// The root's directory when it is on the local filesystem.
    local_dir: Option<PathBuf>,
}

impl DataRoot {
    /// Opens the data root named on the command line, or the built-in sample when there is none.
    pub fn open(location: Option<&str>, options: &StoreOptions) -> Result<Self> {
        match location {
            None => Ok(Self::builtin_sample()),
            Some(location) if location.trim().is_empty() => Err(Error::Usage(
                "--data is empty: give a directory or a URL such as s3://bucket/prefix".into(),
            )),
            Some(location) => match Url::parse(location) {
                Ok(url) if url.scheme() == "file" => {
                    let path = url.to_file_path().map_err(|()| Error::DataRoot {
                        root: location.to_string(),
                        message: "not a valid file URL".into(),
                    })?;
                    Self::local(&path, location)
                }
                // One-letter schemes are Windows drive letters, not URLs.
                Ok(url) if url.scheme().len() > 1 => {
                    let url = with_trailing_slash(url);
                    let store =
                        stores::build(&url, options).map_err(|message| Error::DataRoot {
                            root: location.to_string(),
                            message,
                        })?;
                    Ok(Self {
                        display: location.to_string(),
                        url,
                        store,
                        local_dir: None,
                    })
                }
                _ => Self::local(FsPath::new(location), location),
            },
        }
    }

    /// The root on the local filesystem at `path`.
    fn local(path: &FsPath, display: &str) -> Result<Self> {
        let not_usable = |message: String| Error::DataRoot {
            root: display.to_string(),
            message,
        };
        let dir = std::fs::canonicalize(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => not_usable("no such directory".into()),
            _ => not_usable(e.to_string()),
        })?;
        if !dir.is_dir() {
            return Err(not_usable("not a directory".into()));
        }
        std::fs::read_dir(&dir).map_err(|e| not_usable(format!("cannot be listed: {e}")))?;
        let url = Url::from_directory_path(&dir)
            .map_err(|()| not_usable("cannot be expressed as a file URL".into()))?;
        Ok(Self {
            display: display.to_string(),
            url,
            store: Arc::new(LocalFileSystem::new()),
            local_dir: Some(dir),
        })
    }

    /// The sample dataset built into the binary, served from memory without copying.
    pub fn builtin_sample() -> Self {
        let store = InMemory::new();
        let url = Url::parse(SAMPLE_URL).expect("a valid constant URL");
        // `InMemory::put` is async but completes without awaiting anything.
        futures::executor::block_on(async {
            for (path, bytes) in SAMPLE_FILES {
                let payload = Bytes::from_static(bytes);
                store
                    .put(&Path::from(*path), payload.into())
                    .await
                    .expect("the in-memory store accepts every put");
            }
        });
        Self {
            display: "(built-in sample)".to_string(),
            url,
            store: Arc::new(store),
            local_dir: None,
        }
    }

    /// Registers the root's object store with DataFusion, so that tables and `COPY` read it.
    pub fn register(&self, runtime: &RuntimeEnv) {
        runtime.register_object_store(&self.url, Arc::clone(&self.store));
    }

    /// The root as the user gave it.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// True when the root is in a remote object store (not local, not the built-in sample).
    pub fn is_remote(&self) -> bool {
        self.local_dir.is_none() && self.url.as_str() != SAMPLE_URL
    }

    /// The root's URL, ending in `/`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The object store that holds the root.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The root as a listing URL (its path inside the object store is its `prefix()`).
    pub fn listing_url(&self) -> Result<ListingTableUrl> {
        Ok(ListingTableUrl::parse(self.url.as_str())?)
    }

    /// The URL of the folder of table `name`, tagged with the table so that DataFusion's
    /// listing cache keeps one entry per table.
    pub fn table_url(&self, name: &str) -> Result<ListingTableUrl> {
        let url = self
            .url
            .join(&format!("{name}/"))
            .map_err(|e| Error::Table {
                table: name.to_string(),
                message: format!("cannot form its URL under {}: {e}", self.url),
            })?;
        let url = ListingTableUrl::parse(url.as_str())?;
        Ok(url.with_table_ref(name.into()))
    }

    /// True when `location` (a path or URL that a statement wants to write) lies under the root.
    pub fn contains_location(&self, location: &str) -> bool {
        if let Some(dir) = &self.local_dir {
            let target = match Url::parse(location) {
                Ok(url) if url.scheme() == "file" => url.to_file_path().ok(),
                Ok(url) if url.scheme().len() > 1 => None,
                _ => Some(PathBuf::from(location)),
            };
            if let Some(target) = target {
                return absolute_lexical(&target).starts_with(dir);
            }
        }
        location.starts_with(self.url.as_str()) || format!("{location}/") == self.url.as_str()
    }
}

/// `path` made absolute and with `.`/`..` resolved (without touching the filesystem, since the
/// path may not exist yet; parents that exist are canonicalized so symlinks resolve).
fn absolute_lexical(path: &FsPath) -> PathBuf {
    let absolute = match std::path::absolute(path) {
        Ok(p) => p,
        Err(_) => path.to_path_buf(),
    };
    let mut resolved = PathBuf::new();
    for component in absolute.components() {
        match component {
            std::path::Component::ParentDir => {
                resolved.pop();
            }
            std::path::Component::CurDir => {}
            other => resolved.push(other),
        }
    }
    // Canonicalize the longest existing ancestor so that symlinked roots compare equal.
    let mut existing = resolved.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(ToOwned::to_owned),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return resolved,
        }
    }
    let mut result = std::fs::canonicalize(&existing).unwrap_or(existing);
    for name in rest.into_iter().rev() {
        result.push(name);
    }
    result
}

/// `url` with a trailing `/`, so that joining a table name appends rather than replaces.
fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_root_contains_its_subpaths_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = DataRoot::open(dir.path().to_str(), &StoreOptions::default()).unwrap();
        let inside = dir.path().join("opportunities/x.parquet");
        assert!(root.contains_location(inside.to_str().unwrap()));
        let sneaky = dir.path().join("a/../../elsewhere.csv");
        assert!(!root.contains_location(sneaky.to_str().unwrap()));
        assert!(!root.contains_location("/tmp/definitely-elsewhere/out.csv"));
    }

    #[test]
    fn missing_root_is_an_error_naming_it() {
        let err = DataRoot::open(Some("/no/such/root"), &StoreOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "data root /no/such/root: no such directory"
        );
        assert_eq!(err.exit_code(), 1);
    }
}
