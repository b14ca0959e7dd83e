#!/usr/bin/env bash
# fleet on a Ballista cluster against the same commands run locally, on one machine: a
# scheduler and 1 or 2 executors (1 slot each) as processes on 127.0.0.1, each workload timed
# locally (thread engine, 1 and 2 threads) and on each cluster, its output compared byte for
# byte with the local run's. Prints the times, their medians and what the agg parts sent.
#
# usage: benches/cluster.sh FLEET DIR [RUNS]
#   FLEET   a fleet binary built with --features cluster (optimised: the dev profile's
#           opt-level 1 understates fleet's kernels)
#   DIR     gps data (headerless id,time,lon,lat,speed,heading,occupied; e.g. fleet bench's
#           cached ~/.cache/fleet/bench-gps-2GiB: 8 files, so 8 tasks)
#   RUNS    timed runs per workload and setting (default 3)
# environment:
#   WLS="0 1 2 3"   workloads by number: 0 agg --group-by id (dense), 1 agg --group-by lat
#                   (400,000 groups), 2 scan --count -w 'speed>100', 3 scan -w id=11865
#   NS="1 2"        cluster sizes (executors of 1 slot each)
set -u
F=$1; D=$2; RUNS=${3:-3}
W=$(mktemp -d)
trap 'kill ${PIDS[@]:-} ${SP:-} 2>/dev/null; rm -rf "$W"' EXIT
WL=( "agg -q --group-by id --agg count --agg mean(speed)"
     "agg -q --group-by lat --agg count"
     "scan -q -w speed>100 --count"
     "scan -q -w id=11865" )
t() {
  local s rc; s=$(date +%s.%N)
  "$@" > "$W/out" 2>"$W/err"; rc=$?
  [ $rc -le 1 ] || { echo "FAIL($rc): $*" >&2; cat "$W/err" >&2; }
  echo "$(date +%s.%N) - $s" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
start_cluster() {
  "$F" cluster scheduler --bind 127.0.0.1:0 2> "$W/sched$1.log" & SP=$!
  ADDR=
  until [ -n "$ADDR" ]; do
    sleep 0.2
    ADDR=$(grep -o "listening on [0-9.:]*[0-9]" "$W/sched$1.log" | awk '{print $3}')
  done
  PIDS=()
  for e in $(seq "$1"); do
    local port=$(( 40000 + RANDOM % 20000 ))
    "$F" cluster executor --scheduler "$ADDR" --bind "127.0.0.1:$port" --slots 1 \
      2> "$W/exec$1-$e.log" & PIDS+=($!)
  done
  until grep -q "($1 alive)" "$W/sched$1.log"; do sleep 0.2; done
}
for i in ${WLS:-0 1 2 3}; do
  read -r -a A <<< "${WL[$i]}"
  echo "== ${WL[$i]}"
  for j in 1 2; do
    for _ in $(seq "$RUNS"); do t "$F" "${A[@]}" --engine threads -j $j "$D"; done > "$W/l$j"
    echo "local -j $j: $(tr '\n' ' ' < "$W/l$j") median $(median < "$W/l$j")"
  done
  cp "$W/out" "$W/local$i.out"
done
for n in ${NS:-1 2}; do
  start_cluster "$n"
  for i in ${WLS:-0 1 2 3}; do
    read -r -a A <<< "${WL[$i]}"
    for _ in $(seq "$RUNS"); do t "$F" "${A[0]}" --cluster "df://$ADDR" "${A[@]:1}" "$D"; done > "$W/c"
    same=$(cmp -s "$W/out" "$W/local$i.out" && echo identical || echo DIFFERENT)
    echo "cluster $n x 1 slot: ${WL[$i]}: $(tr '\n' ' ' < "$W/c") median $(median < "$W/c") ($same)"
  done
  for e in $(seq "$n"); do
    echo "  executor $e: $(grep -c 'ran ' "$W/exec$n-$e.log") parts run; bytes the agg parts sent: $(grep -o 'ran agg part [0-9]* of [0-9]* ([0-9]* bytes)' "$W/exec$n-$e.log" | awk -F'[( ]' '{s+=$(NF-1)} END {print s+0}')"
  done
  kill "${PIDS[@]}" "$SP"; wait 2>/dev/null; PIDS=(); SP=
done
