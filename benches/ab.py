#!/usr/bin/env python3
"""A/B timing of two fleet builds on the same data: each workload of `fleet bench` is run with
binary A and binary B alternately (A B A B ...), so both meet the same machine state, and the
medians and their ratio are printed. For checking that a change makes nothing slower:

    python3 benches/ab.py --a /tmp/fleet-before --b target/release/fleet --data DIR --runs 7

The data is read once before timing (warm page cache); outputs of A and B must be equal.
"""
import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOADS = {
    "scan-id": ["scan", "--where", "id=11865", "-o", "{out}"],
    "count-speed": ["scan", "--count", "--where", "speed>100"],
    "select-speed": ["scan", "--select", "id,time,speed", "--where", "speed>60", "-o", "{out}"],
    "agg-id": ["agg", "--group-by", "id", "--agg", "count", "--agg", "mean(speed)", "-o", "{out}"],
    "agg-hour": ["agg", "--group-by", "hour(time)", "--agg", "count", "-o", "{out}"],
}


def run(binary, args, data, engine, workers, out):
    argv = [binary] + [a.format(out=out) for a in args]
    argv += [data, "-q", "--engine", engine, "--workers", str(workers)]
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    digest = hashlib.blake2b(done.stdout)
    if os.path.exists(out):
        with open(out, "rb") as f:
            digest.update(f.read())
        os.remove(out)
    return took, digest.hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--engines", default="processes,threads")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    o = p.parse_args()
    files = [os.path.join(d, f) for d, _, fs in os.walk(o.data) for f in fs]
    for f in files:  # warm the page cache
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    size = sum(os.path.getsize(f) for f in files)
    print(f"data: {o.data}, {size / 1e9:.2f} GB, {o.workers} workers, {o.runs} runs each, A/B interleaved, warm")
    print("| workload | engine | A median s | B median s | B/A |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        for name in o.workloads.split(","):
            for engine in o.engines.split(","):
                times = {"a": [], "b": []}
                digests = set()
                for _ in range(o.runs):
                    for side in ("a", "b"):
                        t, d = run(getattr(o, side), WORKLOADS[name], o.data, engine, o.workers, out)
                        times[side].append(t)
                        digests.add(d)
                if len(digests) != 1:
                    sys.exit(f"{name} {engine}: A and B (or runs) gave different results")
                a, b = statistics.median(times["a"]), statistics.median(times["b"])
                print(f"| {name} | {engine} | {a:.3f} | {b:.3f} | {b / a:.2f} |", flush=True)


if __name__ == "__main__":
    main()
