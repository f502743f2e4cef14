//! The DataFusion schema that serves a data root's tables.
//!
//! The root's folders are listed once when the session opens; a table's files are listed and
//! its footers read only when a statement first uses it, so `select 1` costs nothing and a
//! query over two tables of a large bucket touches only those two. Tables that statements
//! create (`CREATE VIEW`, `CREATE TABLE … AS`) live here too, beside the root's.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::SessionState;

use crate::catalog::root::DataRoot;
use crate::catalog::standard::{default_stages_view, standard_table};
use crate::catalog::table_loader::{TableLayout, Validation};
use crate::error::{Error, Result};

/// The schema holding a data root's tables and the session's own.
#[derive(Debug)]
pub struct DataRootSchema {
    root: DataRoot,
    /// A session without this schema, used to list and read files through the shared
    /// runtime (object stores and caches) without a reference cycle.
    loader: SessionState,
    /// The root's table folders, in name order.
    folders: BTreeSet<String>,
    /// Tables of the root already loaded.
    loaded: tokio::sync::Mutex<HashMap<String, Arc<dyn TableProvider>>>,
    /// Tables that statements of this session created.
    created: RwLock<HashMap<String, Arc<dyn TableProvider>>>,
}

impl DataRootSchema {
    /// Lists the root's folders. Fails, naming the root, when it cannot be listed.
    pub async fn open(root: DataRoot, loader: SessionState) -> Result<Self> {
        let listing_url = root.listing_url()?;
        let listing = root
            .store()
            .list_with_delimiter(Some(listing_url.prefix()))
            .await
            .map_err(|e| Error::DataRoot {
                root: root.display().to_string(),
                message: format!("cannot be listed: {}", crate::error::with_causes(&e)),
            })?;
        let folders: BTreeSet<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|prefix| prefix.filename().map(str::to_string))
            .filter(|name| !name.starts_with('.') && !name.starts_with('_'))
            .collect();
        if folders.is_empty() && listing.objects.is_empty() && root.is_remote() {
            return Err(Error::DataRoot {
                root: root.display().to_string(),
                message: "nothing is stored under this prefix".into(),
            });
        }
        Ok(Self {
            root,
            loader,
            folders,
            loaded: tokio::sync::Mutex::new(HashMap::new()),
            created: RwLock::new(HashMap::new()),
        })
    }

    /// The data root this schema serves.
    pub fn root(&self) -> &DataRoot {
        &self.root
    }

    /// The names of the root's table folders.
    pub fn folders(&self) -> impl Iterator<Item = &str> {
        self.folders.iter().map(String::as_str)
    }

    /// True when `name` is a table of the data root (as opposed to one a statement created).
    pub fn is_root_table(&self, name: &str) -> bool {
        self.folders.contains(name) && !self.is_created(name)
    }

    /// True when the root has no `stages` folder, so the default stage order stands in.
    pub fn uses_default_stages(&self) -> bool {
        !self.folders.contains("stages")
    }

    /// Lists the folder of table `name` and reads every file's footer (used by `check`).
    pub async fn layout(&self, name: &str) -> Result<TableLayout> {
        TableLayout::load(&self.loader, &self.root, name, Validation::AllFiles).await
    }

    fn is_created(&self, name: &str) -> bool {
        self.created
            .read()
            .is_ok_and(|created| created.contains_key(name))
    }

    async fn load(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let mut loaded = self.loaded.lock().await;
        if let Some(table) = loaded.get(name) {
            return Ok(Some(Arc::clone(table)));
        }
        let table: Arc<dyn TableProvider> = if self.folders.contains(name) {
            let validation = if self.root.is_remote() {
                Validation::FirstFile
            } else {
                Validation::AllFiles
            };
            let layout = TableLayout::load(&self.loader, &self.root, name, validation).await?;
            Arc::new(layout.listing_table(&self.loader)?)
        } else if name == "stages" {
            Arc::new(default_stages_view()?)
        } else if standard_table(name).is_some() {
            return Err(Error::Table {
                table: name.to_string(),
                message: format!(
                    "the data root {} has no `{name}` folder",
                    self.root.display()
                ),
            });
        } else {
            return Ok(None);
        };
        loaded.insert(name.to_string(), Arc::clone(&table));
        Ok(Some(table))
    }
}

#[async_trait]
impl SchemaProvider for DataRootSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self.folders.clone();
        if self.uses_default_stages() {
            names.insert("stages".to_string());
        }
        if let Ok(created) = self.created.read() {
            names.extend(created.keys().cloned());
        }
        names.into_iter().collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let created = self.created.read().ok().and_then(|c| c.get(name).cloned());
        if let Some(table) = created {
            return Ok(Some(table));
        }
        self.load(name).await.map_err(DataFusionError::from)
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let mut created = self
            .created
            .write()
            .map_err(|_| DataFusionError::Internal("the table registry is poisoned".into()))?;
        Ok(created.insert(name, table))
    }

    fn deregister_table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let mut created = self
            .created
            .write()
            .map_err(|_| DataFusionError::Internal("the table registry is poisoned".into()))?;
        match created.remove(name) {
            Some(table) => Ok(Some(table)),
            None if self.folders.contains(name) => Err(Error::Refused(format!(
                "`{name}` is a table of the data root {}; salesql never modifies the data root",
                self.root.display()
            ))
            .into()),
            None => Ok(None),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.folders.contains(name)
            || (name == "stages" && self.uses_default_stages())
            || self.is_created(name)
    }
}
