#!/usr/bin/env bash
# The control bench/glit.sh lacks: is GLiT's gain the search's, or the space's? Draws GLiT
# architectures uniformly at random (every decision of every block uniform; draw seed DRAW_SEED,
# default 0) until one has the plain ViT's weights ± 5 % (the bound the search had), then
# retrains it with the GLiT comparisons' recipe (bench/glit_recipe.sh) on seeds 0, 1, 2.
# Nothing tuned; no draw is chosen by accuracy. Writes runs/glit_random/. Last line: random_arch=<…> random_params=<n> random_acc=<mean>.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/swiftnas_build.sh
OUT=${OUT:-runs/glit_random}
SEEDS=${SEEDS:-0 1 2}
mkdir -p "$OUT"
source bench/glit_recipe.sh
vit=$(weights "$(probe "${VIT[@]}")")
lo=$((vit * 95 / 100)); hi=$((vit * 105 / 100))
python3 - "${DRAW_SEED:-0}" > "$OUT/draws.txt" <<'PY'
import random, sys
rng = random.Random(int(sys.argv[1]))
for _ in range(200):
    blocks = []
    for _ in range(4):
        g = rng.randint(0, 4)
        blocks.append(f"g{g}l{4 - g}-d{rng.choice([8, 16, 24])}-k{rng.choice([3, 5, 7])}-e{rng.choice([1, 2])}-m{rng.choice([2, 3, 4])}")
    print("glit(patch=7,dim=64)[" + "|".join(blocks) + "]")
PY
arch=""; n=0; tries=0
while read -r candidate; do
  tries=$((tries + 1))
  n=$(weights "$(probe --space glit --arch "$candidate")")
  if [ "$n" -ge "$lo" ] && [ "$n" -le "$hi" ]; then arch=$candidate; break; fi
done < "$OUT/draws.txt"
[ -n "$arch" ] || { echo "no draw within $lo…$hi weights" >&2; exit 1; }
echo "draw $tries of seed ${DRAW_SEED:-0}: $arch ($n weights; bound $lo…$hi)"
accs=()
for s in $SEEDS; do
  load_before "random GLiT seed $s"
  "$BIN" train --space glit --arch "$arch" "${RECIPE[@]}" --seed "$s" --out "$OUT/random-$s" 2>/dev/null > "$OUT/random-$s.txt"
  load_after "random GLiT seed $s"
  accs+=("$(accuracy "$OUT/random-$s.txt")")
  echo "seed $s: ${accs[-1]}"
done
echo "random_arch=$arch random_params=$n random_acc=$(mean "${accs[@]}")"
