#!/usr/bin/env bash
# Auto-DeepLab (Liu et al., CVPR 2019) at CPU scale on the ISBI 2012 EM membranes (dark pixels are the
# foreground), slices shrunk to 256×256, 64×64 tiles without overlap, five contiguous folds; fold 4
# (slices 24–29) is the test fold, never searched or trained on in the search.
# Search: `swiftnas search --space autodeeplab` with its defaults — 4 layers over 3 resolutions (÷2, ÷4, ÷8;
# the paper's ÷4…÷32 on 321-px crops), 8 channels at ÷2 doubling per level, cells of 3 blocks over
# none/skip/sep_conv_3x3/dil_conv_3x3/avg_pool_3x3, one α for all cells, β per transition; $EPOCHS
# epochs of first-order bilevel optimisation (weights on slices 0–11, α and β on 12–23, from epoch
# $((EPOCHS / 3 + 1))), Adam; Viterbi path and top-2 cell; search seed 0.
# Comparison: the fixed DeepLab-like path (down to ÷8 as fast as the trellis allows, then stay) with the
# searched cell, its width set so its weights match the searched network's (printed by the search).
# Retraining: both from scratch with one recipe — Adam 2e-3, cosine, batch 16, BCE + soft Dice, the
# square's symmetries, $RETRAIN epochs on slices 0–23 — seeds 0, 1, 2; Dice on the test fold after the
# last epoch. Settings fixed by run time before any run; nothing tuned. Writes runs/autodeeplab/.
# Last line: autodeeplab_dice=<mean> fixed_path_dice=<mean>
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/swiftnas_build.sh
ISBI=${ISBI:-../shared/data/isbi2012-em-membrane}
OUT=${OUT:-runs/autodeeplab}
SEEDS=${SEEDS:-0 1 2}
EPOCHS=${EPOCHS:-6}
RETRAIN=${RETRAIN:-10}
mkdir -p "$OUT"
DATAFLAGS=(--data "$ISBI" --foreground dark --downsample 2 --tile 64 --overlap 0)
load_before "autodeeplab search"
rm -f "$OUT/search.sqlite.supernet.safetensors"
"$BIN" search --space autodeeplab "${DATAFLAGS[@]}" --train-epochs "$EPOCHS" --seed 0 --store "$OUT/search.sqlite" --quiet > "$OUT/search.txt"
load_after "autodeeplab search"
cat "$OUT/search.txt"
arch=$(sed -nE 's/^architecture: (.*)$/\1/p' "$OUT/search.txt")
fixed=$(sed -nE 's/^fixed path: (adl\[[^]]*\]) at --channels ([0-9]+).*/\1/p' "$OUT/search.txt")
width=$(sed -nE 's/^fixed path: .* at --channels ([0-9]+).*/\1/p' "$OUT/search.txt")
dice() { sed -nE 's/^held-out Dice ([0-9.]+) .*/\1/p' "$1"; }
mean_sd() { python3 -c 'import statistics as s,sys; v=[float(x) for x in sys.argv[1:]]; print(f"{s.mean(v):.4f} {s.stdev(v) if len(v)>1 else 0:.4f}")' "$@"; }
found=(); hand=()
for s in $SEEDS; do
  load_before "retrain seed $s"
  "$BIN" train --task segment --space autodeeplab --arch "$arch" "${DATAFLAGS[@]}" --epochs "$RETRAIN" --seed "$s" \
      --out "$OUT/searched-$s" 2>/dev/null > "$OUT/searched-$s.txt"
  "$BIN" train --task segment --space autodeeplab --arch "$fixed" --channels "$width" "${DATAFLAGS[@]}" --epochs "$RETRAIN" --seed "$s" \
      --out "$OUT/fixed-$s" 2>/dev/null > "$OUT/fixed-$s.txt"
  load_after "retrain seed $s"
  found+=("$(dice "$OUT/searched-$s.txt")"); hand+=("$(dice "$OUT/fixed-$s.txt")")
  echo "seed $s: searched ${found[-1]} fixed path ${hand[-1]}"
done
read -r am asd <<<"$(mean_sd "${found[@]}")"
read -r fm fsd <<<"$(mean_sd "${hand[@]}")"
echo "searched $arch: Dice $am ± $asd; fixed path $fixed at --channels $width: $fm ± $fsd (seeds $SEEDS)"
echo "autodeeplab_dice=$am fixed_path_dice=$fm"
