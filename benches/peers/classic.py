#!/usr/bin/env python3
"""The classic way to parallelise a job over a folder of CSV files in Python: a
multiprocessing Pool with one task per file, each line split with str.split(","), and a Lock
around appends to the shared output file. It is the baseline fleet's targets are stated
against ("50x the classic Python script"), so it is kept plain on purpose: no pandas, no csv
module, no mmap.

usage: classic.py select|count|groupby DIR OUT [--procs N]
  select   lines whose id is 11865, appended to OUT under a lock (in no particular order)
  count    the number of records with speed > 100, written to OUT
  groupby  id,count,mean(speed) per id, sorted by id, written to OUT
"""

import argparse
import glob
import os
from multiprocessing import Lock, Pool

TAXI = 11865
lock = None
out_path = None


def init(shared_lock, path):
    global lock, out_path
    lock = shared_lock
    out_path = path


def select(path):
    with open(path) as f:
        for row in f:
            cells = row.split(",")
            if int(cells[0]) == TAXI:
                with lock:
                    with open(out_path, "a") as out:
                        out.write(row)


def count(path):
    n = 0
    with open(path) as f:
        for row in f:
            cells = row.split(",")
            if int(cells[4]) > 100:
                n += 1
    return n


def groupby(path):
    groups = {}
    with open(path) as f:
        for row in f:
            cells = row.split(",")
            key = int(cells[0])
            speed = int(cells[4])
            g = groups.get(key)
            if g is None:
                groups[key] = [1, speed]
            else:
                g[0] += 1
                g[1] += speed
    return groups


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["select", "count", "groupby"])
    parser.add_argument("dir")
    parser.add_argument("out")
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.dir, "*.csv")))
    if not files:
        parser.error(f"no *.csv files in {args.dir}")
    open(args.out, "w").close()
    with Pool(args.procs, initializer=init, initargs=(Lock(), args.out)) as pool:
        if args.workload == "select":
            pool.map(select, files, chunksize=1)
        elif args.workload == "count":
            total = sum(pool.map(count, files, chunksize=1))
            with open(args.out, "w") as out:
                out.write(f"{total}\n")
        else:
            merged = {}
            for groups in pool.map(groupby, files, chunksize=1):
                for key, (n, s) in groups.items():
                    m = merged.setdefault(key, [0, 0])
                    m[0] += n
                    m[1] += s
            with open(args.out, "w") as out:
                out.write("id,count,mean(speed)\n")
                for key in sorted(merged):
                    n, s = merged[key]
                    out.write(f"{key},{n},{s / n:.6f}\n")


if __name__ == "__main__":
    main()
