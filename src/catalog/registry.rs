//! An object-store registry that builds the store for a URL the first time a plan needs it.
//!
//! A Ballista scheduler lists the files of the tables a client sends it, and its executors
//! read them: neither has seen the client's `--data`, so each builds the stores itself, from
//! its own command line and environment (credentials, endpoint, region), with the same rules
//! as the local engine ([`crate::catalog::stores`]). The built-in sample is served on every
//! role from the copy compiled into the binary.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::common::DataFusionError;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::ObjectStore;
use url::Url;

use crate::catalog::root::{DataRoot, SAMPLE_URL};
use crate::catalog::stores::{self, StoreOptions};

/// Resolves `file://` like DataFusion, `sample://` to the built-in sample, and any other
/// supported scheme by building (once per bucket) a store with [`StoreOptions`].
#[derive(Debug)]
pub struct LazyStoreRegistry {
    known: DefaultObjectStoreRegistry,
    built: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
    options: StoreOptions,
}

impl LazyStoreRegistry {
    /// A registry that builds stores with `options`.
    pub fn new(options: StoreOptions) -> Self {
        Self {
            known: DefaultObjectStoreRegistry::new(),
            built: Mutex::default(),
            options,
        }
    }
}

/// The part of a URL a store serves: `scheme://host:port`.
fn store_key(url: &Url) -> String {
    format!(
        "{}://{}",
        url.scheme(),
        &url[url::Position::BeforeHost..url::Position::AfterPort]
    )
}

impl ObjectStoreRegistry for LazyStoreRegistry {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> datafusion::common::Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> datafusion::common::Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        let key = store_key(url);
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(store) = built.get(&key) {
            return Ok(Arc::clone(store));
        }
        let store = if format!("{key}/") == SAMPLE_URL {
            Arc::clone(DataRoot::builtin_sample().store())
        } else {
            let base = Url::parse(&format!("{key}/"))
                .map_err(|e| DataFusionError::Configuration(format!("{url}: {e}")))?;
            stores::build(&base, &self.options).map_err(|message| {
                DataFusionError::Configuration(format!("object store for {key}: {message}"))
            })?
        };
        built.insert(key, Arc::clone(&store));
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_built_once_per_bucket_and_the_sample_is_served() {
        let registry = LazyStoreRegistry::new(StoreOptions {
            region: Some("eu-west-1".into()),
            ..StoreOptions::default()
        });
        let a = registry
            .get_store(&Url::parse("s3://bucket/a/x.parquet").unwrap())
            .unwrap();
        let b = registry
            .get_store(&Url::parse("s3://bucket/b/").unwrap())
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let sample = registry
            .get_store(&Url::parse(SAMPLE_URL).unwrap())
            .unwrap();
        assert!(sample.to_string().contains("InMemory"));
        let error = registry
            .get_store(&Url::parse("ftp://host/x").unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ftp://host") && error.contains("unsupported scheme"),
            "{error}"
        );
    }
}
