//! The client side of `--cluster df://HOST:PORT`: statements are planned here and executed on
//! the cluster's executors.

use std::time::Duration;

use ballista_core::extension::SessionStateExt;
use datafusion::execution::{FunctionRegistry, SessionState};
use url::Url;

use crate::error::{Error, Result};

/// The port a Ballista scheduler listens on unless told otherwise.
const DEFAULT_PORT: u16 = 50050;

/// Ballista's switch for adaptive query planning.
const ADAPTIVE_PLANNER: &str = "ballista.planner.adaptive.enabled";

/// How long the scheduler gets to accept a connection before the command fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A validated `df://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterUrl {
    host: String,
    port: u16,
}

impl ClusterUrl {
    /// Parses `df://HOST[:PORT]`.
    pub fn parse(text: &str) -> Result<Self> {
        let usage = |why: &str| {
            Error::Usage(format!(
                "--cluster {text:?}: {why} (expected df://HOST:PORT, such as df://127.0.0.1:50050)"
            ))
        };
        let url = Url::parse(text).map_err(|e| usage(&e.to_string()))?;
        if url.scheme() != "df" {
            return Err(usage(&format!("the scheme is `{}`", url.scheme())));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| usage("there is no host"))?;
        if !matches!(url.path(), "" | "/") {
            return Err(usage("a scheduler address has no path"));
        }
        Ok(Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: url.port().unwrap_or(DEFAULT_PORT),
        })
    }

    /// `df://HOST:PORT`, for messages.
    pub fn display(&self) -> String {
        format!("df://{}", self.authority())
    }

    fn grpc(&self) -> String {
        format!("http://{}", self.authority())
    }

    /// `HOST:PORT`, with an IPv6 address in brackets.
    fn authority(&self) -> String {
        match self.host.contains(':') {
            true => format!("[{}]:{}", self.host, self.port),
            false => format!("{}:{}", self.host, self.port),
        }
    }
}

/// Turns a local session into one that executes on the cluster at `url`, after checking that
/// its scheduler answers. The session's functions (the sales functions among them) are
/// registered again: Ballista's upgrade replaces the function lists with its defaults.
pub async fn connect(state: SessionState, url: &ClusterUrl) -> Result<SessionState> {
    let unreachable = |message: String| Error::Cluster {
        role: format!("cluster {}", url.display()),
        message,
    };
    let address = (url.host.as_str(), url.port);
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(unreachable(format!("the scheduler is not reachable: {e}"))),
        Err(_) => {
            return Err(unreachable(format!(
                "the scheduler did not answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
    }
    let scalars: Vec<_> = state.scalar_functions().values().cloned().collect();
    let aggregates: Vec<_> = state.aggregate_functions().values().cloned().collect();
    let windows: Vec<_> = state.window_functions().values().cloned().collect();
    let mut state = state.upgrade_for_ballista(url.grpc())?;
    // Ballista's adaptive planner can lose track of a job whose shuffle files died with an
    // executor ("Can't find active stage"), and the job then never ends; the static planner
    // reruns the lost stages and answers. `SET ballista.planner.adaptive.enabled = true`
    // brings it back for a session.
    state
        .config_mut()
        .options_mut()
        .set(ADAPTIVE_PLANNER, "false")?;
    for udf in scalars {
        state.register_udf(udf)?;
    }
    for udaf in aggregates {
        state.register_udaf(udaf)?;
    }
    for udwf in windows {
        state.register_udwf(udwf)?;
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_need_the_df_scheme_and_a_host() {
        let url = ClusterUrl::parse("df://10.0.0.5:6000").unwrap();
        assert_eq!(url.display(), "df://10.0.0.5:6000");
        assert_eq!(
            ClusterUrl::parse("df://scheduler").unwrap().display(),
            "df://scheduler:50050"
        );
        let v6 = ClusterUrl::parse("df://[::1]:7000").unwrap();
        assert_eq!(
            (v6.display(), v6.grpc()),
            ("df://[::1]:7000".into(), "http://[::1]:7000".into())
        );
        for bad in ["http://host:1", "df://", "host:50050", "df://host:1/x"] {
            let error = ClusterUrl::parse(bad).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad}");
            assert!(error.to_string().contains("df://HOST:PORT"), "{error}");
        }
    }
}
