//! The REPL, driven through a pseudo-terminal as a person would: a query and its table, Tab
//! completion, multi-line input, `\` commands, parameters, errors, Ctrl-C during a long
//! statement, and history kept across sessions in the user's state folder.

use std::path::Path;

use rexpect::session::{PtySession, spawn_command};

use super::common::{FAILS_MIDWAY, empty_dir, salesql_process};

/// How long any one expectation may take (debug builds are slow to plan).
const TIMEOUT_MS: u64 = 30_000;

fn repl(state_home: &Path) -> PtySession {
    let mut command = salesql_process();
    command
        .current_dir(state_home)
        .env("XDG_STATE_HOME", state_home)
        .env("TERM", "xterm");
    let mut session = spawn_command(command, Some(TIMEOUT_MS)).expect("the REPL starts");
    session.exp_string("\\? for help").expect("the banner");
    session.exp_string("salesql> ").expect("the prompt");
    session
}

fn quit(mut session: PtySession) {
    session.send_line("\\q").unwrap();
    if let Err(e) = session.exp_eof() {
        // Rare under load, and not reproduced at will: say what the process was doing.
        panic!(
            "the REPL did not end on \\q: {e}\n{}",
            threads_of_children()
        );
    }
}

/// Each thread of the processes this test binary started (the REPLs), with its state, the
/// kernel function it waits in and its system call, from `/proc` (empty elsewhere).
fn threads_of_children() -> String {
    let me = std::process::id().to_string();
    let read = |path: String| std::fs::read_to_string(path).unwrap_or_default();
    // `/proc/…/stat` is `pid (name) state ppid …`; the name may hold spaces.
    let fields = |stat: &str| -> Vec<String> {
        stat.rsplit_once(") ")
            .map(|(_, rest)| rest.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut report = String::new();
    for process in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = process.file_name().to_string_lossy().into_owned();
        if fields(&read(format!("/proc/{pid}/stat"))).get(1) != Some(&me) {
            continue;
        }
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
        report += &format!("process {pid} (in {}):\n", cwd.display());
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task"));
        for task in tasks.into_iter().flatten().flatten() {
            let tid = task.file_name().to_string_lossy().into_owned();
            let at = format!("/proc/{pid}/task/{tid}");
            let state = fields(&read(format!("{at}/stat"))).first().cloned();
            report += &format!(
                "  {tid} {} {} wchan={} syscall={}\n",
                read(format!("{at}/comm")).trim(),
                state.unwrap_or_default(),
                read(format!("{at}/wchan")).trim(),
                read(format!("{at}/syscall")).trim()
            );
        }
    }
    report
}

#[test]
fn a_query_draws_its_table_and_counts_rows() {
    let state = empty_dir();
    let mut s = repl(state.path());
    s.send_line("select 40 + 2 as answer, 'x' as letter;")
        .unwrap();
    s.exp_string("answer").unwrap();
    s.exp_string("     42 ").unwrap();
    s.exp_string("1 row").unwrap();
    s.exp_string("salesql> ").unwrap();
    quit(s);
}

#[test]
fn tab_completes_tables_and_columns() {
    let state = empty_dir();
    let mut s = repl(state.path());
    s.send("select count(*) as n from opportun").unwrap();
    s.flush().unwrap();
    s.send("\t").unwrap();
    s.flush().unwrap();
    s.exp_string("opportunities").unwrap();
    s.send_line(";").unwrap();
    s.exp_string("1 row").unwrap();
    s.exp_string("salesql> ").unwrap();
    // A column of the table the statement names: complete `owner_i` in the select list.
    s.send("select max(owner_i").unwrap();
    s.flush().unwrap();
    s.send("\t").unwrap();
    s.flush().unwrap();
    s.exp_string("owner_id").unwrap();
    s.send_line(") as top_owner from opportunities;").unwrap();
    s.exp_string("top_owner").unwrap();
    s.exp_string("1 row").unwrap();
    quit(s);
}

#[test]
fn a_statement_may_span_lines_until_its_semicolon() {
    let state = empty_dir();
    let mut s = repl(state.path());
    s.send_line("select").unwrap();
    s.send_line("  7 * 6").unwrap();
    s.send_line("  as spanned;").unwrap();
    s.exp_string("spanned").unwrap();
    s.exp_string("42").unwrap();
    s.exp_string("1 row").unwrap();
    quit(s);
}

#[test]
fn meta_commands_describe_tables_and_functions() {
    let state = empty_dir();
    let mut s = repl(state.path());
    s.send_line("\\d").unwrap();
    s.exp_string("stage_history").unwrap();
    s.exp_string("data root").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("\\d reps").unwrap();
    s.exp_string("hired_at").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("\\df window").unwrap();
    s.exp_string("window_funnel").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("\\dq").unwrap();
    s.exp_string("quota_attainment").unwrap();
    s.exp_string("salesql> ").unwrap();
    quit(s);
}

#[test]
fn set_parameters_are_bound_in_later_statements() {
    let state = empty_dir();
    let mut s = repl(state.path());
    s.send_line("\\set n 21").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("select $n * 2 as doubled;").unwrap();
    s.exp_string("doubled").unwrap();
    s.exp_string("42").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("\\set since DATE 2025-01-01").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("select arrow_typeof($since) as t;").unwrap();
    s.exp_string("Date32").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("\\run funnel since=2025-01-01").unwrap();
    s.exp_string("leakiest_step").unwrap();
    s.exp_string("rows").unwrap();
    quit(s);
}

#[test]
fn an_error_leaves_the_session_usable() {
    let state = empty_dir();
    let mut s = repl(state.path());
    s.send_line("select nope from reps;").unwrap();
    s.exp_string("error:").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("create view v as select 5 as five;").unwrap();
    s.exp_string("OK").unwrap();
    s.send_line("select five from v;").unwrap();
    s.exp_string("five").unwrap();
    s.exp_string("1 row").unwrap();
    quit(s);
}

/// A statement that panics a library (here the Parquet reader, on a footer whose lengths do
/// not add up) ends with an error; the session goes on.
#[test]
fn a_panic_in_a_statement_leaves_the_session_usable() {
    let state = empty_dir();
    std::fs::create_dir_all(state.path().join("root/deals")).unwrap();
    std::fs::write(state.path().join("root/deals/f.parquet"), b"PAR1PAR1").unwrap();
    let mut command = salesql_process();
    command
        .current_dir(state.path())
        .env("XDG_STATE_HOME", state.path())
        .env("TERM", "xterm")
        .env_remove("RUST_BACKTRACE")
        .arg("--data")
        .arg(state.path().join("root"));
    let mut s = spawn_command(command, Some(TIMEOUT_MS)).expect("the REPL starts");
    s.exp_string("salesql> ").expect("the prompt");
    s.send_line("select count(*) from deals;").unwrap();
    let before = s.exp_string("salesql> ").unwrap();
    assert!(
        before.contains("deals/f.parquet is not a valid Parquet file"),
        "{before}"
    );
    assert!(!before.contains("panicked"), "{before}");
    s.send_line("select 40 + 2 as answer;").unwrap();
    s.exp_string("     42").unwrap();
    s.exp_string("1 row").unwrap();
    quit(s);
}

#[test]
fn ctrl_c_cancels_a_long_statement_and_keeps_the_session() {
    let state = empty_dir();
    let mut s = repl(state.path());
    s.send_line(
        "select count(*) from generate_series(1, 100000) a cross join generate_series(1, 100000) b;",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    s.send_control('c').unwrap();
    s.exp_string("cancelled").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("select 'still here' as status;").unwrap();
    s.exp_string("still here").unwrap();
    quit(s);
}

#[test]
fn binary_formats_are_refused_on_the_terminal() {
    let state = empty_dir();
    let mut s = repl(state.path());
    s.send_line("\\format arrow").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("select 1;").unwrap();
    s.exp_string("refusing to write binary arrow output to a terminal")
        .unwrap();
    s.exp_string("salesql> ").unwrap();
    quit(s);
}

#[test]
fn history_is_kept_across_sessions_in_the_state_folder() {
    let state = empty_dir();
    let mut first = repl(state.path());
    first.send_line("select 'remembered' as h;").unwrap();
    first.exp_string("1 row").unwrap();
    quit(first);
    let file = state.path().join("salesql/history");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("remembered"),
        "{}",
        file.display()
    );
    // Nothing lands in the working directory (here the same folder): only the state folder.
    let entries: Vec<_> = std::fs::read_dir(state.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(entries, ["salesql"]);

    let mut second = repl(state.path());
    second.send("\x1b[A").unwrap();
    second.flush().unwrap(); // Up: the previous statement.
    second.exp_string("remembered").unwrap();
    second.send("\r").unwrap();
    second.flush().unwrap();
    second.exp_string("1 row").unwrap();
    quit(second);
}

#[test]
fn a_cancelled_copy_leaves_nothing_behind() {
    let state = empty_dir();
    let out = empty_dir();
    let target = out.path().join("folder");
    let mut s = repl(state.path());
    s.send_line(&format!(
        "copy (select a.value as x from generate_series(1, 3000) a cross join generate_series(1, 1000000) b) to '{}/' stored as csv;",
        target.display()
    ))
    .unwrap();
    // Cancelled once it has started writing.
    let left = || std::fs::read_dir(out.path()).unwrap().count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while left() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(left() > 0, "the COPY wrote nothing in 20 s");
    s.send_control('c').unwrap();
    s.exp_string("cancelled").unwrap();
    s.exp_string("salesql> ").unwrap();
    // What the COPY had written is removed in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while left() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let entries: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(entries.is_empty(), "{entries:?}");
    quit(s);
}

#[test]
fn a_failed_statement_adds_nothing_to_the_output_file() {
    let state = empty_dir();
    let out = state.path().join("results.csv");
    let mut s = repl(state.path());
    s.send_line("\\format csv").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line(&format!("\\o {}", out.display())).unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("select 'first' as kept;").unwrap();
    s.exp_string("1 row").unwrap();
    // Fails after hundreds of thousands of rows were written out.
    s.send_line(&format!("select x from ({FAILS_MIDWAY});"))
        .unwrap();
    s.exp_string("Divide by zero").unwrap();
    s.exp_string("salesql> ").unwrap();
    s.send_line("select 'last' as kept;").unwrap();
    s.exp_string("1 row").unwrap();
    quit(s);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "kept\nfirst\nkept\nlast\n"
    );
}
