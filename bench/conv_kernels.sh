#!/usr/bin/env bash
# The convolution kernels alone, on one thread: direct against Winograd F(4×4, 3×3) (forward) and
# F(3×3, 4×4) (weight gradient) at NAS-Bench-201's three stage shapes (16 channels on 32×32, 32 on
# 16×16, 64 on 8×8) and the main job's (28×28, 14×14, 7×7), best of 7 runs of 16 images each;
# then oneDNN's convolutions on the NB201 shapes (bench/onednn_conv.c) where libdnnl-dev is
# installed. Prints the load average around the run.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/load.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
clang -O3 -I Sources/CKernels/include bench/conv_kernels.c Sources/CKernels/kernels.c -o "$out/conv_kernels" -lm
load_before "conv kernels"
"$out/conv_kernels"
if [ -f /usr/include/oneapi/dnnl/dnnl.h ]; then
    clang -O2 bench/onednn_conv.c -o "$out/onednn_conv" -ldnnl
    OMP_NUM_THREADS=1 "$out/onednn_conv"
else
    echo "oneDNN: skipped (apt-get install libdnnl-dev to compare)"
fi
load_after "conv kernels"
