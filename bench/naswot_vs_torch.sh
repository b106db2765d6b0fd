#!/usr/bin/env bash
# NASWOT as a user runs it, against the same job in PyTorch. Ours: the user's command
#   swiftnas search --space nb201 --strategy naswot --samples 100 --data <Fashion-MNIST> --store <new store>
# timed from process start to its summary (data load, table, 100 cells built and scored on a
# batch of 128 images, every trial written to SQLite, the best chosen; no training). The peer:
# bench/naswot_torch.py with PyTorch on 2 threads, timed from process start too (import torch
# included): the same data load, the same 100 cells (read from our store) built and scored with
# the ICML NASWOT score in float32, the best chosen. Each side runs REPEATS times (default 3),
# alternating; the figures are medians. Last line:
#   naswot_seconds=<s> torch_seconds=<t> naswot_ratio=<s/t>
# Environment: DATA (Fashion-MNIST IDX folder), PYTHON (with torch; default .venv/bin/python3),
# SEED (default 0), REPEATS, SCRATCH (build folder).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/fashion-mnist}
[ -d "$DATA" ] || DATA=/usr/share/datasets/fashion-mnist
PYTHON=${PYTHON:-.venv/bin/python3}
[ -x "$PYTHON" ] || PYTHON=python3
SEED=${SEED:-0}
REPEATS=${REPEATS:-3}
SCRATCH=${SCRATCH:-.build}
source bench/load.sh
swift build -c release --scratch-path "$SCRATCH" --product swiftnas >/dev/null
BIN="$SCRATCH/release/swiftnas"
"$PYTHON" -c 'import torch' 2>/dev/null || { echo "error: $PYTHON cannot import torch (pip install torch==2.13.0+cpu)" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
ours=() theirs=()
for r in $(seq 1 "$REPEATS"); do
    rm -f "$work"/store.sqlite*
    load_before "swiftnas run $r"
    t0=$(now)
    "$BIN" search --space nb201 --strategy naswot --samples 100 --seed "$SEED" --data "$DATA" \
        --store "$work/store.sqlite" --quiet > "$work/ours.txt"
    t1=$(now)
    load_after "swiftnas run $r"
    ours+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')")
    grep -E '^(trials|chosen):' "$work/ours.txt" | sed 's/^/  swiftnas /'
    # The cells our run scored, in ask order, for the peer.
    "$BIN" trials --store "$work/store.sqlite" --format csv | awk -F, 'NR > 1 && $4 == "search" { print $2 }' > "$work/cells.txt"
    [ "$(wc -l < "$work/cells.txt")" -eq 100 ] || { echo "error: the store holds $(wc -l < "$work/cells.txt") cells, not 100" >&2; exit 1; }
    load_before "torch run $r"
    t0=$(now)
    "$PYTHON" bench/naswot_torch.py --data "$DATA" --archs "$work/cells.txt" --threads 2 --seed "$SEED" | sed 's/^/  /'
    t1=$(now)
    load_after "torch run $r"
    theirs+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')")
    echo "run $r: swiftnas ${ours[-1]} s, torch ${theirs[-1]} s"
done
median() { printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
s=$(median "${ours[@]}"); t=$(median "${theirs[@]}")
awk -v s="$s" -v t="$t" 'BEGIN { printf "naswot_seconds=%.2f torch_seconds=%.2f naswot_ratio=%.3f\n", s, t, s / t }'
