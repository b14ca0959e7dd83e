#!/usr/bin/env bash
# fleet against the tools users would otherwise pick, side by side in one run on the same
# page-cached data: ripgrep, GNU grep, mawk, DuckDB, Polars, xsv and the classic Python
# multiprocessing script (benches/peers/classic.py). Checks that every tool gives the same
# answer, then prints a markdown table of median times, GB/s and each tool's time over fleet's.
#
# usage: benches/peers.sh [DIR]
#   DIR        gps data (headerless id,time,lon,lat,speed,heading,occupied *.csv files);
#              default: fleet bench's cached folder for SIZE, generated if missing.
# environment:
#   RUNS=5               timed runs per tool and workload
#   WORKERS=2            fleet's workers, ripgrep's -j, DuckDB's and Polars' threads, Pool size
#   SIZE=2GiB            generated data size when DIR is not given
#   DIALECT=plain        plain, crlf, quoted or mixed (quoted + CRLF): the generated data is
#                        written so (fleet bench --dialect; same records, more bytes), and the
#                        line tools (ripgrep grep mawk xsv classic), which split on every comma,
#                        are left out unless it is plain; DuckDB and Polars read with quotes on
#   WORKLOADS="select count groupby bucket ids stats lat idhour"   (bucket: 15-minute windows, count and exact
#                        median speed; DuckDB time_bucket, Polars dt.truncate; ids: --where
#                        'id in @ids.txt', 1,000 ids taken from the data, no classic script;
#                        stats: fleet stats, DuckDB SUMMARIZE, Polars describe; checked on
#                        the numeric columns' count, min, max, mean; lat: --group-by lat --agg
#                        count, hundreds of thousands of text keys; idhour: --group-by
#                        'id,hour(time)' --agg count --agg 'mean(speed)'; both DuckDB and Polars
#                        only)
#   SVG=docs/peers.svg   where the bar chart of the table goes (time relative to fleet, log
#                        scale; drawn by benches/src/bin/peers-chart.rs); SVG= for none
#   PEERS_CHART=PATH     the peers-chart binary (built with cargo if missing)
#   FLEET=target/release/fleet   the binary to measure (built with cargo if missing)
#   FLEET_BASE=PATH      a second fleet build, timed and checked beside the first as the
#                        tool "fleet-base" (before/after a change, in one run)
#   SKIP="xsv classic"   tools to leave out (names as in the table)
#   HYPERFINE=0          time with a date +%s%N loop even if hyperfine is there
#
# Missing tools are installed through their ordinary clients: apt-get (hyperfine, ripgrep,
# mawk), pip into a venv under the cache folder (duckdb, polars), cargo install into the
# cache folder (xsv; skipped with a note if it does not build). Grep and mawk are single
# threaded by design; xsv search is too (one file at a time).
set -euo pipefail

RUNS=${RUNS:-5}
WORKERS=${WORKERS:-2}
SIZE=${SIZE:-2GiB}
DIALECT=${DIALECT:-plain}
WORKLOADS=${WORKLOADS:-select count groupby bucket ids stats lat idhour}
SKIP=${SKIP:-}
frames_opts=""
if [[ $DIALECT != plain ]]; then
    SKIP+=" ripgrep grep mawk xsv classic"
    frames_opts=" --quotes"
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
SVG=${SVG-$repo/docs/peers.svg}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/fleet
mkdir -p "$cache"

note() { echo "peers: $*" >&2; }
skipped() { [[ " $SKIP " == *" $1 "* ]]; }

apt_install() { # PACKAGE COMMAND
    command -v "$2" >/dev/null && return 0
    note "installing $1 with apt-get"
    if ! { apt-get install -y -qq "$1" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$1" >/dev/null 2>&1; }; }; then
        note "cannot install $1"
        return 1
    fi
}

# --- the fleet binary and the data -------------------------------------------------------
FLEET=${FLEET:-$repo/target/release/fleet}
if [[ ! -x $FLEET ]]; then
    note "building $FLEET"
    (cd "$repo" && cargo build --release -p fleet-cli >&2)
fi
if [[ $# -ge 1 ]]; then
    DIR=$(cd "$1" && pwd)
else
    DIR=$cache/bench-gps-$SIZE
    [[ $DIALECT != plain ]] && DIR+="-$DIALECT"
    if [[ ! -f $DIR/.bench-complete ]]; then
        # fleet bench owns the cached folder: let it generate (one quick run of one workload).
        note "generating $SIZE of $DIALECT gps data with fleet bench (once)"
        "$FLEET" bench --size "$SIZE" --dialect "$DIALECT" --runs 1 --workers 1 --engines processes \
            --workloads count-speed -q >/dev/null
    fi
fi
shopt -s nullglob
files=("$DIR"/*.csv)
shopt -u nullglob
[[ ${#files[@]} -gt 0 ]] || { note "no *.csv files in $DIR"; exit 1; }
bytes=$(cat "${files[@]}" | wc -c)

# --- the peers ---------------------------------------------------------------------------
apt_install ripgrep rg || SKIP+=" ripgrep"
apt_install mawk mawk || SKIP+=" mawk"
have_hyperfine=${HYPERFINE:-1}
[[ $have_hyperfine == 1 ]] && { apt_install hyperfine hyperfine || have_hyperfine=0; }

PY=python3
if ! skipped duckdb || ! skipped polars; then
    if ! python3 -c 'import duckdb, polars' 2>/dev/null; then
        venv=$cache/peers-venv
        if ! "$venv/bin/python" -c 'import duckdb, polars' 2>/dev/null; then
            note "installing duckdb and polars into $venv"
            python3 -m venv "$venv" && "$venv/bin/pip" install -q duckdb polars >&2 ||
                { note "cannot install duckdb/polars"; SKIP+=" duckdb polars"; }
        fi
        PY=$venv/bin/python
    fi
fi

XSV=$(command -v xsv || true)
if [[ -z $XSV ]] && ! skipped xsv; then
    XSV=$cache/peers-bin/bin/xsv
    if [[ ! -x $XSV ]]; then
        note "building xsv with cargo install (once)"
        cargo install -q xsv --root "$cache/peers-bin" >&2 ||
            { note "xsv did not build; skipping it"; SKIP+=" xsv"; }
    fi
fi

status=0
work=$(mktemp -d "$cache/peers-run.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- warm the page cache -----------------------------------------------------------------
prepare=()
if command -v vmtouch >/dev/null; then
    # Evict, then read once in order: the page cache then holds the files as after a fresh
    # sequential read (on Linux 6.x, in large folios, which mappings map with few faults),
    # whatever state earlier runs left. Every timed run then re-touches them (a no-op when
    # they are still cached), so a tool timed minutes later is not paying for evictions.
    vmtouch -eq "${files[@]}"
    vmtouch -tq "${files[@]}"
    prepare=(--prepare "vmtouch -tq $(printf '%q ' "${files[@]}")")
    note "data in the page cache (vmtouch -e, then -t; and -t before every run)"
else
    cat "${files[@]}" >/dev/null
    note "data read once into the page cache (cat > /dev/null)"
fi
note "$DIR: ${#files[@]} files, $bytes bytes; $RUNS runs per tool; $WORKERS workers/threads"

# --- the id list of the ids workload: 1,000 distinct ids, every 7th record from the start --
ids=$work/ids.txt
python3 - "${files[@]}" >"$ids" <<'PY'
import sys
seen = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            if i % 7 == 0:
                seen.setdefault(line.split(b",", 1)[0].strip(b'"').decode(), None)
            if len(seen) >= 1000 or i > 1_400_000:
                break
    if len(seen) >= 1000:
        break
print("\n".join(seen))
PY

# --- the commands: NAME<TAB>COMMAND lines, each writing its answer to $work/W.NAME.out ----
q() { printf '%q' "$1"; }
commands() { # WORKLOAD
    local w=$1 out="$work/$1" d f
    d=$(q "$DIR")
    f=""
    for x in "${files[@]}"; do f+=" $(q "$x")"; done
    fleet_commands "$w" fleet "$FLEET"
    [[ -n ${FLEET_BASE:-} ]] && fleet_commands "$w" fleet-base "$FLEET_BASE"
    local speed_gt_100='^(10[1-9]|1[1-9][0-9]|[2-9][0-9][0-9]|[1-9][0-9]{3,})$'
    case $w in
    select)
        # Exit status 1 is "no match" for rg and grep, not a failure.
        printf 'ripgrep\trg -j%s --no-filename --no-line-number -g %s %s %s > %s || [ $? -eq 1 ]\n' "$WORKERS" "'*.csv'" "'^11865,'" "$d" "$out.ripgrep.out"
        printf 'grep\tgrep -h %s%s > %s || [ $? -eq 1 ]\n' "'^11865,'" "$f" "$out.grep.out"
        printf 'mawk\tmawk -F, %s%s > %s\n' "'\$1==11865'" "$f" "$out.mawk.out"
        printf 'xsv\tfor f in%s; do %s search -n -s 1 %s "$f"; done > %s\n' "$f" "$(q "$XSV")" "'^11865$'" "$out.xsv.out"
        ;;
    count)
        printf 'mawk\tmawk -F, %s%s > %s\n' "'\$5>100{n++} END{print n+0}'" "$f" "$out.mawk.out"
        printf 'xsv\tfor f in%s; do %s search -n -s 5 %s "$f" | %s count -n; done | mawk %s > %s\n' \
            "$f" "$(q "$XSV")" "'$speed_gt_100'" "$(q "$XSV")" "'{n+=\$1} END{print n+0}'" "$out.xsv.out"
        ;;
    groupby)
        printf 'mawk\tmawk -F, %s%s > %s\n' "'{c[\$1]++; s[\$1]+=\$5} END{for(k in c) printf \"%s,%d,%.6f\\n\", k, c[k], s[k]/c[k]}'" "$f" "$out.mawk.out"
        ;;
    ids)
        printf 'mawk\tmawk -F, %s %s%s > %s\n' "'NR==FNR{s[\$1]; next} (\$1 in s){n++} END{print n+0}'" "$(q "$ids")" "$f" "$out.mawk.out"
        printf 'duckdb\t%s %s duckdb ids %s %s --threads %s --ids %s%s\n' "$PY" "$(q "$here/peers/frames.py")" "$d" "$out.duckdb.out" "$WORKERS" "$(q "$ids")" "$frames_opts"
        printf 'polars\t%s %s polars ids %s %s --threads %s --ids %s%s\n' "$PY" "$(q "$here/peers/frames.py")" "$d" "$out.polars.out" "$WORKERS" "$(q "$ids")" "$frames_opts"
        return
        ;;
    esac
    if [[ $w == stats ]]; then
        # Only the frame libraries have a one-call profile (and xsv stats is not in the set).
        printf 'duckdb\t%s %s duckdb stats %s %s --threads %s%s\n' "$PY" "$(q "$here/peers/frames.py")" "$d" "$out.duckdb.out" "$WORKERS" "$frames_opts"
        printf 'polars\t%s %s polars stats %s %s --threads %s%s\n' "$PY" "$(q "$here/peers/frames.py")" "$d" "$out.polars.out" "$WORKERS" "$frames_opts"
        return
    fi
    printf 'duckdb\t%s %s duckdb %s %s %s --threads %s%s\n' "$PY" "$(q "$here/peers/frames.py")" "$w" "$d" "$out.duckdb.out" "$WORKERS" "$frames_opts"
    printf 'polars\t%s %s polars %s %s %s --threads %s%s\n' "$PY" "$(q "$here/peers/frames.py")" "$w" "$d" "$out.polars.out" "$WORKERS" "$frames_opts"
    # The classic script has no time windows and no high-cardinality workloads.
    [[ $w == bucket || $w == lat || $w == idhour ]] && return 0
    printf 'classic\tpython3 %s %s %s %s --procs %s\n' "$(q "$here/peers/classic.py")" "$w" "$d" "$out.classic.out" "$WORKERS"
}

fleet_commands() { # WORKLOAD NAME BINARY: the fleet line of a workload, under NAME
    local w=$1 name=$2 fl out="$work/$1.$2.out" d
    fl=$(q "$3")
    d=$(q "$DIR")
    case $w in
    select) printf '%s\t%s scan %s --where id=11865 --workers %s -q -o %s\n' "$name" "$fl" "$d" "$WORKERS" "$out" ;;
    count) printf '%s\t%s scan %s --count --where %s --workers %s -q > %s\n' "$name" "$fl" "$d" "'speed>100'" "$WORKERS" "$out" ;;
    ids) printf '%s\t%s scan %s --count --where %s --workers %s -q > %s\n' "$name" "$fl" "$d" "$(q "id in @$ids")" "$WORKERS" "$out" ;;
    groupby) printf '%s\t%s agg %s --group-by id --agg count --agg %s --workers %s -q -o %s\n' "$name" "$fl" "$d" "'mean(speed)'" "$WORKERS" "$out" ;;
    bucket) printf '%s\t%s agg %s --group-by %s --agg count --agg %s --workers %s -q -o %s\n' "$name" "$fl" "$d" "'bucket(time,15m)'" "'median(speed)'" "$WORKERS" "$out" ;;
    lat) printf '%s\t%s agg %s --group-by lat --agg count --workers %s -q -o %s\n' "$name" "$fl" "$d" "$WORKERS" "$out" ;;
    idhour) printf '%s\t%s agg %s --group-by %s --agg count --agg %s --workers %s -q -o %s\n' "$name" "$fl" "$d" "'id,hour(time)'" "'mean(speed)'" "$WORKERS" "$out" ;;
    stats) printf '%s\t%s stats %s --format csv --workers %s -q -o %s\n' "$name" "$fl" "$d" "$WORKERS" "$out" ;;
    esac
}

timings=()
for w in $WORKLOADS; do
    names=()
    cmds=()
    while IFS=$'\t' read -r name cmd; do
        skipped "$name" && continue
        names+=("$name")
        cmds+=("$cmd")
    done < <(commands "$w")
    note "$w: ${names[*]}"
    if [[ $have_hyperfine == 1 ]]; then
        args=()
        for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
        if ! hyperfine --runs "$RUNS" --style basic "${prepare[@]}" --export-json "$work/$w.json" "${args[@]}" >&2; then
            note "$w: a command failed (see above); no timings for $w"
            status=1
            continue
        fi
        timings+=("$work/$w.json")
    else
        : >"$work/$w.times"
        for i in "${!names[@]}"; do
            for _ in $(seq "$RUNS"); do
                t0=$(date +%s%N)
                bash -c "${cmds[$i]}" || { note "$w: ${names[$i]} failed"; status=1; }
                t1=$(date +%s%N)
                echo "${names[$i]} $(((t1 - t0) / 1000))e-6" >>"$work/$w.times"
            done
        done
        timings+=("$work/$w.times")
    fi
    outs=()
    for name in "${names[@]}"; do [[ $name != fleet ]] && outs+=("$work/$w.$name.out"); done
    python3 "$here/peers/compare.py" check "$w" "$work/$w.fleet.out" "${outs[@]}" || status=1
done

echo
echo "Data: $DIR (${#files[@]} files, $bytes bytes, $DIALECT), page-cached; $WORKERS workers/threads; median of $RUNS runs."
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB RAM."
echo
python3 "$here/peers/compare.py" table "$bytes" "${timings[@]}"
if [[ -n $SVG && ${#timings[@]} -gt 0 ]]; then
    chart=${PEERS_CHART:-$repo/target/release/peers-chart}
    [[ -x $chart ]] || (cd "$repo" && cargo build -q --release -p fleet-benches --bin peers-chart >&2)
    python3 "$here/peers/compare.py" ratios "${timings[@]}" >"$work/ratios.tsv"
    "$chart" "$work/ratios.tsv" "$SVG" && note "chart written to $SVG"
fi
if [[ $status != 0 ]]; then
    note "SOME TOOLS GAVE A DIFFERENT ANSWER (see above): their times are not comparable"
fi
exit $status
