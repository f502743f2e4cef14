//! Object stores for data roots given as URLs (`s3://`, `gs://`, `az://`, `abfss://`,
//! `http(s)://`), built with the `object_store` crate that DataFusion itself uses.
//!
//! S3 credentials follow the usual chain: `--profile` if given; else `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`; else the profile `AWS_PROFILE` (or
//! `default`) in `~/.aws/credentials` and `~/.aws/config`; else web identity, container and
//! instance credentials as `object_store` finds them. Anonymous requests only with
//! `--no-sign`. GCS and Azure read their usual environment (`GOOGLE_APPLICATION_CREDENTIALS`,
//! `AZURE_STORAGE_ACCOUNT_NAME`, …).
//!
//! Every request has a connect timeout, a request timeout and a bounded number of retries with
//! backoff, so an unreachable or silent server ends in an error, never a hang:
//! `SALESQL_CONNECT_TIMEOUT` (default 5 s), `SALESQL_REQUEST_TIMEOUT` (30 s),
//! `SALESQL_MAX_RETRIES` (3) and `SALESQL_RETRY_TIMEOUT` (30 s) change them.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use url::Url;

use crate::catalog::aws_profile;

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
    let client = client_options()?;
    let retry = retry_config()?;
    let describe = |e: object_store::Error| e.to_string();
    match url.scheme() {
        "s3" | "s3a" => s3(url, options, client, retry),
        "gs" => Ok(Arc::new(
            GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(describe)?,
        )),
        "az" | "abfs" | "abfss" | "azure" => Ok(Arc::new(
            MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(describe)?,
        )),
        "http" | "https" => Ok(Arc::new(
            HttpBuilder::new()
                .with_url(url.as_str())
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(describe)?,
        )),
        other => Err(format!(
            "unsupported scheme `{other}://` (use a local directory, s3://, gs://, az://, abfss:// or http(s)://)"
        )),
    }
}

fn s3(
    url: &Url,
    options: &StoreOptions,
    client: ClientOptions,
    retry: RetryConfig,
) -> Result<Arc<dyn ObjectStore>, String> {
    let mut builder = AmazonS3Builder::from_env()
        .with_url(url.as_str())
        .with_retry(retry);
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    let env_keys = env("AWS_ACCESS_KEY_ID").is_some();
    let explicit_profile = options.profile.clone();
    let profile_name = explicit_profile.clone().or_else(|| env("AWS_PROFILE"));
    let profile = match (&profile_name, env_keys) {
        (Some(name), _) => {
            let profile = aws_profile::load(name)?;
            if profile.is_none() {
                return Err(format!(
                    "AWS profile `{name}` is in neither ~/.aws/credentials nor ~/.aws/config"
                ));
            }
            profile
        }
        (None, false) => aws_profile::load("default")?,
        (None, true) => None,
    };
    if let Some(profile) = &profile {
        // Keys from a profile named on the command line win over the environment's; from
        // AWS_PROFILE or the default profile, they only fill in.
        if (explicit_profile.is_some() || !env_keys)
            && let (Some(key), Some(secret)) = (&profile.access_key_id, &profile.secret_access_key)
        {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
            if let Some(token) = &profile.session_token {
                builder = builder.with_config(AmazonS3ConfigKey::Token, token);
            }
        }
        if env("AWS_REGION").is_none()
            && env("AWS_DEFAULT_REGION").is_none()
            && let Some(region) = &profile.region
        {
            builder = builder.with_region(region);
        }
        if env("AWS_ENDPOINT_URL").is_none()
            && env("AWS_ENDPOINT").is_none()
            && let Some(endpoint) = &profile.endpoint_url
        {
            builder = builder.with_endpoint(endpoint);
        }
    }
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    }
    let endpoint = options
        .endpoint
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .or_else(|| env("AWS_ENDPOINT"))
        .or_else(|| profile.as_ref().and_then(|p| p.endpoint_url.clone()));
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    // A plain-http endpoint asked for by name is allowed without also setting AWS_ALLOW_HTTP.
    let allow_http = endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"))
        || env("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    builder = builder.with_client_options(client.with_allow_http(allow_http));
    if options.no_sign {
        builder = builder.with_skip_signature(true);
    }
    builder
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| e.to_string())
}

/// A duration from the environment (`5s`, `500ms`, `2m`, or seconds), or the default.
fn duration_setting(name: &str, default: Duration) -> Result<Duration, String> {
    let Some(text) = std::env::var(name).ok().filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    let text = text.trim();
    let parsed = if let Some(ms) = text.strip_suffix("ms") {
        ms.trim().parse::<f64>().ok().map(|v| v / 1000.0)
    } else if let Some(m) = text.strip_suffix('m') {
        m.trim().parse::<f64>().ok().map(|v| v * 60.0)
    } else {
        text.trim_end_matches('s').trim().parse::<f64>().ok()
    };
    match parsed {
        Some(seconds) if seconds > 0.0 && seconds.is_finite() => {
            Ok(Duration::from_secs_f64(seconds))
        }
        _ => Err(format!(
            "{name}={text:?} is not a duration such as 5s, 500ms or 2m"
        )),
    }
}

fn client_options() -> Result<ClientOptions, String> {
    Ok(ClientOptions::new()
        .with_connect_timeout(duration_setting(
            "SALESQL_CONNECT_TIMEOUT",
            Duration::from_secs(5),
        )?)
        .with_timeout(duration_setting(
            "SALESQL_REQUEST_TIMEOUT",
            Duration::from_secs(30),
        )?))
}

fn retry_config() -> Result<RetryConfig, String> {
    let max_retries = match std::env::var("SALESQL_MAX_RETRIES")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("SALESQL_MAX_RETRIES={text:?} is not a number"))?,
        None => 3,
    };
    Ok(RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries,
        retry_timeout: duration_setting("SALESQL_RETRY_TIMEOUT", Duration::from_secs(30))?,
    })
}
