#!/usr/bin/env bash
# The transformer papers in one run, at the CPU scales of docs/transformers.md (each fixed by
# run time before any result was seen; nothing tuned):
#  - Xiong et al. 2020, Theorem 1: ‖∇ last block's FFN output weights‖ Post-LN ÷ Pre-LN at
#    initialisation, ViT width 64, 4 heads, patch 4, one batch of 128, depths 6 and 24, seeds 0–4;
#  - Xiong et al. 2020, training: depth 12, lr 1e-3, Adam, Post-LN / Pre-LN × no warm-up / one
#    warm-up epoch, ViT width 32, 4 heads, patch 7, 5,000 training images, 3 epochs, seeds 0–2;
#  - GLiT (Chen et al. 2021): bench/glit.sh (search bounded to the plain ViT's size ± 5 %, both
#    retrained with one recipe, seeds 0–2);
#  - Qu et al. 2022: FedAvg, 10 clients, 10 rounds, CNN vs ViT (width 64, depth 6, patch 7),
#    Dirichlet α = 100 (≈ IID) and 0.1, seeds 0–2, 5,000 training / 2,000 test images.
# Accuracies are final test accuracies (%), means over the seeds. Writes runs/transformers/.
# Last line: grad_ratio_d6=… grad_ratio_d24=… postln_nowarmup_acc=… preln_nowarmup_acc=…
#            postln_warmup_acc=… glit_acc=… vit_acc=… fl_gap_cnn=… fl_gap_vit=…
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/swiftnas_build.sh
OUT=runs/transformers
mkdir -p "$OUT"

load_before "LN gradients"
grads=$("$BIN" ln-gradients --data "$DATA" --out "$OUT/ln_gradients" --depths 6,24 --seeds 0,1,2,3,4 | grep '^post_over_pre=')
load_after "LN gradients"
echo "$grads"

load_before "LN training"
"$BIN" ln-training --data "$DATA" --out "$OUT/ln_training" --depth 12 --dim 32 --heads 4 --patch 7 --lrs 1e-3 \
    --train-images 5000 --test-images 2000 --epochs 3 --seeds 0,1,2 | grep -v '^run '
load_after "LN training"

OUT="$OUT/glit" bash bench/glit.sh | tee "$OUT/glit.txt"

load_before "federated"
"$BIN" federated --data "$DATA" --out "$OUT/federated" --algorithm fedavg --models cnn,vit --vit-param patch=7 \
    --alphas 0.1,100 --seeds 0,1,2 --rounds 10 | tail -4
load_after "federated"

python3 - "$OUT" "$grads" <<'PY'
import csv, statistics, sys
out, grads = sys.argv[1], sys.argv[2]
g6, g24 = grads.split("=")[1].split(",")
runs = list(csv.DictReader(open(f"{out}/ln_training/runs.csv")))
def ln(norm, warm):
    return statistics.mean(float(r["test_accuracy"]) for r in runs if r["norm"] == norm and (r["warmup_epochs"] != "0") == warm)
glit = dict(kv.split("=") for kv in open(f"{out}/glit.txt").read().split("\n")[-2].split())
rows = list(csv.DictReader(open(f"{out}/federated/rounds.csv")))
last = max(int(r["round"]) for r in rows)
def fl(model, alpha):
    return statistics.mean(float(r["test_accuracy"]) for r in rows
                           if r["model"] == model and float(r["alpha"]) == alpha and int(r["round"]) == last)
print(f"grad_ratio_d6={g6} grad_ratio_d24={g24} postln_nowarmup_acc={ln('post', False):.2f} "
      f"preln_nowarmup_acc={ln('pre', False):.2f} postln_warmup_acc={ln('post', True):.2f} "
      f"glit_acc={glit['glit_acc']} vit_acc={glit['vit_acc']} "
      f"fl_gap_cnn={fl('cnn', 100) - fl('cnn', 0.1):.2f} fl_gap_vit={fl('vit', 100) - fl('vit', 0.1):.2f}")
PY
