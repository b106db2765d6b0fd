#!/usr/bin/env bash
# Every search strategy on the NAS-Bench-201 table: 100 seeds at budgets of 50, 100 and 300
# queries. Prints mean ± std of the reported 200-epoch CIFAR-10 test accuracy per strategy and
# budget, the median number of queries to reach the optimum (94.37), and the time each strategy
# spends deciding per trial (ask + tell). The last line is machine-readable:
#   rea_mean_test_at_100=<x> best_mean_test_at_100=<y> best_median_queries_to_optimum=<z>
#
# Usage: bench/nb201_strategies.sh [path/to/nasbench201.csv] [extra bench-strategies flags]
# SEEDS (default 100) and SEED_OFFSET (default 0; tuning runs use 1000 and up) pick the seeds.
# The table path defaults to $SWIFTNAS_NB201, then the table that ships with SwiftNAS.
set -euo pipefail
cd "$(dirname "$0")/.."

TABLE="${1:-${SWIFTNAS_NB201:-}}"
shift || true
if [ -n "$TABLE" ] && [ ! -f "$TABLE" ]; then
    echo "NAS-Bench-201 table not found at $TABLE (pass its path or set SWIFTNAS_NB201)" >&2
    exit 1
fi

source bench/load.sh
swift build -c release --product swiftnas >&2
BIN="$(swift build -c release --show-bin-path)/swiftnas"
load_before "the strategies"
# The black-box strategies of the NAS-Bench-201 comparison, named so that strategies added to
# the catalog later (learned methods with much longer decision times) do not change this run.
out=$("$BIN" bench-strategies --benchmark "$TABLE" --seeds "${SEEDS:-100}" --seed-offset "${SEED_OFFSET:-0}" \
    --budgets 50,100,300 --strategies random,rea,reinforce,ls,bananas,hyperband,bohb "$@")
load_after "the strategies"
echo "$out"
