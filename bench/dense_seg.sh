#!/usr/bin/env bash
# Mortazi & Bagci's policy-gradient search for medical segmentation, at CPU scale, on the ISBI 2012
# EM membranes (the dark pixels are the foreground), against the hand-designed baseline it edits.
# Images: the 30 labelled 512×512 slices shrunk to 256×256, 64×64 tiles without overlap (16 per
# slice), five contiguous folds; fold 4 (slices 24–29) is the test fold, never trained or searched on.
# Search: `swiftnas search --space dense-seg --strategy $STRATEGY` (default reinforce-lstm), an LSTM controller choosing
# each of the 5 dense blocks' kernel (3/5), growth (4/8/12/16) and depth (1/2/3); every child trained
# $CHILD_EPOCHS epochs from scratch on slices 0–17 and rewarded by its Dice on slices 18–23;
# $BUDGET children; search seed 0. STRATEGY=random runs the control: the same budget, children and
# selection rule with uniform random proposals (e.g. `STRATEGY=random OUT=runs/dense_seg_random`).
# Retraining: the baseline (k3-g8-d2 in every block) and the best child from scratch with one
# recipe — Adam 2e-3, cosine, batch 16, BCE + soft Dice, the square's symmetries, $EPOCHS epochs on
# slices 0–23 — seeds 0, 1, 2, Dice on the test fold after the last epoch. Settings fixed by run time
# before any run; nothing tuned. Writes runs/dense_seg/.
# Last line: rl_dice=<mean> dense_baseline_dice=<mean> children=<n> search_hours=<h>
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/swiftnas_build.sh
ISBI=${ISBI:-../shared/data/isbi2012-em-membrane}
OUT=${OUT:-runs/dense_seg}
SEEDS=${SEEDS:-0 1 2}
BUDGET=${BUDGET:-20}
CHILD_EPOCHS=${CHILD_EPOCHS:-2}
EPOCHS=${EPOCHS:-8}
STRATEGY=${STRATEGY:-reinforce-lstm}
mkdir -p "$OUT"
DATAFLAGS=(--data "$ISBI" --foreground dark --downsample 2 --tile 64 --overlap 0)
BASELINE='dense-seg[k3-g8-d2|k3-g8-d2|k3-g8-d2|k3-g8-d2|k3-g8-d2]'

load_before "dense-seg search"
rm -f "$OUT/search.sqlite"
"$BIN" search --space dense-seg --strategy "$STRATEGY" "${DATAFLAGS[@]}" --train-epochs "$CHILD_EPOCHS" \
    --budget "$BUDGET" --seed 0 --store "$OUT/search.sqlite" --quiet > "$OUT/search.txt"
load_after "dense-seg search"
cat "$OUT/search.txt"
"$BIN" trials --store "$OUT/search.sqlite" --format csv > "$OUT/trials.csv"
best=$(sed -nE 's/^best: trial [0-9]+ (dense-seg\[[^]]*\]).*/\1/p' "$OUT/search.txt")
children=$(sed -nE 's/^trials: ([0-9]+) .*/\1/p' "$OUT/search.txt")
hours=$(sed -nE 's/^trials: .*, ([0-9.]+) h$/\1/p' "$OUT/search.txt")

dice() { sed -nE 's/^held-out Dice ([0-9.]+) .*/\1/p' "$1"; }
mean_sd() { python3 -c 'import statistics as s,sys; v=[float(x) for x in sys.argv[1:]]; print(f"{s.mean(v):.4f} {s.stdev(v) if len(v)>1 else 0:.4f}")' "$@"; }
rl=(); base=()
for s in $SEEDS; do
  load_before "retrain seed $s"
  "$BIN" train --task segment --space dense-seg --arch "$best" "${DATAFLAGS[@]}" --epochs "$EPOCHS" --seed "$s" \
      --out "$OUT/best-$s" 2>/dev/null > "$OUT/best-$s.txt"
  "$BIN" train --task segment --space dense-seg --arch "$BASELINE" "${DATAFLAGS[@]}" --epochs "$EPOCHS" --seed "$s" \
      --out "$OUT/baseline-$s" 2>/dev/null > "$OUT/baseline-$s.txt"
  load_after "retrain seed $s"
  rl+=("$(dice "$OUT/best-$s.txt")"); base+=("$(dice "$OUT/baseline-$s.txt")")
  echo "seed $s: searched ${rl[-1]} baseline ${base[-1]}"
done
echo "searched: $best ($(sed -nE 's/.*: ([0-9]+) parameters.*/\1/p' "$OUT/best-${SEEDS%% *}.txt") parameters)"
echo "baseline: $BASELINE ($(sed -nE 's/.*: ([0-9]+) parameters.*/\1/p' "$OUT/baseline-${SEEDS%% *}.txt") parameters)"
read -r rl_mean rl_sd <<<"$(mean_sd "${rl[@]}")"
read -r base_mean base_sd <<<"$(mean_sd "${base[@]}")"
echo "searched Dice $rl_mean ± $rl_sd, baseline $base_mean ± $base_sd (mean ± sd over seeds $SEEDS)"
echo "rl_dice=$rl_mean dense_baseline_dice=$base_mean children=$children search_hours=$hours"
