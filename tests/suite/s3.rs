//! Data roots in S3, against a real S3 server on 127.0.0.1 started by the test itself (s3s
//! over a folder, with authentication): saved queries equal to local data, credentials from
//! the environment and from `~/.aws` profiles, request counts that prove pruning and caching,
//! and the faults — wrong credentials, missing bucket or prefix, unreachable or silent server
//! — each ending in one clear line and exit code 1 within bounded time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};

use super::common::{
    FAILS_MIDWAY, damage_column, dataset, empty_dir, partitioned_dataset, salesql, salesql_process,
    scratch, stderr_of, write_parquet,
};
use super::saved_queries::BUILTIN;

const ACCESS_KEY: &str = "salesql-test";
const SECRET_KEY: &str = "salesql-secret";
const BUCKET: &str = "crm";

/// One request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
}

/// A running S3 server and what it has seen.
struct Server {
    address: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// When set, object reads past this many hang (a server that stops answering).
    stall_after_gets: Arc<AtomicUsize>,
    stalling: Arc<AtomicBool>,
}

/// Counts requests and can stop answering object reads.
#[derive(Clone)]
struct Recording {
    inner: S3Service,
    seen: Arc<Mutex<Vec<Seen>>>,
    gets: Arc<AtomicUsize>,
    stall_after_gets: Arc<AtomicUsize>,
    stalling: Arc<AtomicBool>,
}

impl Service<hyper::Request<Incoming>> for Recording {
    type Response = <S3Service as Service<hyper::Request<Incoming>>>::Response;
    type Error = <S3Service as Service<hyper::Request<Incoming>>>::Error;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let seen = Seen {
            method: request.method().to_string(),
            path: request.uri().path().replace("%3D", "="),
            query: request.uri().query().unwrap_or("").to_string(),
        };
        let object_read = seen.method == "GET" && seen.path.trim_matches('/').contains('/');
        self.seen.lock().unwrap().push(seen);
        if object_read
            && self.stalling.load(Ordering::SeqCst)
            && self.gets.fetch_add(1, Ordering::SeqCst)
                >= self.stall_after_gets.load(Ordering::SeqCst)
        {
            return Box::pin(std::future::pending());
        }
        let inner = self.inner.clone();
        Box::pin(async move { Service::call(&inner, request).await })
    }
}

impl Server {
    /// Starts a server over `root` (one folder per bucket) on a free loopback port.
    fn start(root: &Path) -> Server {
        let filesystem = s3s_fs::FileSystem::new(root).expect("the S3 root");
        let mut builder = S3ServiceBuilder::new(filesystem);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stall_after_gets = Arc::new(AtomicUsize::new(usize::MAX));
        let stalling = Arc::new(AtomicBool::new(false));
        let recording = Recording {
            inner: service,
            seen: Arc::clone(&seen),
            gets: Arc::new(AtomicUsize::new(0)),
            stall_after_gets: Arc::clone(&stall_after_gets),
            stalling: Arc::clone(&stalling),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let address = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((socket, _)) = listener.accept().await else {
                        continue;
                    };
                    let service = recording.clone();
                    tokio::spawn(async move {
                        let builder =
                            hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                        let _ = builder
                            .serve_connection(TokioIo::new(socket), service)
                            .await;
                    });
                }
            });
        });
        Server {
            address,
            seen,
            stall_after_gets,
            stalling,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    fn clear(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Copies a dataset folder under `bucket_root/prefix`.
fn upload(from: &Path, to: &Path) {
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            files.extend(walk(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files.sort();
    files
}

/// The shared server with two datasets: `crm/history` (unpartitioned) and `crm/monthly`
/// (month partitions).
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let root = scratch().join("s3");
        upload(dataset(), &root.join(BUCKET).join("history"));
        upload(partitioned_dataset(), &root.join(BUCKET).join("monthly"));
        std::fs::create_dir_all(root.join("empty-bucket")).unwrap();
        Server::start(&root)
    })
}

/// salesql with credentials for the test server and no AWS configuration from the machine.
fn s3_salesql(server: &Server) -> Command {
    let mut command = salesql_process();
    with_s3_environment(&mut command, server);
    Command::from_std(command)
}

/// Sets the test server's credentials and endpoint, and removes the machine's AWS settings.
fn with_s3_environment(command: &mut std::process::Command, server: &Server) {
    let home = scratch().join("no-aws-home");
    std::fs::create_dir_all(&home).unwrap();
    command
        .env("HOME", &home)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_ALLOW_HTTP", "true")
        .env("SALESQL_CONNECT_TIMEOUT", "2s")
        .env("SALESQL_REQUEST_TIMEOUT", "3s")
        .env("SALESQL_MAX_RETRIES", "1")
        .env("SALESQL_RETRY_TIMEOUT", "5s");
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_saved_query_gives_the_same_answer_from_s3_as_from_disk() {
    let server = server();
    for name in BUILTIN {
        let remote = s3_salesql(server)
            .args(["--data", "s3://crm/history", "run", name, "--format", "csv"])
            .output()
            .unwrap();
        assert!(remote.status.success(), "{name}: {}", stderr_of(&remote));
        let local = salesql()
            .arg("--data")
            .arg(dataset())
            .args(["run", name, "--format", "csv"])
            .output()
            .unwrap();
        assert_eq!(stdout_of(&remote), stdout_of(&local), "{name}");
    }
}

#[test]
fn the_endpoint_and_region_may_be_given_as_flags() {
    let server = server();
    let output = s3_salesql(server)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ALLOW_HTTP")
        .env_remove("AWS_REGION")
        .args(["--endpoint", &server.endpoint(), "--region", "us-east-1"])
        .args([
            "--data",
            "s3://crm/history",
            "query",
            "select count(*) as n from stages",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "n\n7\n");
}

#[test]
fn check_reads_every_file_and_passes() {
    let server = server();
    let output = s3_salesql(server)
        .args(["--data", "s3://crm/monthly", "check", "--format", "csv"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stdout_of(&output).contains("activities,ok,"),
        "{}",
        stdout_of(&output)
    );
}

#[test]
fn a_month_filter_reads_that_months_objects_and_lists_each_table_once() {
    let server = server();
    static EXCLUSIVE: Mutex<()> = Mutex::new(());
    let _alone = EXCLUSIVE.lock().unwrap();
    server.clear();
    let sql = "select sum(duration_s) as talk from activities where year = 2024 and month = 3; \
               select count(*) as n from activities where year = 2024 and month = 3 and type = 'call';";
    let output = s3_salesql(server)
        .args(["--data", "s3://crm/monthly", "query", sql])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let seen: Vec<Seen> = server
        .clear()
        .into_iter()
        .filter(|s| s.path.contains("/monthly") || s.query.contains("monthly"))
        .collect();
    let object_reads: BTreeMap<String, usize> = seen
        .iter()
        .filter(|s| s.method == "GET" && s.path.contains(".parquet"))
        .fold(BTreeMap::new(), |mut counts, s| {
            *counts.entry(s.path.clone()).or_insert(0) += 1;
            counts
        });
    let first_file = "/crm/monthly/activities/year=2021/month=1/part-00000.parquet";
    for path in object_reads.keys() {
        assert!(
            path.contains("/activities/year=2024/month=3/") || path == first_file,
            "read an object outside March 2024 (other than the schema's sample): {path}\n{object_reads:?}"
        );
    }
    assert!(
        object_reads.keys().any(|p| p.contains("year=2024/month=3")),
        "{object_reads:?}"
    );
    let table_listings = seen
        .iter()
        .filter(|s| s.query.contains("list-type=2") && s.query.contains("activities"))
        .count();
    assert_eq!(
        table_listings, 1,
        "activities is listed once for both statements: {seen:#?}"
    );
}

#[test]
fn credentials_come_from_an_aws_profile() {
    let server = server();
    let home = empty_dir();
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        format!("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[ci]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    )
    .unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        format!(
            "[profile ci]\nregion = us-east-1\nendpoint_url = {}\n",
            server.endpoint()
        ),
    )
    .unwrap();
    let run = |profile_flag: bool, env_profile: bool| {
        let mut command = salesql();
        command
            .env("HOME", home.path())
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_REGION")
            .env_remove("AWS_ENDPOINT_URL")
            .env("SALESQL_MAX_RETRIES", "0")
            .args([
                "--data",
                "s3://crm/history",
                "query",
                "select count(*) as n from reps",
            ]);
        if profile_flag {
            command.args(["--profile", "ci"]);
        }
        if env_profile {
            command.env("AWS_PROFILE", "ci");
        } else {
            command.env_remove("AWS_PROFILE");
        }
        command.output().unwrap()
    };
    for (flag, env) in [(true, false), (false, true)] {
        let output = run(flag, env);
        assert!(
            output.status.success(),
            "profile via flag={flag} env={env}: {}",
            stderr_of(&output)
        );
        assert!(stdout_of(&output).starts_with("n\n"));
    }
    // The default profile's keys are wrong, and the endpoint comes only from profile ci.
    let output = run(false, false);
    assert_eq!(output.status.code(), Some(1));
    let missing = salesql()
        .env("HOME", home.path())
        .args([
            "--data",
            "s3://crm/history",
            "--profile",
            "nobody",
            "query",
            "select 1",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr_of(&missing).contains("AWS profile `nobody`"),
        "{}",
        stderr_of(&missing)
    );
}

/// Runs a failing command, checks it fails with exit 1, one line on stderr containing
/// `expected`, within `limit`.
fn fails_quickly(mut command: Command, expected: &[&str], limit: Duration) {
    let started = Instant::now();
    let output = command
        .timeout(limit + Duration::from_secs(30))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(elapsed < limit, "took {elapsed:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    for word in expected {
        assert!(stderr.contains(word), "expected {word:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn wrong_credentials_are_refused_clearly() {
    let server = server();
    let mut command = s3_salesql(server);
    command
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .args([
            "--data",
            "s3://crm/history",
            "query",
            "select count(*) from reps",
        ]);
    fails_quickly(
        command,
        &["s3://crm/history", "403"],
        Duration::from_secs(20),
    );
}

#[test]
fn anonymous_requests_only_when_asked_and_refused_by_an_authenticated_server() {
    let server = server();
    let mut command = s3_salesql(server);
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args([
            "--data",
            "s3://crm/history",
            "--no-sign",
            "query",
            "select 1",
        ]);
    fails_quickly(command, &["s3://crm/history"], Duration::from_secs(20));
}

#[test]
fn a_missing_bucket_is_named() {
    let server = server();
    let mut command = s3_salesql(server);
    command.args(["--data", "s3://no-such-bucket/crm", "query", "select 1"]);
    fails_quickly(
        command,
        &["s3://no-such-bucket/crm", "404"],
        Duration::from_secs(20),
    );
}

/// Writes `crm/damaged/deals/a.parquet` under `buckets`, its `amount` column damaged.
fn write_damaged_deals(buckets: &Path) {
    let file = buckets.join(BUCKET).join("damaged/deals/a.parquet");
    write_parquet(
        &file,
        "select value as id, value * 3 as amount from generate_series(1, 5000)",
    );
    damage_column(&file, "amount");
}

/// A query of the damaged column [`write_damaged_deals`] wrote.
fn sum_of_damaged_amounts(server: &Server) -> Command {
    let mut command = s3_salesql(server);
    command.args([
        "--data",
        "s3://crm/damaged",
        "query",
        "select sum(amount) from deals",
    ]);
    command
}

#[test]
fn a_damaged_column_in_s3_is_named_by_the_files_url() {
    let server = server();
    write_damaged_deals(&scratch().join("s3"));
    fails_quickly(
        sum_of_damaged_amounts(server),
        &["table `deals`: file s3://crm/damaged/deals/a.parquet is damaged: column `amount`"],
        Duration::from_secs(20),
    );
}

#[test]
fn a_missing_prefix_is_named() {
    let server = server();
    let mut command = s3_salesql(server);
    command.args(["--data", "s3://crm/nothing-here", "query", "select 1"]);
    fails_quickly(
        command,
        &[
            "data root s3://crm/nothing-here",
            "nothing is stored under this prefix",
        ],
        Duration::from_secs(20),
    );
}

#[test]
fn an_unreachable_endpoint_fails_in_bounded_time() {
    let server = server();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut command = s3_salesql(server);
    command
        .env("AWS_ENDPOINT_URL", format!("http://{closed}"))
        .args(["--data", "s3://crm/history", "query", "select 1"]);
    fails_quickly(
        command,
        &["s3://crm/history", &closed.to_string()],
        Duration::from_secs(30),
    );
}

#[test]
fn a_server_that_stops_answering_mid_query_fails_in_bounded_time() {
    let root = empty_dir();
    upload(dataset(), &root.path().join(BUCKET).join("history"));
    let stalling = Server::start(root.path());
    // Listing and the schema's footer are answered; the scan's reads are not.
    stalling.stall_after_gets.store(1, Ordering::SeqCst);
    stalling.stalling.store(true, Ordering::SeqCst);
    let mut command = s3_salesql(&stalling);
    command.args([
        "--data",
        "s3://crm/history",
        "query",
        "select sum(amount) from opportunities",
    ]);
    fails_quickly(command, &["opportunities"], Duration::from_secs(45));
}

/// `check --deep` reports a file it cannot read (the server stops answering once the plain
/// check's reads are done) as a problem: neither sound nor damaged.
#[test]
fn check_deep_reports_a_file_it_cannot_read() {
    let root = empty_dir();
    let history = root.path().join(BUCKET).join("history");
    upload(
        &dataset().join("opportunities"),
        &history.join("opportunities"),
    );
    let object_reads = |server: &Server| {
        server
            .clear()
            .iter()
            .filter(|s| s.method == "GET" && s.path.trim_matches('/').contains('/'))
            .count()
    };
    let check = |server: &Server, deep: bool| {
        let mut command = s3_salesql(server);
        command.args(["--data", "s3://crm/history", "check", "--format", "csv"]);
        if deep {
            command.arg("--deep");
        }
        command.timeout(Duration::from_secs(90)).output().unwrap()
    };
    let counting = Server::start(root.path());
    check(&counting, false);
    let plain_reads = object_reads(&counting);

    let stalling = Server::start(root.path());
    stalling
        .stall_after_gets
        .store(plain_reads, Ordering::SeqCst);
    stalling.stalling.store(true, Ordering::SeqCst);
    let output = check(&stalling, true);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("problem: opportunities: cannot read file s3://crm/history/opportunities/"),
        "{stderr}"
    );
    assert!(!stderr.contains("is damaged"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[cfg(feature = "distributed")]
#[test]
fn a_cluster_reads_s3_with_credentials_configured_on_its_own_nodes() {
    use super::distributed::{Processes, free_port, wait_ready};

    // A server of its own: the pruning test counts the shared server's requests.
    let root = scratch().join("s3-cluster");
    upload(partitioned_dataset(), &root.join(BUCKET).join("monthly"));
    let server = &Server::start(&root);
    // The cluster is a process of its own: its scheduler and executors build their stores
    // from its environment and flags, never from the client's.
    let port = free_port();
    let mut command = salesql_process();
    with_s3_environment(&mut command, server);
    command
        .args([
            "cluster",
            "--executors",
            "2",
            "--memory-pool-size",
            "256MiB",
        ])
        .args(["--port", &port.to_string(), "--vcores", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let _cluster = Processes(vec![command.spawn().expect("salesql cluster starts")]);
    wait_ready(port, "salesql cluster");
    let url = format!("df://127.0.0.1:{port}");
    for name in ["funnel", "open_pipeline", "activity_reach"] {
        let remote = s3_salesql(server)
            .args(["--cluster", &url, "--data", "s3://crm/monthly", "run", name])
            .args(["--format", "csv"])
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        assert!(remote.status.success(), "{name}: {}", stderr_of(&remote));
        let local = salesql()
            .arg("--data")
            .arg(partitioned_dataset())
            .args(["run", name, "--format", "csv"])
            .output()
            .unwrap();
        assert_eq!(stdout_of(&remote), stdout_of(&local), "{name}");
    }
}

/// A COPY or an INSERT into the bucket that fails midway leaves its objects as they were;
/// one that succeeds replaces or adds them.
#[test]
fn a_failed_copy_or_insert_leaves_the_bucket_as_it_was() {
    let server = server();
    let exports = scratch().join("s3").join(BUCKET).join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    std::fs::write(exports.join("kept.csv"), "previous\n").unwrap();
    let table =
        "create external table t (x bigint) stored as csv location 's3://crm/exports/table/'";
    let run = |sql: &str| {
        s3_salesql(server)
            .args([
                "--data",
                "s3://crm/history",
                "query",
                sql,
                "--format",
                "csv",
            ])
            .output()
            .unwrap()
    };
    let succeeds = |sql: &str| {
        let output = run(sql);
        assert!(output.status.success(), "{sql}: {}", stderr_of(&output));
        stdout_of(&output)
    };
    succeeds(&format!("{table}; insert into t values (1), (2)"));
    let objects_before = walk(&exports);

    for sql in [
        format!("copy ({FAILS_MIDWAY}) to 's3://crm/exports/kept.csv' stored as csv"),
        format!("copy ({FAILS_MIDWAY}) to 's3://crm/exports/new.parquet' stored as parquet"),
        format!(
            "copy ({FAILS_MIDWAY}) to 's3://crm/exports/parts/' stored as csv partitioned by (part)"
        ),
        format!("{table}; insert into t select x from ({FAILS_MIDWAY})"),
    ] {
        let output = run(&sql);
        assert_eq!(output.status.code(), Some(1), "{sql}: {output:?}");
        assert!(
            stderr_of(&output).contains("Divide by zero"),
            "{sql}: {output:?}"
        );
    }
    assert_eq!(walk(&exports), objects_before);
    assert_eq!(
        std::fs::read_to_string(exports.join("kept.csv")).unwrap(),
        "previous\n"
    );
    assert_eq!(
        succeeds(&format!("{table}; select count(*) as n from t")),
        "n\n2\n"
    );

    succeeds(
        "copy (select value as x from generate_series(1, 3)) to 's3://crm/exports/kept.csv' stored as csv",
    );
    assert_eq!(
        std::fs::read_to_string(exports.join("kept.csv")).unwrap(),
        "x\n1\n2\n3\n"
    );
    succeeds(
        "copy (select value as x, value % 3 as part from generate_series(1, 20)) \
         to 's3://crm/exports/parts/' stored as parquet partitioned by (part)",
    );
    let written = walk(&exports.join("parts"));
    assert_eq!(written.len(), 3, "{written:?}");

    // A bucket named alone is a folder: its files land at the bucket's root.
    let bucket = scratch().join("s3").join(BUCKET);
    let at_root = || -> Vec<PathBuf> {
        std::fs::read_dir(&bucket)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect()
    };
    assert!(at_root().is_empty(), "{:?}", at_root());
    succeeds("copy (select 1 as x) to 's3://crm' stored as csv");
    let landed = at_root();
    assert_eq!(landed.len(), 1, "{landed:?}");
    assert_eq!(std::fs::read_to_string(&landed[0]).unwrap(), "x\n1\n");
    std::fs::remove_file(&landed[0]).unwrap();
    assert!(
        walk(&exports)
            .iter()
            .all(|object| !object.to_string_lossy().contains("salesql-staging")),
        "{:?}",
        walk(&exports)
    );
}

/// A store that stops answering while salesql looks for the damaged file: the search says on
/// stderr that it is reading the files again, gives up on the file it cannot read, and the
/// statement ends with the decoding error itself, never a guess at a damaged file.
#[test]
fn a_store_failing_during_the_search_for_a_damaged_file_keeps_the_decoding_error() {
    let root = empty_dir();
    write_damaged_deals(root.path());
    let query = |server: &Server| {
        sum_of_damaged_amounts(server)
            .timeout(Duration::from_secs(90))
            .output()
            .unwrap()
    };
    // The statement's own reads, counted on a server of its own.
    let counting = Server::start(root.path());
    let named = query(&counting);
    assert!(stderr_of(&named).contains("is damaged"), "{named:?}");
    let statement_reads = counting
        .clear()
        .iter()
        .filter(|s| s.method == "GET" && s.path.trim_matches('/').contains('/'))
        .count()
        // The search's own reads of the file: its footer, then the column.
        - 2;

    let stalling = Server::start(root.path());
    stalling
        .stall_after_gets
        .store(statement_reads, Ordering::SeqCst);
    stalling.stalling.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let output = query(&stalling);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "{stderr}");
    assert!(
        stderr
            .contains("a Parquet file failed to decode: reading the file the statement read again"),
        "{stderr}"
    );
    assert!(stderr.contains("Parquet"), "{stderr}");
    assert!(!stderr.contains("is damaged"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
