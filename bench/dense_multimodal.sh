#!/usr/bin/env bash
# The dense-prediction and multimodal benches in one run (each script's header has its settings):
# bench/dense_seg.sh (policy-gradient segmentation search vs its baseline, ISBI 2012),
# bench/avmnist.sh (random-search multimodal NAS, best fused vs best unimodal), and
# bench/autodeeplab.sh (Auto-DeepLab vs the fixed DeepLab-like path at equal weights), and
# bench/prune_transfer.sh (pruning for transfer vs magnitude pruning and a random structure).
# Last line: rl_dice=… dense_baseline_dice=… autodeeplab_dice=… fixed_path_dice=… av_fused_acc=… av_best_unimodal_acc=…
#            pruned_transfer_acc=… magnitude_transfer_acc=… random_transfer_acc=…
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
last() { bash "$1" | tee -a /dev/stderr | tail -1; }   # -a: each bench appends to a redirected stderr
seg=$(last bench/dense_seg.sh)
adl=$(last bench/autodeeplab.sh)
av=$(last bench/avmnist.sh)
prune=$(last bench/prune_transfer.sh)
echo "total $(( $(date +%s) - start )) s"
get() { sed -nE "s/.*$1=([^ ]+).*/\1/p" <<<"$2"; }
echo "rl_dice=$(get rl_dice "$seg") dense_baseline_dice=$(get dense_baseline_dice "$seg") autodeeplab_dice=$(get autodeeplab_dice "$adl") fixed_path_dice=$(get fixed_path_dice "$adl")" \
     "av_fused_acc=$(get av_fused_acc "$av") av_best_unimodal_acc=$(get av_best_unimodal_acc "$av")" \
     "pruned_transfer_acc=$(get pruned_transfer_acc "$prune") magnitude_transfer_acc=$(get magnitude_transfer_acc "$prune") random_transfer_acc=$(get random_transfer_acc "$prune")"
