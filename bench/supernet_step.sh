#!/usr/bin/env bash
# Cost of one NAS-Bench-201 supernet training step (forward, backward, clipping, SGD-momentum)
# in SwiftNAS against PyTorch on the same supernet, both on 2 threads, at the CPU-scale setting
# of docs/weight_sharing.md (C=8, N=1, 16×16×1, batch 64). Prints both medians and the ratios
# (SwiftNAS / PyTorch; below 1 means SwiftNAS is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${SCRATCH:-.build}
PYTHON=${PYTHON:-.venv/bin/python3}   # a Python with torch 2.13
[ -x "$PYTHON" ] || PYTHON=python3
ARGS=${ARGS:---channels 8 --cells 1 --size 16 --batch 64 --steps 30 --warmup 5}
swift build -c release --scratch-path "$SCRATCH" --product swiftnas >/dev/null
source bench/load.sh
load_before "SwiftNAS"
swift_line=$("$SCRATCH"/release/swiftnas bench-supernet-step $ARGS --threads 2)
load_after "SwiftNAS"
load_before "PyTorch"
torch_line=$("$PYTHON" bench/supernet_step_torch.py $ARGS --threads 2)
load_after "PyTorch"
echo "$swift_line"
echo "$torch_line"
field() { grep -o " $1=[0-9.]*" <<<"$2" | head -1 | cut -d= -f2; }
sw=$(field weighted_ms "$swift_line"); sp=$(field path_ms "$swift_line")
tw=$(field weighted_ms "$torch_line"); tp=$(field path_ms "$torch_line")
awk -v sw="$sw" -v sp="$sp" -v tw="$tw" -v tp="$tp" 'BEGIN { printf "step_ratio_weighted=%.2f step_ratio_path=%.2f\n", sw / tw, sp / tp }'
