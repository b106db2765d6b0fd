#!/usr/bin/env bash
# The README's main job — NASWOT picks a NAS-Bench-201 cell from 100 random ones on one batch of
# Fashion-MNIST, then the chosen cell is trained (C=16, N=1, 3 epochs on all 54,000 training
# images, the default recipe) and tested on the 10,000 test images — timed end to end per seed,
# after the build, with the load average around each run.
# Last line: main_job seeds=<…> test_accuracy=<per seed> seconds=<per seed>
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"0 1"}
source bench/swiftnas_build.sh
DATA=${MAIN_JOB_DATA:-/usr/share/datasets/fashion-mnist}   # the README's data (apt's copy)
[ -d "$DATA" ] || DATA=../shared/data/fashion-mnist
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
accs=() secs=()
for seed in $SEEDS; do
    load_before "seed $seed"
    start=$(date +%s.%N)
    "$BIN" search --space nb201 --strategy naswot --samples 100 --data "$DATA" --train-epochs 3 --channels 16 --cells 1 \
        --seed "$seed" --store "$out/seed$seed.sqlite" --quiet | tee "$out/seed$seed.txt"
    end=$(date +%s.%N)
    load_after "seed $seed"
    accs+=("$(sed -nE 's/.*test ([0-9.]+)%.*/\1/p' "$out/seed$seed.txt")")
    secs+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')")
done
echo "main_job seeds=$(tr ' ' ',' <<<"$SEEDS") test_accuracy=$(IFS=,; echo "${accs[*]}") seconds=$(IFS=,; echo "${secs[*]}")"
