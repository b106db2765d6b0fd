#!/usr/bin/env bash
# The dense-prediction and multimodal benches in one run (each script's header has its settings):
# bench/dense_seg.sh (policy-gradient segmentation search vs its baseline, ISBI 2012),
# bench/avmnist.sh (random-search multimodal NAS, best fused vs best unimodal), and
# bench/prune_transfer.sh (pruning for transfer vs magnitude pruning and a random structure).
# Auto-DeepLab is not built yet: its two numbers are printed as NA.
# Last line: rl_dice=… dense_baseline_dice=… autodeeplab_dice=NA fixed_path_dice=NA av_fused_acc=… av_best_unimodal_acc=…
#            pruned_transfer_acc=… magnitude_transfer_acc=… random_transfer_acc=…
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
last() { bash "$1" | tee /dev/stderr | tail -1; }
seg=$(last bench/dense_seg.sh)
av=$(last bench/avmnist.sh)
prune=$(last bench/prune_transfer.sh)
echo "total $(( $(date +%s) - start )) s"
get() { sed -nE "s/.*$1=([^ ]+).*/\1/p" <<<"$2"; }
echo "rl_dice=$(get rl_dice "$seg") dense_baseline_dice=$(get dense_baseline_dice "$seg") autodeeplab_dice=NA fixed_path_dice=NA" \
     "av_fused_acc=$(get av_fused_acc "$av") av_best_unimodal_acc=$(get av_best_unimodal_acc "$av")" \
     "pruned_transfer_acc=$(get pruned_transfer_acc "$prune") magnitude_transfer_acc=$(get magnitude_transfer_acc "$prune") random_transfer_acc=$(get random_transfer_acc "$prune")"
