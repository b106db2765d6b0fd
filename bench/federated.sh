#!/usr/bin/env bash
# ViT vs CNN under federated label skew (Qu et al., CVPR 2022): `swiftnas federated` with the
# built-in CNN (421,738 parameters) and a ViT of width 64, depth 6, 4 heads, 7×7 patches
# (305,034 parameters), 10 clients, Dirichlet α ∈ {0.1, 0.5, 100}, 10 rounds, half the clients
# per round, one local epoch of Adam 1e-3 (batch 32); the first 5,000 Fashion-MNIST training
# images and the first 2,000 test images; seeds 0, 1, 2; FedAvg, then cyclic training. Settings
# fixed by run time before any run; nothing tuned. Writes runs/federated/<algorithm>/.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/swiftnas_build.sh
for algorithm in ${ALGORITHMS:-fedavg cyclic}; do
  load_before "federated $algorithm"
  "$BIN" federated --data "$DATA" --out "runs/federated/$algorithm" --algorithm "$algorithm" --models cnn,vit \
      --vit-param patch=7 --alphas 0.1,0.5,100 --seeds "${SEEDS:-0,1,2}" --rounds 10
  load_after "federated $algorithm"
done
