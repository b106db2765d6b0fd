#!/usr/bin/env bash
# Export, checked by the runtimes users load it in: an NB201 network (cell 6111's neighbour with
# every operation kind, C=8, N=1) and the `cnn` model, each trained one epoch on Fashion-MNIST
# (3,000 training images), exported by `swiftnas export`, then run by onnxruntime and PyTorch on
# 64 test images (scripts/check_export.py); and `swiftnas report` timed on a store of 10^5 trials
# (a regularized-evolution search of 100,000 queries on the NAS-Bench-201 table).
# Needs torch, onnxruntime and safetensors in .venv (scripts/install-deps.sh).
# Last line: onnx_max_abs_diff=<a> torch_max_abs_diff=<b> report_seconds_1e5=<c>
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/swiftnas_build.sh
PYTHON=${PYTHON:-.venv/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CELL='|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|'
onnx=0; torch=0
for name in nb201 cnn; do
    if [ "$name" = nb201 ]; then model=(--space nb201 --arch "$CELL" --channels 8 --cells 1); else model=(--model cnn); fi
    "$BIN" train --data "$DATA" --epochs 1 --train-limit 3000 --out "$work/$name-run" "${model[@]}" | tail -1
    "$BIN" export --run "$work/$name-run" --out "$work/$name-export"
    line=$("$PYTHON" scripts/check_export.py "$work/$name-export" || true)
    echo "$name: $line"
    onnx=$(python3 -c "import sys; print(max($onnx, float('${line#onnx_max_abs_diff=}'.split()[0])))")
    torch=$(python3 -c "import sys; print(max($torch, float('${line##*torch_max_abs_diff=}')))")
done
"$BIN" search --strategy rea --budget 100000 --seed 0 --store "$work/big.sqlite" --quiet > /dev/null
load_before "report of 10^5 trials"
start=$(date +%s.%N)
"$BIN" report --store "$work/big.sqlite" --out "$work/report"
end=$(date +%s.%N)
load_after "report of 10^5 trials"
seconds=$(python3 -c "print(f'{$end - $start:.2f}')")
echo "onnx_max_abs_diff=$onnx torch_max_abs_diff=$torch report_seconds_1e5=$seconds"
