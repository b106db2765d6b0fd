#!/usr/bin/env bash
# Kills searches and a training run with SIGKILL at random moments, reruns each until it
# finishes, and compares the result with an uninterrupted run of the same command:
#   - table searches: REA (300 queries) and BANANAS (100 queries) on NAS-Bench-201, SQLite store;
#     every trial's number, architecture, fidelity, role, status and objective must match, and
#     no trial of the uninterrupted run may be missing;
#   - training: an MLP on 3,000 Fashion-MNIST images, 4 epochs, with --resume; the per-epoch log
#     (losses and accuracies) must match and have one line per epoch;
#   - weight sharing: DARTS on an NB201 supernet at a small setting; the derived cell and its
#     table accuracy must match.
#
#   bash bench/kill_resume.sh                  # SEED=0; REA_RUNS, BANANAS_RUNS, TRAIN_RUNS, WS_RUNS
#   SEED=5 FMNIST=/path/to/fashion-mnist bash bench/kill_resume.sh
#
# Last line: kills=<k> runs=<r> lost_trials=<l> mismatches=<m>
set -uo pipefail
cd "$(dirname "$0")/.."
SEED=${SEED:-0}
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
RANDOM=$SEED
swift build -c release --product swiftnas >/dev/null 2>&1 || { swift build -c release --product swiftnas; exit 1; }
BIN=$PWD/.build/release/swiftnas
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/load.sh
load_before "the kill-and-resume runs"
kills=0 runs=0 lost=0 mismatches=0

# Runs "$@" (with STORE/OUT placeholders already filled) until it exits 0, killing it with
# SIGKILL after a random delay in [0, max_ms) milliseconds each time it is still running.
run_until_done() {
    local max_ms=$1; shift
    local tries=0
    while :; do
        runs=$((runs + 1))
        "$@" >/dev/null 2>"$work/err" &
        local pid=$!
        local delay=$(( (RANDOM * 32768 + RANDOM) % max_ms ))
        sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            kills=$((kills + 1))
        else
            wait "$pid"; local rc=$?
            if [ $rc -eq 0 ]; then return 0; fi
            echo "  run exited $rc: $(tail -c 300 "$work/err")"; return 1
        fi
        tries=$((tries + 1))
        [ $tries -gt 400 ] && { echo "  gave up after 400 kills"; return 1; }
    done
}

# Milliseconds an uninterrupted command takes.
time_ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }

table_search() {  # name strategy budget repeats
    local name=$1 strategy=$2 budget=$3 repeats=$4
    local ref="$work/$name-ref.sqlite"
    local ms; ms=$(time_ms "$BIN" search --strategy "$strategy" --budget "$budget" --seed "$SEED" --store "$ref" --quiet)
    "$BIN" trials --store "$ref" --format csv | cut -d, -f1-6 > "$work/$name-ref.csv"
    for r in $(seq 1 "$repeats"); do
        local store="$work/$name-$r.sqlite"
        local before=$kills
        run_until_done $((ms + 50)) "$BIN" search --strategy "$strategy" --budget "$budget" --seed "$SEED" --store "$store" --quiet || mismatches=$((mismatches + 1))
        "$BIN" trials --store "$store" --format csv | cut -d, -f1-6 > "$work/$name-$r.csv"
        local missing; missing=$(comm -23 <(sort "$work/$name-ref.csv") <(sort "$work/$name-$r.csv") | wc -l)
        lost=$((lost + missing))
        cmp -s "$work/$name-ref.csv" "$work/$name-$r.csv" || { mismatches=$((mismatches + 1)); echo "  $name run $r differs"; }
        echo "  $name run $r: $((kills - before)) kills"
    done
    echo "$name: uninterrupted ${ms} ms"
}

# A training log without its timing fields, which differ between runs.
log_without_timings() {
    python3 -c 'import json,sys; [print(json.dumps({k: v for k, v in json.loads(l).items() if k not in ("seconds", "images_per_second")}, sort_keys=True)) for l in open(sys.argv[1])]' "$1"
}

training() {  # repeats
    local repeats=$1
    local args=(train --data "$FMNIST" --model mlp --epochs 4 --train-limit 3000 --seed "$SEED" --batch-size 64)
    local ms; ms=$(time_ms "$BIN" "${args[@]}" --out "$work/train-ref")
    log_without_timings "$work/train-ref/log.jsonl" > "$work/train-ref.txt"
    for r in $(seq 1 "$repeats"); do
        local out="$work/train-$r" before=$kills
        run_until_done $((ms + 50)) "$BIN" "${args[@]}" --out "$out" --resume || mismatches=$((mismatches + 1))
        log_without_timings "$out/log.jsonl" > "$work/train-$r.txt"
        cmp -s "$work/train-ref.txt" "$work/train-$r.txt" || { mismatches=$((mismatches + 1)); echo "  training run $r differs"; }
        echo "  training run $r: $((kills - before)) kills"
    done
    echo "training: uninterrupted ${ms} ms"
}

weight_sharing() {  # repeats
    local repeats=$1
    local args=(search --strategy darts --data "$FMNIST" --seed "$SEED" --param epochs=4 --param train_images=512 --quiet)
    local ms; ms=$(time_ms "$BIN" "${args[@]}" --store "$work/ws-ref.sqlite")
    "$BIN" trials --store "$work/ws-ref.sqlite" --format csv | cut -d, -f2-6 > "$work/ws-ref.csv"
    for r in $(seq 1 "$repeats"); do
        local store="$work/ws-$r.sqlite" before=$kills
        run_until_done $((ms + 50)) "$BIN" "${args[@]}" --store "$store" || mismatches=$((mismatches + 1))
        "$BIN" trials --store "$store" --format csv | cut -d, -f2-6 > "$work/ws-$r.csv"
        cmp -s "$work/ws-ref.csv" "$work/ws-$r.csv" || { mismatches=$((mismatches + 1)); echo "  weight-sharing run $r differs"; }
        echo "  weight-sharing run $r: $((kills - before)) kills"
    done
    echo "weight sharing: uninterrupted ${ms} ms"
}

table_search rea rea 300 ${REA_RUNS:-15}
table_search bananas bananas 100 ${BANANAS_RUNS:-15}
training ${TRAIN_RUNS:-6}
weight_sharing ${WS_RUNS:-6}
load_after "the kill-and-resume runs"
echo "kills=$kills runs=$runs lost_trials=$lost mismatches=$mismatches"
