#!/usr/bin/env python3
"""Checks that every tool of benches/peers.sh gave the same answer, and prints the table.

usage:
  compare.py check WORKLOAD REFERENCE OUT...   exit 1 unless every OUT equals REFERENCE
  compare.py table BYTES TIMINGS...            markdown table of medians, GB/s, x fleet
  compare.py ratios TIMINGS...                 WORKLOAD TOOL MEDIAN_S TIME/FLEET lines (TSV),
                                               what benches/peers-chart draws

Answers are normalised before comparing, since tools differ in order and number format:
select  the multiset of lines, sorted (the Python script appends in whatever order its
        processes finish; ripgrep's threads interleave files);
count   the one integer (ids too: the records whose id is in the list);
groupby rows id,count,mean keyed by id (any header and order); counts exactly, means
        within 1.5e-6 (fleet prints 6 decimals of the exact mean, ties to even; tools that sum
        in doubles and print 6 decimals may land one unit away on a tie such as 45.2078125).
bucket  rows window,count,median keyed by the window start text; counts exactly, medians
        equal as numbers (halves are exact in a double).
lat     rows lat,count keyed by the lat text; counts exactly.
idhour  rows id,hour,count,mean keyed by (id, hour) as integers (fleet prints 08, DuckDB 8);
        counts exactly, means within 1.5e-6.
stats   the numeric columns' count, min, max and mean: fleet stats' CSV (columns column,
        type,count,...,min,max,mean) or the frames' column,count,min,max,mean; counts
        exactly, min and max as numbers, means within 1e-6 relative.
TIMINGS are hyperfine --export-json files, or text files of "TOOL SECONDS" lines from the
fallback loop; a file's name is WORKLOAD.json or WORKLOAD.times.
"""

import json
import os
import statistics
import sys


def load(workload, path):
    with open(path, "rb") as f:
        data = f.read()
    if workload == "select":
        # fleet writes records as they are in the file (quoted, CRLF, with --dialect data);
        # the libraries write values: compare without the quotes (gps values hold none).
        return sorted(line.replace(b'"', b"") for line in data.splitlines())
    if workload in ("count", "ids"):
        return int(data.strip())
    if workload == "stats":
        import csv
        import io

        rows = {}
        for r in csv.DictReader(io.StringIO(data.decode())):
            if r.get("type", "int64") in ("int64", "float64") and r["min"] != "":
                rows[r["column"]] = (int(float(r["count"])), float(r["min"]), float(r["max"]),
                                     float(r["mean"]))
        return rows
    rows = {}
    if workload == "lat":
        for line in data.decode().splitlines():
            cells = line.strip().split(",")
            if len(cells) != 2 or not cells[1].strip().isdigit():
                continue  # a header line
            rows[cells[0].strip('"')] = (int(cells[1]), 0.0)
        return rows
    if workload == "idhour":
        for line in data.decode().splitlines():
            cells = line.strip().split(",")
            if len(cells) != 4 or not cells[0].strip().isdigit():
                continue  # a header line
            rows[(int(cells[0]), int(cells[1]))] = (int(cells[2]), float(cells[3]))
        return rows
    if workload == "bucket":
        for line in data.decode().splitlines():
            cells = line.strip().split(",")
            if len(cells) != 3 or not cells[1].strip().isdigit():
                continue  # a header line
            rows[cells[0].strip('"')] = (int(cells[1]), float(cells[2]))
        return rows
    for line in data.decode().splitlines():
        cells = line.strip().split(",")
        if len(cells) != 3 or not cells[0].strip().isdigit():
            continue  # a header line
        rows[int(cells[0])] = (int(cells[1]), float(cells[2]))
    return rows


def differs(workload, want, got):
    """None if equal, else a short description of the first difference."""
    if workload == "select":
        if want == got:
            return None
        return f"{len(got)} lines, expected {len(want)}; first difference: " + next(
            (f"{g!r} vs {w!r}" for w, g in zip(want, got) if w != g),
            "one is a prefix of the other",
        )
    if workload in ("count", "ids"):
        return None if want == got else f"{got}, expected {want}"
    if workload == "stats":
        if want.keys() != got.keys():
            return f"columns {sorted(got)}, expected {sorted(want)}"
        for c, (n, lo, hi, mean) in want.items():
            gn, glo, ghi, gmean = got[c]
            if gn != n or glo != lo or ghi != hi or abs(gmean - mean) > 1e-6 * max(1.0, abs(mean)):
                return f"column {c}: {got[c]}, expected {want[c]}"
        return None
    if want.keys() != got.keys():
        missing = sorted(want.keys() - got.keys())[:3]
        extra = sorted(got.keys() - want.keys())[:3]
        return f"{len(got)} groups, expected {len(want)} (missing {missing}, extra {extra})"
    tolerance = 0.0 if workload == "bucket" else 1.5e-6
    for key, (n, mean) in want.items():
        gn, gmean = got[key]
        if gn != n or abs(gmean - mean) > tolerance:
            return f"group {key}: {gn},{gmean}, expected {n},{mean}"
    return None


def check(workload, reference, outs):
    want = load(workload, reference)
    if workload == "select" and not want:
        print(f"{workload}: the reference {reference} is empty: nothing to compare", file=sys.stderr)
        return 1
    bad = 0
    for out in outs:
        try:
            problem = differs(workload, want, load(workload, out))
        except (OSError, ValueError) as e:
            problem = f"unreadable: {e}"
        if problem:
            print(f"WRONG ANSWER from {out}: {problem}", file=sys.stderr)
            bad += 1
    size = want if workload in ("count", "ids") else len(want)
    what = {"select": "lines", "count": "records", "ids": "records", "groupby": "groups", "bucket": "windows", "stats": "columns", "lat": "groups", "idhour": "groups"}[workload]
    if bad == 0:
        print(f"{workload}: all {len(outs) + 1} tools agree ({size} {what})", file=sys.stderr)
    return 1 if bad else 0


def timings(path):
    """(tool, median seconds) in the order the tools ran."""
    if path.endswith(".json"):
        with open(path) as f:
            results = json.load(f)["results"]
        return [(r["command"], statistics.median(r["times"])) for r in results]
    times = {}
    with open(path) as f:
        for line in f:
            tool, secs = line.split()
            times.setdefault(tool, []).append(float(secs))
    return [(tool, statistics.median(ts)) for tool, ts in times.items()]


def fmt(x):
    """Two decimals, or three significant digits below 0.1 (small smoke-test data)."""
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3g}"


def table(nbytes, paths):
    print("| workload | tool | median s | GB/s | time / fleet's |")
    print("|---|---|---:|---:|---:|")
    for path in paths:
        workload = os.path.basename(path).rsplit(".", 1)[0]
        rows = timings(path)
        fleet = dict(rows).get("fleet")
        for tool, secs in rows:
            ratio = f"{fmt(secs / fleet)}x" if fleet else "-"
            print(f"| {workload} | {tool} | {secs:.3f} | {fmt(nbytes / secs / 1e9)} | {ratio} |")
    return 0


def ratios(paths):
    for path in paths:
        workload = os.path.basename(path).rsplit(".", 1)[0]
        rows = timings(path)
        fleet = dict(rows).get("fleet")
        if not fleet:
            continue
        for tool, secs in rows:
            print(f"{workload}\t{tool}\t{secs:.3f}\t{secs / fleet:.4f}")
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "check":
        return check(argv[2], argv[3], argv[4:])
    if len(argv) >= 2 and argv[1] == "ratios":
        return ratios(argv[2:])
    if len(argv) >= 3 and argv[1] == "table":
        return table(int(argv[2]), argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
