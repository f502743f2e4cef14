//! Object stores for data roots given as URLs (`s3://`, `gs://`, `az://`, `http(s)://`), built
//! with the `object_store` crate that DataFusion itself uses.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use url::Url;

/// Command-line settings for object stores; the environment supplies the rest.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Region of the S3 bucket (`--region`; else `AWS_REGION`/`AWS_DEFAULT_REGION`).
    pub region: Option<String>,
    /// Endpoint of an S3-compatible store (`--endpoint`; else `AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// AWS profile to read from `~/.aws` (`--profile`; else `AWS_PROFILE`).
    pub profile: Option<String>,
    /// Send unsigned (anonymous) requests (`--no-sign`).
    pub no_sign: bool,
}

/// Builds the object store that serves `url`, or says why it cannot.
pub fn build(url: &Url, options: &StoreOptions) -> Result<Arc<dyn ObjectStore>, String> {
    let describe = |e: object_store::Error| e.to_string();
    match url.scheme() {
        "s3" | "s3a" => {
            let mut builder = AmazonS3Builder::from_env().with_url(url.as_str());
            if let Some(region) = &options.region {
                builder = builder.with_region(region);
            }
            if let Some(endpoint) = &options.endpoint {
                builder = builder.with_endpoint(endpoint);
            }
            if options.no_sign {
                builder = builder.with_skip_signature(true);
            }
            Ok(Arc::new(builder.build().map_err(describe)?))
        }
        "gs" => Ok(Arc::new(
            GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map_err(describe)?,
        )),
        "az" | "abfs" | "abfss" | "azure" => Ok(Arc::new(
            MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map_err(describe)?,
        )),
        "http" | "https" => Ok(Arc::new(
            HttpBuilder::new()
                .with_url(url.as_str())
                .build()
                .map_err(describe)?,
        )),
        other => Err(format!(
            "unsupported scheme `{other}://` (use a local directory, s3://, gs://, az://, http(s)://)"
        )),
    }
}
