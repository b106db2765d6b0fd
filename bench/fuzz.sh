#!/usr/bin/env bash
# Fuzzes every parser of user input with mutated valid inputs (`swiftnas fuzz`): NAS-Bench-201
# cell strings, the table loader, IDX and CSV readers with the training-data checks, YAML search
# configs, safetensors checkpoints (read and restored) and stored strategy state (restored, asked
# and told). Chunks of cases run in child processes under a memory limit; a child that dies of a
# signal is a crash, one that outlives its time limit a hang, and the run goes on after the case.
#
#   bash bench/fuzz.sh                      # CASES=100000 SEED=0 CHUNK=5000
#   CASES=2000 SEED=7 bash bench/fuzz.sh    # quicker, other inputs
#
# Last line: fuzz_cases=<n> crashes=<c> hangs=<h>
set -uo pipefail
cd "$(dirname "$0")/.."
CASES=${CASES:-100000}
SEED=${SEED:-0}
CHUNK=${CHUNK:-5000}
SECONDS_PER_CASE=${SECONDS_PER_CASE:-5}
swift build -c release --product swiftnas >/dev/null 2>&1 || { swift build -c release --product swiftnas; exit 1; }
BIN=.build/release/swiftnas
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/load.sh
load_before "fuzzing"
start=0 crashes=0 hangs=0 done_cases=0
t0=$(date +%s)
while [ "$start" -lt "$CASES" ]; do
    n=$(( CASES - start < CHUNK ? CASES - start : CHUNK ))
    # 4 GiB of address space: a reader that tries to allocate without bound fails instead of swapping.
    ( ulimit -v 4194304; timeout -s KILL $(( n * SECONDS_PER_CASE / 50 + 60 )) \
        "$BIN" fuzz --seed "$SEED" --start "$start" --count "$n" --progress "$work/progress" ) >"$work/out" 2>"$work/err"
    rc=$?
    if [ $rc -eq 0 ]; then
        start=$(( start + n )); done_cases=$(( done_cases + n ))
        continue
    fi
    failed=$(tr -d ' ' < "$work/progress" 2>/dev/null)
    failed=${failed:-$start}
    if [ $rc -eq 137 ]; then
        hangs=$(( hangs + 1 )); kind=hang
    else
        crashes=$(( crashes + 1 )); kind=crash
    fi
    why=$(grep -m1 -E "Fatal error|runtime failure" "$work/err"; grep -m1 -E "at .*/Sources/" "$work/err")
    echo "$kind at case $failed (seed $SEED, exit $rc): $(echo "$why" | tr -s ' ' | tr '\n' ' ' | cut -c1-400)"
    done_cases=$(( done_cases + failed - start + 1 ))
    start=$(( failed + 1 ))
done
echo "seconds: $(( $(date +%s) - t0 ))"
load_after "fuzzing"
echo "fuzz_cases=$done_cases crashes=$crashes hangs=$hangs"
