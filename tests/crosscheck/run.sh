#!/usr/bin/env bash
# Runs the ClickHouse cross-check of window_funnel in a virtual environment it creates
# (chDB and pyarrow from PyPI), against the release build of salesql.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
venv="$target/crosscheck-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet chdb pyarrow
fi
cargo build --release --quiet
SALESQL="$target/release/salesql" exec "$venv/bin/python" tests/crosscheck/window_funnel_clickhouse.py "$@"
