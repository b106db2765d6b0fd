#!/usr/bin/env bash
# Pre-LN vs Post-LN trained with Adam, with and without one epoch of warm-up (Xiong et al., ICML
# 2020): learning rates 5e-4, 1e-3, 2e-3 × {Post-LN, Pre-LN} × {no warm-up, warm-up} × seeds
# 0, 1, 2 at depths 6 and 12, through `swiftnas ln-training`. CPU scale (chosen for cost only,
# before any run was seen): ViT width 32, 4 heads, 7×7 patches (16 tokens), MLP ratio 4; the
# first 5,000 Fashion-MNIST training images, 3 epochs, batch 64, constant rate after warm-up;
# scored on the first 2,000 test images. Writes runs/ln_training/depth<L>/{runs.csv,losses.csv,losses_lr*.svg}.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/swiftnas_build.sh
for depth in ${DEPTHS:-6 12}; do
  load_before "the depth-$depth sweep"
  "$BIN" ln-training --data "$DATA" --out "runs/ln_training/depth$depth" --depth "$depth" --dim 32 --heads 4 --patch 7 \
      --train-images 5000 --test-images 2000 --epochs 3 --seeds "${SEEDS:-0,1,2}" | grep -v '^run '
  load_after "the depth-$depth sweep"
done
