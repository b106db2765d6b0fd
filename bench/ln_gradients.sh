#!/usr/bin/env bash
# Pre-LN vs Post-LN at initialisation (Xiong et al., ICML 2020, Theorem 1): the gradient norm of
# the last block's FFN output weights of a ViT (width 64, 4 heads, patch 4) on one Fashion-MNIST
# batch of 128, at depths 6, 12 and 24 over SEEDS, with SwiftNAS (`swiftnas ln-gradients`, which
# also writes the per-block curves as runs/ln_gradients/gradients.svg) and with PyTorch
# (bench/ln_gradients_torch.py, the same protocol on nn.TransformerEncoderLayer).
# Nothing here was tuned. Last lines: post_over_pre=<6>,<12>,<24> and torch_post_over_pre=…
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-0,1,2,3,4}
PYTHON=${PYTHON:-.venv/bin/python3}
"$PYTHON" -c 'import torch' 2>/dev/null || { echo "error: $PYTHON cannot import torch (.venv/bin/pip install torch==2.13.0+cpu)" >&2; exit 1; }
source bench/swiftnas_build.sh
load_before "the LN-gradient study"
"$BIN" ln-gradients --data "$DATA" --out runs/ln_gradients --seeds "$SEEDS"
echo
"$PYTHON" bench/ln_gradients_torch.py "$DATA" 6,12,24 "$SEEDS"
load_after "the LN-gradient study"
