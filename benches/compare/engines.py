"""Run one query several times in DuckDB or chDB, in this process, and report the timings.

    python engines.py ENGINE ROOT SQL_FILE RUNS RESULT_CSV PARAMS_JSON

Prints a JSON object {"seconds": [...]} on stdout and leaves the result of the last run as CSV
in RESULT_CSV. Table views over ROOT are created before the clock starts, so the timings are
of the query alone (salesql's, taken by compare.py, include its process start and table
registration). compare.py starts one process per engine and query, and reads its peak memory.
"""

import json
import re
import sys
import time

TABLES = ["reps", "opportunities", "stage_history", "activities", "quotas", "stages"]


def literal(value, sql_type, engine):
    """A saved-query parameter value as a typed SQL literal in the engine's dialect."""
    sql_type = sql_type.upper()
    if sql_type in ("INT", "INTEGER", "BIGINT", "DOUBLE", "FLOAT"):
        return str(value)
    if sql_type == "DATE":
        return f"toDate('{value}')" if engine == "chdb" else f"DATE '{value}'"
    if sql_type == "TIMESTAMP":
        return f"toDateTime64('{value}', 6, 'UTC')" if engine == "chdb" else f"TIMESTAMP '{value}'"
    if sql_type == "BOOLEAN":
        return "true" if str(value).lower() in ("true", "1", "yes") else "false"
    return "'" + str(value).replace("'", "''") + "'"


def bind(sql, params, engine):
    """Replaces $name placeholders by literals. The values are the saved queries' own
    defaults, never user input, so text substitution is safe here."""
    for name in sorted(params, key=len, reverse=True):
        value, sql_type = params[name]
        sql = re.sub(r"\$" + name + r"\b", literal(value, sql_type, engine), sql)
    return sql


def duckdb_runner(root):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table in TABLES:
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM "
            f"read_parquet('{root}/{table}/**/*.parquet', hive_partitioning = true, union_by_name = true)"
        )

    def run(sql, out):
        con.sql(sql).write_csv(out)

    return run


def chdb_runner(root):
    from chdb import session

    con = session.Session()
    con.query("SET session_timezone = 'UTC'")
    con.query("SET join_use_nulls = 1")
    for table in TABLES:
        con.query(f"CREATE VIEW {table} AS SELECT * FROM file('{root}/{table}/**.parquet', Parquet)")

    def run(sql, out):
        result = con.query(sql, "CSVWithNames")
        with open(out, "wb") as f:
            f.write(result.bytes())

    return run


def main():
    engine, root, sql_file, runs, out, params = sys.argv[1:7]
    params = json.loads(params)
    sql = bind(open(sql_file).read(), params, engine)
    sql = sql.strip().rstrip(";")
    run = {"duckdb": duckdb_runner, "chdb": chdb_runner}[engine](root)
    seconds = []
    for _ in range(int(runs)):
        start = time.perf_counter()
        run(sql, out)
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"seconds": seconds}))


if __name__ == "__main__":
    main()
