#!/usr/bin/env bash
# Weight-sharing NAS on NAS-Bench-201 at the CPU-scale setting of docs/weight_sharing.md:
# each method × 3 seeds trains its supernet on a Fashion-MNIST subset, derives a cell, and the
# NAS-Bench-201 table grades it (nats_c10_test_200, the CIFAR-10 test accuracy after 200 epochs).
# Prints one row per run and, last, the mean test accuracy of each method over the seeds:
#   darts=<a> fewshot_darts=<b> spos=<c> fewshot_spos=<d> rlnas=<e> mdenas=<f> dnal=<g>
# Environment: DATA (Fashion-MNIST IDX folder), SWIFTNAS_NB201 or TABLE (nasbench201.csv),
# SEEDS (default "0 1 2"), METHODS, SCRATCH (build folder), EXTRA (more --param key=value flags).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/fashion-mnist}
[ -d "$DATA" ] || DATA=/usr/share/datasets/fashion-mnist
TABLE=${TABLE:-${SWIFTNAS_NB201:-}}   # empty: the table that ships with SwiftNAS
SEEDS=${SEEDS:-"0 1 2"}
METHODS=${METHODS:-"darts fewshot-darts spos fewshot-spos rlnas mdenas dnal"}
SCRATCH=${SCRATCH:-.build-ws}
EXTRA=${EXTRA:-}
source bench/load.sh
swift build -c release --scratch-path "$SCRATCH" --product swiftnas >/dev/null
load_before "the weight-sharing runs"
BIN="$SCRATCH/release/swiftnas"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
printf "%-14s %4s  %-92s %9s %9s\n" method seed "found cell" test_200 search_s
for m in $METHODS; do
  for s in $SEEDS; do
    line=$("$BIN" search --space nb201 --strategy "$m" --seed "$s" --data "$DATA" --benchmark "$TABLE" \
           --store "$OUT/$m-$s.sqlite" --quiet $EXTRA | grep '^weight-sharing result:')
    cell=$(sed -E 's/.* cell=([^ ]+).*/\1/' <<<"$line")
    acc=$(sed -E 's/.* nats_c10_test_200=([0-9.]+).*/\1/' <<<"$line")
    secs=$(sed -E 's/.* search_seconds=([0-9.]+).*/\1/' <<<"$line")
    printf "%-14s %4s  %-92s %9s %9s\n" "$m" "$s" "$cell" "$acc" "$secs"
    echo "$m $acc" >> "$OUT/results"
  done
done
load_after "the weight-sharing runs"
awk '{ key = $1; gsub("-", "_", key); sum[key] += $2; n[key]++; if (!(key in seen)) { order[++k] = key; seen[key] = 1 } }
     END { for (i = 1; i <= k; i++) { printf "%s%s=%.2f", (i > 1 ? " " : ""), order[i], sum[order[i]] / n[order[i]] } printf "\n" }' "$OUT/results"
