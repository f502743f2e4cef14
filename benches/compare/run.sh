#!/usr/bin/env bash
# Compare salesql with DuckDB and ClickHouse (chDB) on generated sales history.
#
#   benches/compare/run.sh --scale 10 [--runs 3] [--only funnel,cycle_time] [--markdown FILE]
#
# Creates a Python virtual environment with duckdb, chdb and pyarrow (once), builds salesql in
# release mode, generates the data set at the requested scale (once, kept under the target
# directory) and prints one table with every engine side by side. See compare.py --help.
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/salesql/target}"
venv="$CARGO_TARGET_DIR/compare-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb, chdb, pyarrow' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet duckdb chdb pyarrow
fi

cargo build --release --locked --quiet
exec "$venv/bin/python" benches/compare/compare.py --salesql "$CARGO_TARGET_DIR/release/salesql" \
    --data-cache "$CARGO_TARGET_DIR/bench-data" "$@"
