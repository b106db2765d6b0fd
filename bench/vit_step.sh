#!/usr/bin/env bash
# One training step of a ViT (the baseline of bench/glit.sh: 28×28×1 images, 7×7 patches, width
# 64, depth 4, 4 heads, MLP ratio 4, Pre-LN; batch 128; cross-entropy; Adam): SwiftNAS against
# PyTorch 2.13 CPU (eager, and torch.compile where it works), both on 2 threads, medians over 30
# steps after 5 warm-up steps, in one run.
# Last line: vit_step_ratio=<swiftnas_ms / torch_ms> (torch_ms: the faster of PyTorch's options).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
PYTHON=${PYTHON:-.venv/bin/python3}   # a Python with torch 2.13 (scripts/install-deps.sh makes .venv)
[ -x "$PYTHON" ] || PYTHON=python3
source bench/swiftnas_build.sh
load_before "SwiftNAS"
ours=$("$BIN" bench-step --model vit --param patch=7 --param dim=64 --param depth=4 --param heads=4 --param mlp_ratio=4 \
       --batch-size 128 --threads "$THREADS" --steps 30 --warmup 5)
load_after "SwiftNAS"
load_before "PyTorch"
theirs=$("$PYTHON" bench/vit_step_torch.py --threads "$THREADS" --batch-size 128 --steps 30 --warmup 5)
load_after "PyTorch"
echo "swiftnas: $ours"
echo "pytorch:  $theirs"
s=$(sed -E 's/.*swiftnas_step_ms=([0-9.]+).*/\1/' <<<"$ours")
t=$(sed -E 's/.*torch_step_ms=([0-9.]+).*/\1/' <<<"$theirs")
"$PYTHON" -c "print(f'vit_step_ratio={$s / $t:.3f}')"
