//! Ballista (feature `distributed`): a scheduler and two executors, in this process and as
//! processes of the binary, must answer exactly as the local engine does, and faults (a
//! killed executor, an unreachable scheduler, an executor without the sales functions) must
//! end in an answer or a clear error within bounded time.

use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use salesql::catalog::StoreOptions;
use salesql::distributed::cluster::{LocalCluster, is_ready};
use salesql::{Session, SessionSettings};

use super::common::{dataset, empty_dir, partitioned_dataset, salesql, salesql_process, stderr_of};
use super::saved_queries::BUILTIN;

/// A runtime like the binary's (Ballista's servers need deep stacks).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_stack_size(32 << 20)
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// One in-process scheduler with two executors (512 MiB each) for the whole test run.
fn cluster() -> &'static LocalCluster {
    static CLUSTER: OnceLock<LocalCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        runtime()
            .block_on(LocalCluster::start(
                2,
                0,
                512 << 20,
                Some(2),
                &StoreOptions::default(),
            ))
            .expect("the in-process cluster starts")
    })
}

fn cluster_url() -> String {
    cluster().url().display()
}

/// Runs the binary with `args`, locally and on `cluster`, and returns both outputs after
/// checking that both succeeded.
fn local_and_cluster(cluster: &str, args: &[&str]) -> (String, String) {
    let local = salesql()
        .args(args)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert!(local.status.success(), "{args:?}: {}", stderr_of(&local));
    let remote = salesql()
        .args(["--cluster", cluster])
        .args(args)
        .args(["--format", "csv"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        remote.status.success(),
        "{args:?} on the cluster: {}",
        stderr_of(&remote)
    );
    (
        String::from_utf8(local.stdout).unwrap(),
        String::from_utf8(remote.stdout).unwrap(),
    )
}

/// Runs the binary on `cluster` with `args`, expecting it to fail; returns its exit code and
/// stderr.
fn failing_on_cluster(cluster: &str, args: &[&str]) -> (Option<i32>, String) {
    let output = salesql()
        .args(["--cluster", cluster])
        .args(args)
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "{args:?} succeeded on the cluster"
    );
    (output.status.code(), stderr_of(&output))
}

#[test]
fn every_saved_query_on_two_executors_equals_the_local_answer() {
    let url = cluster_url();
    let data = dataset().to_str().unwrap();
    for name in BUILTIN {
        let (local, remote) = local_and_cluster(&url, &["--data", data, "run", name]);
        assert!(
            local.lines().count() > 1,
            "{name} answers something: {local}"
        );
        assert_eq!(remote, local, "saved query {name}");
    }
    // The built-in sample is served on every node from the binary itself.
    let (local, remote) = local_and_cluster(&url, &["run", "funnel"]);
    assert_eq!(remote, local);
}

#[test]
fn hive_partitions_window_functions_and_joins_equal_the_local_answer() {
    let url = cluster_url();
    let data = partitioned_dataset().to_str().unwrap();
    for sql in [
        // Group by the Hive partition columns (typed integers, not dictionaries).
        "select year, month, type, count(*) as n from activities \
         group by year, month, type order by year, month, type",
        "select owner_id, amount, rank() over (partition by owner_id order by amount desc, \
         opportunity_id) as r from opportunities order by owner_id, r, opportunity_id",
        "select o.segment, count(distinct a.activity_id) as n, sum(o.amount) as amount \
         from activities a join opportunities o on a.opportunity_id = o.opportunity_id \
         group by o.segment order by o.segment",
        "select h.owner_id, window_funnel(interval '30 days', h.entered_at, \
         h.stage = 'prospecting', h.stage = 'qualification', h.stage = 'discovery') as level \
         from stage_history h join opportunities o using (opportunity_id) \
         group by h.owner_id order by h.owner_id",
    ] {
        let (local, remote) = local_and_cluster(&url, &["--data", data, "query", sql]);
        assert!(local.lines().count() > 2, "{sql}: {local}");
        assert_eq!(remote, local, "{sql}");
    }
}

#[test]
fn the_default_stages_table_reaches_the_cluster() {
    let root = empty_dir();
    super::common::write_parquet(
        &root.path().join("opportunities/part-0.parquet"),
        "select * from opportunities",
    );
    let data = root.path().to_str().unwrap();
    let sql = "select s.stage, s.kind, count(o.opportunity_id) as n from stages s \
               left join opportunities o on o.stage = s.stage \
               group by s.stage, s.kind, s.position order by s.position nulls last";
    let (local, remote) = local_and_cluster(&cluster_url(), &["--data", data, "query", sql]);
    assert!(
        local.starts_with("stage,kind,n\nprospecting,open,"),
        "{local}"
    );
    assert_eq!(remote, local);
}

fn read_parquet(path: &Path) -> String {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[test]
fn copy_to_writes_what_the_local_engine_writes_and_never_into_the_data_root() {
    let url = cluster_url();
    let data = dataset().to_str().unwrap();
    let out = empty_dir();
    let copy = |target: &Path| {
        format!(
            "copy (select segment, status, count(*) as n, sum(amount) as amount \
             from opportunities group by segment, status order by segment, status) \
             to '{}'",
            target.display()
        )
    };
    let local_file = out.path().join("local.parquet");
    let cluster_file = out.path().join("cluster.parquet");
    salesql()
        .args(["--data", data, "query", &copy(&local_file)])
        .assert()
        .success();
    salesql()
        .args([
            "--cluster",
            &url,
            "--data",
            data,
            "query",
            &copy(&cluster_file),
        ])
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let local = read_parquet(&local_file);
    assert!(local.contains("enterprise"), "{local}");
    assert_eq!(read_parquet(&cluster_file), local);

    let inside = dataset().join("copied.parquet");
    let (code, stderr) = failing_on_cluster(&url, &["--data", data, "query", &copy(&inside)]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("never modifies the data root"), "{stderr}");
    assert!(!inside.exists());
}

#[test]
fn a_cluster_session_keeps_every_function_of_the_local_session() {
    let url = cluster_url();
    runtime().block_on(async {
        let local = Session::open(&SessionSettings::default()).await.unwrap();
        let remote = Session::open(&SessionSettings {
            cluster: Some(url),
            ..SessionSettings::default()
        })
        .await
        .unwrap();
        let (local, remote) = (local.context().state(), remote.context().state());
        for name in local.scalar_functions().keys() {
            assert!(
                remote.scalar_functions().contains_key(name),
                "scalar {name}"
            );
        }
        for name in local.aggregate_functions().keys() {
            assert!(
                remote.aggregate_functions().contains_key(name),
                "aggregate {name}"
            );
        }
        for name in [
            "window_funnel",
            "funnel",
            "win_rate",
            "open_series",
            "max_concurrent",
        ] {
            assert!(remote.aggregate_functions().contains_key(name), "{name}");
        }
        for name in [
            "fiscal_quarter",
            "business_days",
            "open_at",
            "step_conversion",
        ] {
            assert!(remote.scalar_functions().contains_key(name), "{name}");
        }
    });
}

#[test]
fn the_repl_runs_statements_and_saved_queries_on_the_cluster() {
    use rexpect::session::spawn_command;
    let state = empty_dir();
    let mut command = salesql_process();
    command
        .args(["--cluster", &cluster_url()])
        .env("XDG_STATE_HOME", state.path())
        .env("TERM", "xterm");
    let mut repl = spawn_command(command, Some(60_000)).expect("the REPL starts");
    repl.exp_string("salesql> ").unwrap();
    repl.send_line(
        "select window_funnel(interval '90 days', entered_at, stage = 'prospecting', \
                    stage = 'qualification') as level, count(*) as n from stage_history \
                    group by opportunity_id order by 1 limit 1;",
    )
    .unwrap();
    repl.exp_string("level").unwrap();
    repl.exp_string("1 row").unwrap();
    repl.exp_string("salesql> ").unwrap();
    repl.send_line("\\run open_pipeline").unwrap();
    repl.exp_string("open_opportunities").unwrap();
    repl.exp_string("salesql> ").unwrap();
    repl.send_line("\\q").unwrap();
    repl.exp_eof().unwrap();
}

#[test]
fn statements_a_cluster_cannot_run_say_why_and_views_work() {
    let url = cluster_url();
    let script = "create table t as select segment, count(*) as n from opportunities group by segment; \
                  select * from t;";
    let (code, stderr) = failing_on_cluster(&url, &["query", script]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("statement 2 of 2") && stderr.contains("CREATE VIEW"),
        "{stderr}"
    );
    assert!(!stderr.contains("bug report"), "{stderr}");

    let script = "create view v as select segment, count(*) as n from opportunities group by segment; \
                  select * from v order by segment;";
    let (local, remote) = local_and_cluster(&url, &["query", script]);
    assert!(local.contains("enterprise"), "{local}");
    assert_eq!(remote, local);

    let (code, stderr) = failing_on_cluster(
        &url,
        &[
            "query",
            "explain analyze select count(*) from opportunities",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("EXPLAIN ANALYZE is not available on a cluster"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_scheduler_or_a_bad_address_fails_at_once() {
    let port = free_port();
    let started = Instant::now();
    let (code, stderr) = failing_on_cluster(&format!("df://127.0.0.1:{port}"), &["run", "funnel"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains(&format!("df://127.0.0.1:{port}")) && stderr.contains("not reachable"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    let (code, stderr) = failing_on_cluster("http://127.0.0.1:50050", &["run", "funnel"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("df://HOST:PORT"), "{stderr}");
}

#[test]
fn an_executor_without_the_sales_functions_fails_the_query_clearly() {
    use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
    use clap::Parser;

    // Our scheduler, and a plain Ballista executor that has never heard of window_funnel.
    let url = runtime().block_on(async {
        let config = ballista_scheduler::config::Config::parse_from([
            "scheduler",
            "--bind-host=127.0.0.1",
            "--external-host=127.0.0.1",
            "--bind-port=0",
        ]);
        let listener = salesql::distributed::scheduler::bind(&config)
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut config = config;
        config.bind_port = port;
        tokio::spawn(async move {
            salesql::distributed::scheduler::serve(config, listener, &StoreOptions::default()).await
        });
        let executor = ballista_executor::config::Config::parse_from([
            "executor".to_string(),
            "--bind-host=127.0.0.1".into(),
            "--external-host=127.0.0.1".into(),
            "--scheduler-host=127.0.0.1".into(),
            format!("--scheduler-port={port}"),
            format!("--bind-port={}", free_port()),
            format!("--bind-grpc-port={}", free_port()),
            "--memory-pool-size=268435456".into(),
            "--scheduler-connect-timeout-seconds=10".into(),
        ]);
        let executor: ExecutorProcessConfig = executor.try_into().unwrap();
        tokio::spawn(start_executor_process(Arc::new(executor)));
        format!("df://127.0.0.1:{port}")
    });
    let started = Instant::now();
    let (code, stderr) = failing_on_cluster(
        &url,
        &[
            "query",
            "select window_funnel(interval '1 day', entered_at, stage = 'prospecting') \
             from stage_history",
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("could not decode") && stderr.contains("same salesql build"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// Child processes that are killed, by PID, when the test ends however it ends.
pub(super) struct Processes(pub(super) Vec<Child>);

/// The output of `child` once it exits, or `None` (and the child killed) if it is still
/// running at `deadline`. `wait_with_output` drains its pipes meanwhile, on a thread of its own.
fn output_within(child: Child, deadline: Instant) -> Option<std::process::Output> {
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(output) => Some(output.unwrap()),
        Err(_) => {
            let killed = StdCommand::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap();
            assert!(killed.success(), "kill -9 {pid}");
            None
        }
    }
}

impl Processes {
    fn spawn(&mut self, args: &[String]) -> usize {
        let child = salesql_process()
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        self.0.push(child);
        self.0.len() - 1
    }

    fn kill(&mut self, index: usize) {
        let pid = self.0[index].id();
        let status = StdCommand::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -9 {pid}");
        self.0[index].wait().unwrap();
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                continue;
            }
            let _ = StdCommand::new("kill")
                .args(["-9", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(super) fn wait_ready(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !runtime().block_on(is_ready(port)) {
        assert!(Instant::now() < deadline, "{what} not ready on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn scheduler_and_executor_processes_survive_a_killed_executor() {
    // Pull scheduling, the policy under which Ballista 55 recovers: under push scheduling, a
    // stage rolled back because an executor died never gives back the vcores its tasks hold
    // on the surviving executors, and the job can then wait forever (README, "Executors that
    // die").
    let mut processes = Processes(Vec::new());
    let scheduler_port = free_port();
    processes.spawn(&[
        "scheduler".into(),
        "--bind-host=127.0.0.1".into(),
        "--external-host=127.0.0.1".into(),
        format!("--bind-port={scheduler_port}"),
        "--executor-timeout-seconds=3".into(),
        "--expire-dead-executor-interval-seconds=1".into(),
        "--scheduler-policy=pull-staged".into(),
    ]);
    let mut executors = Vec::new();
    for _ in 0..2 {
        let health = free_port();
        let index = processes.spawn(&[
            "executor".into(),
            "--bind-host=127.0.0.1".into(),
            "--external-host=127.0.0.1".into(),
            "--scheduler-host=127.0.0.1".into(),
            format!("--scheduler-port={scheduler_port}"),
            format!("--bind-port={}", free_port()),
            format!("--bind-grpc-port={}", free_port()),
            format!("--bind-health-port={health}"),
            "--memory-pool-size=512MiB".into(),
            "--vcores=2".into(),
            "--executor-heartbeat-interval-seconds=1".into(),
            "--scheduler-connect-timeout-seconds=30".into(),
            "--task-scheduling-policy=pull-staged".into(),
        ]);
        executors.push((index, health));
    }
    for (_, health) in &executors {
        wait_ready(*health, "executor");
    }
    wait_ready(scheduler_port, "scheduler");
    let url = format!("df://127.0.0.1:{scheduler_port}");
    let data = dataset().to_str().unwrap();
    let args = ["--data", data, "run", "touches_to_win"];
    let (local, remote) = local_and_cluster(&url, &args);
    assert_eq!(remote, local);

    // Kill one executor while a query runs: the answer is still right (Ballista reruns the
    // lost tasks on the other executor) or the query fails clearly, and never hangs.
    let started = Instant::now();
    let running = salesql_process()
        .args(["--cluster", &url, "--format", "csv"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    processes.kill(executors[0].0);
    let finished = output_within(running, started + Duration::from_secs(90))
        .expect("the query hung for 90 s after an executor was killed");
    if finished.status.success() {
        assert_eq!(String::from_utf8(finished.stdout).unwrap(), local);
    } else {
        let stderr = stderr_of(&finished);
        assert!(
            stderr.starts_with("error: ") && stderr.contains("xecutor"),
            "{stderr}"
        );
    }

    // The surviving executor answers the next query.
    let (_, after) = local_and_cluster(&url, &args);
    assert_eq!(after, local);
}
