#!/usr/bin/env bash
# One training step (forward, cross-entropy, backward, SGD with momentum) of the NAS-Bench-201
# network of cell 6111 (C=16, N=5, batch 64×3×32×32): SwiftNAS against PyTorch 2.13 CPU on the same
# number of threads — eager NCHW and channels-last, torch.compile (inductor) of both — in one run.
# The sides take turns for REPEATS rounds (medians of STEPS steps after WARMUP); each keeps its
# fastest median; the load average is printed around each run.
# Last line: nb201_step_ratio_eager=<ours ÷ faster eager> nb201_step_ratio_compiled=<ours ÷ faster compiled>
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-5}
REPEATS=${REPEATS:-3}
ARCH=${ARCH:-'|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'}
PYTHON=${PYTHON:-.venv/bin/python3}   # a Python with torch 2.13 (scripts/install-deps.sh makes .venv)
[ -x "$PYTHON" ] || PYTHON=python3
source bench/swiftnas_build.sh
# The two sides take turns, REPEATS rounds, so a slow spell on the shared machine hits both;
# each keeps its fastest median.
best="" theirs=""
for round in $(seq "$REPEATS"); do
    load_before "SwiftNAS, round $round"
    line=$("$BIN" bench-step --model nb201 --arch "$ARCH" --channels 16 --cells 5 --batch-size 64 \
        --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP")
    load_after "SwiftNAS, round $round"
    echo "swiftnas: $line"
    best="$best $(sed -E 's/.*swiftnas_step_ms=([0-9.]+).*/\1/' <<<"$line")"
    load_before "PyTorch, round $round"
    line=$("$PYTHON" bench/nb201_step_torch.py --arch "$ARCH" --channels 16 --cells 5 --batch-size 64 \
        --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP" --repeats 1 | tail -1)
    load_after "PyTorch, round $round"
    echo "pytorch:  $line"
    theirs="$theirs
$line"
done
"$PYTHON" - "$best" "$theirs" <<'PY'
import re, sys
ours = min(float(v) for v in sys.argv[1].split())
rounds = [dict(re.findall(r"(\w+)=([0-9.]+)", line)) for line in sys.argv[2].strip().splitlines()]
def fastest(key):
    return min(float(r[key]) for r in rounds)
eager = min(fastest("torch_eager_nchw_ms"), fastest("torch_eager_channels_last_ms"))
compiled = fastest("torch_compiled_ms")
print(f"swiftnas_ms={ours:.1f} torch_eager_ms={eager:.1f} torch_compiled_ms={compiled:.1f}")
print(f"nb201_step_ratio_eager={ours / eager:.3f} nb201_step_ratio_compiled={ours / compiled:.3f}")
PY
