#!/usr/bin/env bash
# Weight-sharing NAS on NAS-Bench-201 at the CPU-scale setting of docs/weight_sharing.md: each
# method × each seed trains its supernet on a Fashion-MNIST subset, derives a cell, and the
# NAS-Bench-201 table grades it (nats_c10_test_200, the CIFAR-10 test accuracy after 200 epochs;
# the search never sees the table).
#
# Rows, all at the defaults (fixed on tuning seeds ≥ 1000 before this bench ran, see
# docs/benchmarks.md):
#   darts          DARTS as a user gets it: 30 epochs; the collapse detector only warns
#   darts-early    DARTS with --param on_collapse=rollback: the detector ends the search and
#                  rolls α back to the epoch whose derived cell validated best
#   darts-best5    DARTS restarted 5 times at 22 epochs (110 supernet-epochs, few-shot DARTS's
#                  10 + 5×20), the restart with the best recalibrated accuracy on the architecture
#                  half wins: few-shot's compute and its selection rule
#   fewshot-darts  few-shot NAS over DARTS (five sub-supernets split on edge 0)
#   spos, spos-best5, fewshot-spos, rlnas, mdenas, dnal
#                  (spos-best5: 5 restarts at 11 epochs ≈ few-shot SPOS's 24 + 5×6 = 54 epochs)
# Then whether the detector fired on each seed where plain DARTS collapsed (its cell has no
# convolution) and on none where it did not. Last line:
#   darts=<a> darts_early=<e> darts_best5=<f> fewshot_darts=<b> spos=<c> fewshot_spos=<d> rlnas=<g> mdenas=<h> dnal=<i> seeds=<n>
# Environment: DATA (Fashion-MNIST IDX folder), SWIFTNAS_NB201 or TABLE (another table),
# SEEDS (default "0 1 2 3 4"), ROWS (a subset of the rows above), SCRATCH (build folder), OUT
# (where the stores and health logs go; default runs/weight_sharing).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/fashion-mnist}
[ -d "$DATA" ] || DATA=/usr/share/datasets/fashion-mnist
TABLE=${TABLE:-${SWIFTNAS_NB201:-}}   # empty: the table that ships with SwiftNAS
SEEDS=${SEEDS:-"0 1 2 3 4"}
ROWS=${ROWS:-"darts darts-early darts-best5 fewshot-darts spos spos-best5 fewshot-spos rlnas mdenas dnal"}
SCRATCH=${SCRATCH:-.build}
source bench/load.sh
swift build -c release --scratch-path "$SCRATCH" --product swiftnas >/dev/null
BIN="$SCRATCH/release/swiftnas"
# Stores and per-epoch health logs (<store>.health.jsonl) stay for inspection.
OUT=${OUT:-runs/weight_sharing}
rm -rf "$OUT"; mkdir -p "$OUT"

# The strategy and the extra flags of each row.
row_flags() {
  case "$1" in
    darts-early) echo "darts --param on_collapse=rollback" ;;
    darts-best5) echo "darts --param restarts=5 --param epochs=22" ;;
    spos-best5)  echo "spos --param restarts=5 --param epochs=11" ;;
    *)           echo "$1" ;;
  esac
}

load_before "the weight-sharing runs"
printf "%-14s %4s  %-92s %9s %9s %s\n" row seed "found cell" test_200 search_s collapse
# Seed by seed, so that a partial run has every row of the seeds it finished.
for s in $SEEDS; do
  for r in $ROWS; do
    read -r strategy flags <<<"$(row_flags "$r") "
    # shellcheck disable=SC2086
    line=$("$BIN" search --space nb201 --strategy "$strategy" --seed "$s" --data "$DATA" --benchmark "$TABLE" \
           --store "$OUT/$r-$s.sqlite" --quiet $flags 2>/dev/null | grep '^weight-sharing result:')
    cell=$(sed -E 's/.* cell=([^ ]+).*/\1/' <<<"$line")
    acc=$(sed -E 's/.* nats_c10_test_200=([0-9.]+).*/\1/' <<<"$line")
    secs=$(sed -E 's/.* search_seconds=([0-9.]+).*/\1/' <<<"$line")
    col=$(sed -E 's/.* collapse=([^ ]+).*/\1/' <<<"$line")
    printf "%-14s %4s  %-92s %9s %9s %s\n" "$r" "$s" "$cell" "$acc" "$secs" "$col"
    echo "$r $s $acc $cell $col" >> "$OUT/results"
  done
done
load_after "the weight-sharing runs"

# The detector against the outcome of plain DARTS: collapsed = a cell without a convolution.
awk '$1 == "darts" { collapsed = ($4 !~ /nor_conv/); fired = ($5 != "none");
       if (collapsed) { c++; if (fired) cf++ } else { n++; if (fired) nf++ } }
     END { if (c + n > 0) printf "collapse detector on plain DARTS: fired on %d of %d collapsed seeds, on %d of %d seeds that did not collapse\n", cf, c, nf, n }' "$OUT/results"

# Means per row; SPOS's best-of-5 on its own line, the last line as documented above.
awk -v seeds="$(wc -w <<<"$SEEDS")" '
  { key = $1; gsub("-", "_", key); sum[key] += $3; cnt[key]++ }
  END {
    if ("spos_best5" in cnt) printf "spos_best5=%.2f\n", sum["spos_best5"] / cnt["spos_best5"]
    split("darts darts_early darts_best5 fewshot_darts spos fewshot_spos rlnas mdenas dnal", order, " ")
    line = ""
    for (i = 1; i <= 9; i++) { k = order[i]; if (k in cnt) line = line sprintf("%s%s=%.2f", (line == "" ? "" : " "), k, sum[k] / cnt[k]) }
    print line " seeds=" seeds
  }' "$OUT/results"
