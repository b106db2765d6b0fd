#!/usr/bin/env bash
# One training step (forward, cross-entropy, backward, SGD with momentum) of the NAS-Bench-201
# network of cell 6111 (C=16, N=5, batch 64×3×32×32): SwiftNAS against PyTorch 2.13 CPU on the same
# number of threads — eager NCHW and channels-last, torch.compile (inductor) of both — in one run.
# Each side is timed REPEATS times (medians of STEPS steps after WARMUP) and its fastest median kept;
# the load average is printed around each.
# Last line: nb201_step_ratio_eager=<ours ÷ faster eager> nb201_step_ratio_compiled=<ours ÷ faster compiled>
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-5}
REPEATS=${REPEATS:-2}
ARCH=${ARCH:-'|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'}
PYTHON=${PYTHON:-.venv/bin/python3}   # a Python with torch 2.13 (scripts/install-deps.sh makes .venv)
[ -x "$PYTHON" ] || PYTHON=python3
source bench/swiftnas_build.sh
best=""
load_before "SwiftNAS"
for _ in $(seq "$REPEATS"); do
    line=$("$BIN" bench-step --model nb201 --arch "$ARCH" --channels 16 --cells 5 --batch-size 64 \
        --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP")
    echo "swiftnas: $line"
    ms=$(sed -E 's/.*swiftnas_step_ms=([0-9.]+).*/\1/' <<<"$line")
    best=$("$PYTHON" -c "print(min(float(v) for v in '$best $ms'.split()))")
done
load_after "SwiftNAS"
load_before "PyTorch"
theirs=$("$PYTHON" bench/nb201_step_torch.py --arch "$ARCH" --channels 16 --cells 5 --batch-size 64 \
    --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP" --repeats "$REPEATS" | tail -1)
load_after "PyTorch"
echo "pytorch:  $theirs"
echo "swiftnas_best_ms=$best"
"$PYTHON" - "$best" "$theirs" <<'PY'
import re, sys
ours = float(sys.argv[1])
t = dict(re.findall(r"(\w+)=([0-9.]+)", sys.argv[2]))
eager = min(float(t["torch_eager_nchw_ms"]), float(t["torch_eager_channels_last_ms"]))
print(f"nb201_step_ratio_eager={ours / eager:.3f} nb201_step_ratio_compiled={ours / float(t['torch_compiled_ms']):.3f}")
PY
