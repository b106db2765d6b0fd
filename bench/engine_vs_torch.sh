#!/usr/bin/env bash
# One training step of the reference CNN (batch 64×3×32×32, three conv3×3-16+BN+ReLU, global
# average pool, linear-10, cross-entropy, SGD momentum): SwiftNAS against PyTorch 2.13 CPU, both
# on 2 threads, medians over 30 steps after 5 warm-up steps, in one run.
# Last line: step_ratio=<swiftnas_ms / torch_ms> (torch_ms: the faster of eager NCHW and channels-last)
# step_ratio_compiled=<swiftnas_ms / torch.compile's ms, the faster layout> (peak RSS is the eager runs').
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
PYTHON=${PYTHON:-.venv/bin/python3}   # a Python with torch 2.13 (scripts/install-deps.sh makes .venv)
[ -x "$PYTHON" ] || PYTHON=python3
source bench/swiftnas_build.sh
load_before "SwiftNAS"
ours=$("$BIN" bench-step --threads "$THREADS" --steps 30 --warmup 5)
load_after "SwiftNAS"
load_before "PyTorch"
theirs=$("$PYTHON" bench/torch_step.py --threads "$THREADS" --steps 30 --warmup 5)
load_after "PyTorch"
echo "swiftnas: $ours"
echo "pytorch:  $theirs"
s=$(sed -E 's/.*swiftnas_step_ms=([0-9.]+).*/\1/' <<<"$ours")
t=$(sed -E 's/.*torch_step_ms=([0-9.]+).*/\1/' <<<"$theirs")
c=$(sed -E 's/.*torch_compiled_ms=([0-9.]+).*/\1/' <<<"$theirs")
"$PYTHON" -c "print(f'step_ratio={$s / $t:.3f} step_ratio_compiled={$s / $c:.3f}')"
