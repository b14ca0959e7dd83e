#!/usr/bin/env python3
"""The peer workloads in DuckDB and Polars, as a user would write them: one query over the
folder's *.csv files, with the thread count limited to match fleet's workers. The gps files
have no header; id and speed are read as integers and every other column as text, so a
selected line is written back exactly as it was read (a DOUBLE would print 114.06122 for
114.061220) and the check can compare lines byte for byte.

usage: frames.py duckdb|polars select|count|groupby|bucket|ids|stats|lat|idhour DIR OUT [--threads N] [--ids FILE] [--quotes]
--quotes: the files are quoted or CRLF (fleet gen --dialect): read them with the libraries'
default quote character '"' instead of none.
lat: the record count per `lat` text (hundreds of thousands of groups).
idhour: per taxi id and hour of the day of `time`, the record count and mean speed.
bucket: per 15-minute window of `time` (DuckDB's time_bucket, Polars' dt.truncate), the
record count and the exact median speed, keyed by the window start as text.
ids counts the records whose id is one of FILE's (one per line): DuckDB with
`IN (SELECT ...)`, Polars with `is_in`.
stats is each library's own profile of every column (DuckDB SUMMARIZE, Polars describe),
with column types inferred as a user would leave them; the numeric columns' count, min, max
and mean are written as CSV lines column,count,min,max,mean for the check.
Time includes starting Python and importing the library, as for any command a user runs.
"""

import argparse
import os

COLUMNS = ["id", "time", "lon", "lat", "speed", "heading", "occupied"]
INTEGER = {"id", "speed"}
TAXI = 11865


NUMERIC = ["id", "lon", "lat", "speed", "heading", "occupied"]


def write_profile(out, rows):
    """rows: (column, count, min, max, mean) of the numeric columns."""
    with open(out, "w") as f:
        f.write("column,count,min,max,mean\n")
        for column, count, lo, hi, mean in rows:
            f.write(f"{column},{int(count)},{lo},{hi},{mean}\n")


def run_duckdb(workload, pattern, out, threads, ids=None, quotes=False):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    if workload == "stats":
        names = ", ".join(f"'{c}'" for c in COLUMNS)
        rel = con.execute(
            f"SUMMARIZE SELECT * FROM read_csv('{pattern}', header = false, names = [{names}])"
        )
        cols = [d[0] for d in rel.description]
        rows = {r[cols.index("column_name")]: r for r in rel.fetchall()}
        at = lambda r, k: r[cols.index(k)]
        write_profile(
            out,
            [
                (c, at(rows[c], "count") * (1 - float(at(rows[c], "null_percentage") or 0) / 100),
                 at(rows[c], "min"), at(rows[c], "max"), at(rows[c], "avg"))
                for c in NUMERIC
            ],
        )
        return
    types = ", ".join(
        f"'{c}': '{'BIGINT' if c in INTEGER else 'VARCHAR'}'" for c in COLUMNS
    )
    quote = '\'"\'' if quotes else "''"
    src = f"read_csv('{pattern}', header = false, delim = ',', quote = {quote}, columns = {{{types}}})"
    if workload == "select":
        con.execute(
            f"COPY (SELECT * FROM {src} WHERE id = {TAXI}) TO '{out}' "
            "(FORMAT csv, HEADER false, QUOTE '')"
        )
    elif workload == "count":
        (n,) = con.execute(f"SELECT count(*) FROM {src} WHERE speed > 100").fetchone()
        with open(out, "w") as f:
            f.write(f"{n}\n")
    elif workload == "ids":
        wanted = f"read_csv('{ids}', header = false, columns = {{'id': 'BIGINT'}})"
        (n,) = con.execute(
            f"SELECT count(*) FROM {src} WHERE id IN (SELECT id FROM {wanted})"
        ).fetchone()
        with open(out, "w") as f:
            f.write(f"{n}\n")
    elif workload == "lat":
        con.execute(
            f"COPY (SELECT lat, count(*) AS count FROM {src} GROUP BY lat ORDER BY lat) "
            f"TO '{out}' (FORMAT csv, HEADER true)"
        )
    elif workload == "idhour":
        con.execute(
            "COPY (SELECT id, hour(CAST(time AS TIMESTAMP)) AS hour, count(*) AS count, "
            f"avg(speed) AS mean FROM {src} GROUP BY ALL ORDER BY id, hour) "
            f"TO '{out}' (FORMAT csv, HEADER true)"
        )
    elif workload == "bucket":
        con.execute(
            "COPY (SELECT strftime(b, '%Y-%m-%d %H:%M:%S') AS bucket, count(*) AS count, "
            "median(speed) AS median FROM (SELECT time_bucket(INTERVAL 15 minutes, "
            f"CAST(time AS TIMESTAMP)) AS b, speed FROM {src}) GROUP BY b ORDER BY b) "
            f"TO '{out}' (FORMAT csv, HEADER true)"
        )
    else:
        con.execute(
            f"COPY (SELECT id, count(*) AS count, avg(speed) AS mean FROM {src} "
            f"GROUP BY id ORDER BY id) TO '{out}' (FORMAT csv, HEADER true)"
        )


def run_polars(workload, pattern, out, threads, ids=None, quotes=False):
    # The pool size is read once, at import: set it first.
    os.environ["POLARS_MAX_THREADS"] = str(threads)
    import polars as pl

    if workload == "stats":
        df = pl.scan_csv(pattern, has_header=False, new_columns=COLUMNS).collect()
        d = df.describe()
        stat = d.get_column("statistic").to_list()
        row = lambda c, k: d.get_column(c)[stat.index(k)]
        write_profile(
            out,
            [(c, row(c, "count"), row(c, "min"), row(c, "max"), row(c, "mean")) for c in NUMERIC],
        )
        return
    schema = {c: (pl.Int64 if c in INTEGER else pl.String) for c in COLUMNS}
    lf = pl.scan_csv(pattern, has_header=False, schema=schema, quote_char='"' if quotes else None)
    if workload == "select":
        lf.filter(pl.col("id") == TAXI).sink_csv(out, include_header=False)
    elif workload == "count":
        n = lf.filter(pl.col("speed") > 100).select(pl.len()).collect().item()
        with open(out, "w") as f:
            f.write(f"{n}\n")
    elif workload == "ids":
        wanted = pl.read_csv(ids, has_header=False, schema={"id": pl.Int64})["id"]
        n = lf.filter(pl.col("id").is_in(wanted)).select(pl.len()).collect().item()
        with open(out, "w") as f:
            f.write(f"{n}\n")
    elif workload == "lat":
        lf.group_by("lat").agg(pl.len().alias("count")).sort("lat").collect().write_csv(out)
    elif workload == "idhour":
        (
            lf.with_columns(
                pl.col("time").str.to_datetime("%Y-%m-%d %H:%M:%S").dt.hour().alias("hour")
            )
            .group_by("id", "hour")
            .agg(pl.len().alias("count"), pl.col("speed").mean().alias("mean"))
            .sort("id", "hour")
            .collect()
            .write_csv(out)
        )
    elif workload == "bucket":
        (
            lf.with_columns(
                pl.col("time").str.to_datetime("%Y-%m-%d %H:%M:%S").dt.truncate("15m").alias("b")
            )
            .group_by("b")
            .agg(pl.len().alias("count"), pl.col("speed").median().alias("median"))
            .sort("b")
            .select(pl.col("b").dt.strftime("%Y-%m-%d %H:%M:%S").alias("bucket"), "count", "median")
            .collect()
            .write_csv(out)
        )
    else:
        (
            lf.group_by("id")
            .agg(pl.len().alias("count"), pl.col("speed").mean().alias("mean"))
            .sort("id")
            .collect()
            .write_csv(out)
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=["duckdb", "polars"])
    parser.add_argument("workload", choices=["select", "count", "groupby", "bucket", "ids", "stats", "lat", "idhour"])
    parser.add_argument("dir")
    parser.add_argument("out")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ids", help="the id list of the ids workload")
    parser.add_argument("--quotes", action="store_true", help="read with quote character '\"'")
    args = parser.parse_args()
    pattern = os.path.join(args.dir, "*.csv")
    run = run_duckdb if args.engine == "duckdb" else run_polars
    run(args.workload, pattern, args.out, args.threads, args.ids, args.quotes)


if __name__ == "__main__":
    main()
