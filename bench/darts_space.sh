#!/usr/bin/env bash
# DARTS's CNN space on Fashion-MNIST: DARTS (first order) against random search with weight
# sharing (Li & Talwalkar 2019: the same supernet trained on uniform single paths, then
# `population` architectures drawn uniformly and the best on the architecture half kept —
# `--strategy spos --param generations=0`), both at the same supernet setting and epochs (DARTS
# trains the full mixture, so the random baseline spends less compute, not more). Each derived
# genotype is then retrained from scratch with `swiftnas train --space darts` on SEEDS and
# scored on the Fashion-MNIST test set (the searches never see it).
# Nothing here was tuned: the settings are the documented CPU-scale defaults of
# docs/model_spaces.md, search seed SEARCH_SEED (default 0).
# genotype_roundtrip=1 when every genotype the searches printed is parsed by `swiftnas train`
# and printed back character for character.
# Last line: darts_space_searched_acc=<a> darts_space_random_acc=<b> genotype_roundtrip=<1|0>
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/fashion-mnist}
[ -d "$DATA" ] || DATA=/usr/share/datasets/fashion-mnist
SEEDS=${SEEDS:-"0 1 2"}
SEARCH_SEED=${SEARCH_SEED:-0}
SCRATCH=${SCRATCH:-.build}
OUT=${OUT:-runs/darts_space}
source bench/load.sh
swift build -c release --scratch-path "$SCRATCH" --product swiftnas >/dev/null
BIN="$SCRATCH/release/swiftnas"
rm -rf "$OUT"; mkdir -p "$OUT"
SEARCH="--space darts --seed $SEARCH_SEED --data $DATA --quiet --param channels=8 --param layers=5 --param train_images=2000 --param epochs=6 --param evaluation_images=500"
TRAIN="--channels 8 --layers 5 --epochs 3 --train-limit 6000 --batch-size 64"
load_before "the DARTS-space bench"
start=$(date +%s)
"$BIN" search --strategy darts $SEARCH --store "$OUT/darts.sqlite" > "$OUT/darts.log" 2>&1
mid=$(date +%s)
"$BIN" search --strategy spos $SEARCH --param generations=0 --param population=20 --store "$OUT/random.sqlite" > "$OUT/random.log" 2>&1
end=$(date +%s)
echo "search seconds: darts $((mid - start)), random-ws $((end - mid))"
roundtrip=1
declare -A acc
for row in darts random; do
  genotype=$(grep -o "genotype=Genotype(.*range(2, 6))" "$OUT/$row.log" | head -1 | sed 's/^genotype=//')
  echo "$row: $genotype"
  sum=0
  for s in $SEEDS; do
    "$BIN" train --space darts --arch "$genotype" --data "$DATA" $TRAIN --seed "$s" --out "$OUT/train-$row-$s" > "$OUT/train-$row-$s.log" 2>&1
    printed=$(grep -m1 -o "^darts Genotype(.*range(2, 6))" "$OUT/train-$row-$s.log" | sed 's/^darts //')
    [ "$printed" = "$genotype" ] || roundtrip=0
    a=$(grep -o "test accuracy [0-9.]*" "$OUT/train-$row-$s.log" | awk '{print $3}')
    echo "  seed $s: test accuracy $a%"
    sum=$(awk -v s="$sum" -v a="$a" 'BEGIN { print s + a }')
  done
  acc[$row]=$(awk -v s="$sum" -v n="$(echo $SEEDS | wc -w)" 'BEGIN { printf "%.2f", s / n }')
done
load_after "the DARTS-space bench"
echo "darts_space_searched_acc=${acc[darts]} darts_space_random_acc=${acc[random]} genotype_roundtrip=$roundtrip"
