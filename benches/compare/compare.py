"""salesql against DuckDB and ClickHouse (chDB) on the saved queries, side by side.

For each saved query: salesql runs the built-in query (`salesql run NAME`, a fresh process per
run, so its time includes start-up and table registration); DuckDB runs the plain-SQL
formulation in benches/plain_sql/ (or the saved query itself when it uses no sales function);
chDB runs the ClickHouse formulation in benches/compare/clickhouse/. Two extra rows:
`stage_funnel` (salesql's window_funnel against chDB's windowFunnel and DuckDB's self-joins)
and salesql's start-up (`query "select 1"`). Every answer is checked against salesql's;
a disagreement is printed and makes the exit code 1.

Usage (through run.sh, which prepares the virtual environment and the binary):
    benches/compare/run.sh --scale 10 --runs 3 [--only a,b] [--engines duckdb,chdb]
                           [--memory-limit 4G] [--markdown FILE]
"""

import argparse
import csv
import io
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(REPO, "benches", "compare")
QUERIES = [
    "activity_reach", "conversion", "conversion_outliers", "cycle_time", "funnel",
    "hasty_openers", "open_pipeline", "quota_attainment", "rep_scorecard", "touches_to_win",
]
STAGE_FUNNEL = "stage_funnel"
# The generator's file layout: part of the cached data's folder name, so that a change to what
# `salesql generate` writes (v2: delta-encoded 64-bit columns) is never measured on stale files.
# The same value as `LAYOUT_VERSION` in src/parquet_layout.rs.
DATA_LAYOUT = "v2"
PARAM = re.compile(r"^--\s*param:\s*(\w+)\s+(\w+)\s*(?:=\s*(.*?))?\s*$", re.MULTILINE)


def sql_files(name):
    """The file each engine runs for one benchmark row."""
    if name == STAGE_FUNNEL:
        return {
            "salesql": os.path.join(REPO, "benches", "stage_funnel", "functions.sql"),
            "duckdb": os.path.join(REPO, "benches", "stage_funnel", "plain.sql"),
            "chdb": os.path.join(HERE, "clickhouse", "stage_funnel.sql"),
        }
    plain = os.path.join(REPO, "benches", "plain_sql", f"{name}.sql")
    saved = os.path.join(REPO, "queries", f"{name}.sql")
    return {
        "salesql": saved,
        "duckdb": plain if os.path.exists(plain) else saved,
        "chdb": os.path.join(HERE, "clickhouse", f"{name}.sql"),
    }


def declared_params(path):
    """{name: (default, type)} from a saved query's `-- param:` header lines."""
    return {m[0]: (m[2], m[1]) for m in PARAM.findall(open(path).read()) if m[2]}


def run_process(argv, stdout_path=None):
    """Runs a command, returning (wall seconds, peak RSS in MiB, stdout text)."""
    with tempfile.TemporaryFile() as err:
        out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        captured = b""
        if stdout_path is None:
            captured = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if stdout_path:
            out.close()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv[:6])}… exited {proc.returncode}: {err.read().decode()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, captured.decode()


def time_salesql(args, root, name, result_csv):
    target = name if name != STAGE_FUNNEL else sql_files(name)["salesql"]
    argv = [args.salesql, "--data", root, "--format", "csv"]
    if args.memory_limit:
        argv += ["--memory-limit", args.memory_limit]
    argv += ["run", target]
    seconds, peak = [], 0.0
    for _ in range(args.runs):
        wall, rss, _ = run_process(argv, result_csv)
        seconds.append(wall)
        peak = max(peak, rss)
    return seconds, peak


def time_engine(args, engine, root, name, result_csv):
    files = sql_files(name)
    params = declared_params(files["salesql"])
    params.update(declared_params(files[engine]))
    argv = [sys.executable, os.path.join(HERE, "engines.py"), engine, root, files[engine],
            str(args.runs), result_csv, json.dumps(params)]
    _, peak, out = run_process(argv)
    return json.loads(out)["seconds"], peak


TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d:\d\d)(?:\.\d+)?)?(?:Z|[+-]00(?::?00)?)?$")


class Number(float):
    """A number read from an answer, with the unit of its last decimal place (0 for integers)."""
    unit = 0.0


def normalize_cell(cell):
    cell = cell.strip()
    if cell in ("", "\\N", "NULL", "nan", "NaN"):
        return None
    match = TIMESTAMP.match(cell)
    if match:
        day, clock = match.groups()
        return day if clock in (None, "00:00:00") else f"{day} {clock}"
    try:
        number = Number(cell)
        # A fractional value was rounded in SQL: one unit in its last place is its precision.
        number.unit = 10.0 ** -len(cell.split(".")[1]) if "." in cell and "e" not in cell.lower() else 0.0
        return number
    except ValueError:
        pass
    if cell.startswith("["):
        inner = cell[1:-1].replace("'", "").replace('"', "")
        items = [normalize_cell(x) for x in inner.split(",")] if inner.strip() else []
        return tuple(items)
    return cell


def read_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return [tuple(normalize_cell(c) for c in row) for row in rows[1:]]


def sort_key(row):
    return tuple((0, round(c, 1)) if isinstance(c, float) else (1, str(c)) for c in row)


def close(a, b):
    if isinstance(a, float) and isinstance(b, float):
        # Answers are rounded in SQL; a value on a rounding boundary (x.x5 summed in another
        # order) may differ by one unit in its last place. Integers must match exactly.
        unit = max(getattr(a, "unit", 0.0), getattr(b, "unit", 0.0))
        return math.isclose(a, b, rel_tol=1e-7, abs_tol=max(unit * 1.01, 1e-9))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return a == b


def disagreement(ours_csv, theirs_csv):
    """None when both results hold the same rows (in any order, numbers within rounding),
    else a short description of the first difference."""
    ours, theirs = sorted(read_rows(ours_csv), key=sort_key), sorted(read_rows(theirs_csv), key=sort_key)
    if len(ours) != len(theirs):
        return f"{len(ours)} rows against {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if len(a) != len(b) or not all(close(x, y) for x, y in zip(a, b)):
            return f"row {i}: salesql {a} against {b}"
    return None


def ensure_data(args):
    if args.data:
        return args.data
    partition = "" if args.partition == "none" else f"-{args.partition}"
    root = os.path.join(args.data_cache, f"scale-{args.scale:g}{partition}-{DATA_LAYOUT}")
    if not os.path.isdir(os.path.join(root, "activities")):
        print(f"generating scale {args.scale:g} into {root}", file=sys.stderr)
        subprocess.run([args.salesql, "generate", "--out", root, "--scale", str(args.scale),
                        "--partition", args.partition, "--force"], check=True)
    return root


def startup_seconds(args, root):
    walls = [run_process([args.salesql, "--data", root, "query", "select 1"])[0] for _ in range(10)]
    return statistics.median(walls)


def fmt_ratio(ours, theirs):
    return f"{ours / theirs:.2f}×" if theirs else "–"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--salesql", required=True, help="the salesql binary (release build)")
    parser.add_argument("--scale", type=float, default=1.0, help="generator scale (1 = 1M activities)")
    parser.add_argument("--partition", default="none", choices=["none", "year", "month"])
    parser.add_argument("--data", help="use this data root instead of generating one")
    parser.add_argument("--data-cache", default=os.path.join(REPO, "target", "bench-data"))
    parser.add_argument("--runs", type=int, default=3, help="runs per query and engine; the median is shown")
    parser.add_argument("--only", help="comma-separated query names")
    parser.add_argument("--engines", default="duckdb,chdb")
    parser.add_argument("--memory-limit", help="passed to salesql --memory-limit")
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    args = parser.parse_args()

    root = ensure_data(args)
    engines = [e for e in args.engines.split(",") if e]
    names = QUERIES + [STAGE_FUNNEL]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]

    header = ["query", "salesql s"] + [f"{e} s" for e in engines] + [f"÷{e}" for e in engines] \
        + ["salesql MiB"] + [f"{e} MiB" for e in engines] + ["answers"]
    table = []
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            ours_csv = os.path.join(scratch, f"{name}.salesql.csv")
            seconds, peak = time_salesql(args, root, name, ours_csv)
            times, peaks, notes = {}, {}, []
            for engine in engines:
                theirs_csv = os.path.join(scratch, f"{name}.{engine}.csv")
                try:
                    engine_seconds, engine_peak = time_engine(args, engine, root, name, theirs_csv)
                except RuntimeError as error:
                    notes.append(f"{engine} failed")
                    print(f"{name}: {error}", file=sys.stderr)
                    failures += 1
                    continue
                times[engine], peaks[engine] = statistics.median(engine_seconds), engine_peak
                problem = disagreement(ours_csv, theirs_csv)
                if problem:
                    notes.append(f"{engine} differs")
                    print(f"{name}: {engine} disagrees: {problem}", file=sys.stderr)
                    failures += 1
            ours = statistics.median(seconds)
            row = [name, f"{ours:.3f}"] + [f"{times[e]:.3f}" if e in times else "–" for e in engines] \
                + [fmt_ratio(ours, times.get(e)) for e in engines] \
                + [f"{peak:.0f}"] + [f"{peaks[e]:.0f}" if e in peaks else "–" for e in engines] \
                + ["; ".join(notes) or ("agree" if engines else "not compared")]
            table.append(row)
            print("  ".join(row), file=sys.stderr)
        start = startup_seconds(args, root)

    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(header)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in table]
    lines.append("")
    lines.append(f"salesql start-up (`query \"select 1\"`, median of 10): {start * 1000:.0f} ms")
    text = "\n".join(lines)
    print(f"\ndata: {root}, runs: {args.runs}, median seconds; peak MiB is the whole process")
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
