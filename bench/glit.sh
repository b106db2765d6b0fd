#!/usr/bin/env bash
# GLiT (Chen et al., ICCV 2021) at CPU scale, against the plain ViT it is sized to.
# Baseline: a Pre-LN ViT of width 64, depth 4, 4 heads of 16, MLP ratio 4, 7×7 patches (17 tokens).
# Search: `swiftnas search --space glit --strategy glit` with its defaults (supernet of width 64,
# depth 4, 4 heads split global/local, head dim 8/16/24, kernel 3/5/7, expansion 1/2, MLP ratio
# 2/3/4; 15 epochs of uniform single-path AdamW on 5,000 + 5,000 of the first 10,000 training
# images; hierarchical evolution, 16 × (1 + 4 generations) per level, scored on 1,000 images of
# the architecture half), candidates bounded to the baseline's weights ± 5 %; search seed 0.
# Retraining: both networks from scratch with one recipe — AdamW lr 1e-3, weight decay 0.05,
# cosine, batch 128, 10 epochs on the first 20,000 training images — seeds 0, 1, 2, reported on
# the 10,000 test images (never seen by the search). Settings fixed by run time before any run;
# nothing tuned. Writes runs/glit/. Last line: glit_acc=<mean> vit_acc=<mean> (and sizes).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/swiftnas_build.sh
OUT=${OUT:-runs/glit}
SEEDS=${SEEDS:-0 1 2}
mkdir -p "$OUT"
source bench/glit_recipe.sh

baseline=$(probe "${VIT[@]}")
vit_params=$(weights "$baseline"); vit_macs=$(multiply_adds "$baseline")
lo=$((vit_params * 95 / 100)); hi=$((vit_params * 105 / 100))
echo "baseline ViT: $vit_params parameters, $vit_macs multiply-adds per image; GLiT bounded to $lo…$hi"

load_before "glit search"
rm -f "$OUT/search.sqlite" "$OUT/search.sqlite.supernet.safetensors"
"$BIN" search --space glit --strategy glit --data "$DATA" --seed 0 --store "$OUT/search.sqlite" \
    --param min_parameters=$lo --param max_parameters=$hi > "$OUT/search.txt" 2> "$OUT/search.log"
load_after "glit search"
grep -E "^glit level|^main epoch 15" "$OUT/search.log"
arch=$(sed -nE 's/^architecture: (.*)$/\1/p' "$OUT/search.txt")
echo "searched: $arch"

glit_accs=(); vit_accs=()
for s in $SEEDS; do
  load_before "retrain seed $s"
  "$BIN" train --space glit --arch "$arch" "${RECIPE[@]}" --seed "$s" --out "$OUT/glit-$s" 2>/dev/null > "$OUT/glit-$s.txt"
  "$BIN" train "${VIT[@]}" "${RECIPE[@]}" --seed "$s" --out "$OUT/vit-$s" 2>/dev/null > "$OUT/vit-$s.txt"
  load_after "retrain seed $s"
  glit_accs+=("$(accuracy "$OUT/glit-$s.txt")"); vit_accs+=("$(accuracy "$OUT/vit-$s.txt")")
  echo "seed $s: glit ${glit_accs[-1]} vit ${vit_accs[-1]}"
done
glit_line=$(head -1 "$OUT/glit-${SEEDS%% *}.txt")
glit_params=$(weights "$glit_line"); glit_macs=$(multiply_adds "$glit_line")
echo "glit_acc=$(mean "${glit_accs[@]}") vit_acc=$(mean "${vit_accs[@]}") glit_params=$glit_params vit_params=$vit_params glit_macs=$glit_macs vit_macs=$vit_macs"
