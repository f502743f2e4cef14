#!/usr/bin/env python3
"""Cross-check salesql's window_funnel (default mode) against ClickHouse's windowFunnel.

ClickHouse runs embedded, through chDB. The events are random, with distinct timestamps within
each user and one condition per event: the cases where both functions are defined the same way
(with tied timestamps or events meeting several conditions, ClickHouse's answer depends on row
order or lets one event fill two steps, which salesql does not).

    tests/crosscheck/run.sh [--cases N] [--users N] [--seed S]

prints one line per case and a summary, and exits 1 on any disagreement.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile

import chdb
import pyarrow as pa
import pyarrow.parquet as pq


def events(rng, users):
    rows = {"user_id": [], "t": [], "ev": []}
    for user in range(users):
        count = rng.randint(1, 12)
        for t in sorted(rng.sample(range(0, 1000), count)):
            rows["user_id"].append(user)
            rows["t"].append(t)
            rows["ev"].append(rng.randint(1, 5))
    table = pa.table({
        "user_id": pa.array(rows["user_id"], pa.int64()),
        "t": pa.array(rows["t"], pa.uint32()),
        "ts": pa.array(rows["t"], pa.timestamp("s")),
        "ev": pa.array(rows["ev"], pa.int64()),
    })
    return table


def salesql_levels(binary, root, window, steps):
    conditions = ", ".join(f"ev = {i}" for i in range(1, steps + 1))
    sql = (f"SELECT user_id, window_funnel(INTERVAL '{window} seconds', ts, {conditions}) AS level "
           "FROM events GROUP BY user_id ORDER BY user_id")
    done = subprocess.run([binary, "--data", root, "query", sql, "--format", "csv"],
                          capture_output=True, text=True, check=True)
    lines = done.stdout.strip().splitlines()[1:]
    return {int(u): int(l) for u, l in (line.split(",") for line in lines)}


def clickhouse_levels(path, window, steps):
    conditions = ", ".join(f"ev = {i}" for i in range(1, steps + 1))
    sql = (f"SELECT user_id, windowFunnel({window})(t, {conditions}) AS level "
           f"FROM file('{path}', Parquet) GROUP BY user_id ORDER BY user_id")
    text = str(chdb.query(sql, "CSV"))
    return {int(u): int(l) for u, l in (line.split(",") for line in text.strip().splitlines())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--salesql", default=os.environ.get("SALESQL", "target/release/salesql"))
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    compared = disagreements = 0
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "events"))
        path = os.path.join(root, "events", "part-0.parquet")
        for case in range(args.cases):
            pq.write_table(events(rng, args.users), path)
            window = rng.choice([0, 5, 30, 100, 300, 1000])
            steps = rng.randint(1, 5)
            ours = salesql_levels(args.salesql, root, window, steps)
            theirs = clickhouse_levels(path, window, steps)
            wrong = [u for u in theirs if ours.get(u) != theirs[u]]
            compared += len(theirs)
            disagreements += len(wrong)
            print(f"case {case}: window {window}s, {steps} steps, {len(theirs)} users, "
                  f"{len(wrong)} disagreements" + (f" (e.g. user {wrong[0]}: salesql {ours.get(wrong[0])}, "
                                                    f"ClickHouse {theirs[wrong[0]]})" if wrong else ""))
    print(f"{compared} groups compared over {args.cases} cases, {disagreements} disagreements "
          f"(chDB {chdb.__version__})")
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
