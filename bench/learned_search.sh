#!/usr/bin/env bash
# Learned search strategies. NAO and CTNAS on the NAS-Bench-201 table: 100 seeds, budgets of 100
# and 300 queries, the protocol of bench/nb201_strategies.sh (objective: 12-epoch CIFAR-10
# validation accuracy; reported: nats_c10_test_200 of the incumbent; every table query counts).
# NAGO on Fashion-MNIST: Bayesian optimisation of the hierarchical generator for NAGO_MINUTES
# (default 12) of wall-clock time, writing the Pareto front (accuracy vs parameters) as SVG/CSV
# to runs/learned_search/nago/. The last line is machine-readable:
#   nao_mean_test_at_100=<a> ctnas_mean_test_at_100=<b> nago_pareto_points=<n>
#
# Usage: bench/learned_search.sh [path/to/nasbench201.csv] [path/to/fashion-mnist]
# Defaults: $SWIFTNAS_NB201 or the NAS-Bench-201 table that ships with SwiftNAS, and
# $SWIFTNAS_FMNIST or ../shared/data/fashion-mnist (then /usr/share/datasets/fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/.."

TABLE="${1:-${SWIFTNAS_NB201:-}}"   # empty: the table that ships with SwiftNAS
FMNIST="${2:-${SWIFTNAS_FMNIST:-../shared/data/fashion-mnist}}"
[ -d "$FMNIST" ] || FMNIST=/usr/share/datasets/fashion-mnist
if [ -n "$TABLE" ] && [ ! -f "$TABLE" ]; then echo "NAS-Bench-201 table not found at $TABLE (pass its path or set SWIFTNAS_NB201)" >&2; exit 1; fi
if [ ! -d "$FMNIST" ]; then echo "Fashion-MNIST not found at $FMNIST (pass its path or set SWIFTNAS_FMNIST)" >&2; exit 1; fi

SCRATCH="${SWIFTNAS_SCRATCH:-.build}"
swift build -c release --scratch-path "$SCRATCH" --product swiftnas >&2
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/swiftnas"

# One search per core; each search's engine ops single-threaded (the two never share cores).
STRAT_OUT="$(mktemp)"
trap 'rm -f "$STRAT_OUT"' EXIT
source bench/load.sh
load_before "NAO and CTNAS"
SWIFTNAS_THREADS=1 "$BIN" bench-strategies --benchmark "$TABLE" --seeds "${SEEDS:-100}" --seed-offset "${SEED_OFFSET:-0}" \
    --budgets 100,300 --strategies nao,ctnas | tee "$STRAT_OUT" | grep -v '_at_100='
load_after "NAO and CTNAS"

echo
OUT=runs/learned_search/nago
rm -rf "$OUT"
load_before "NAGO"
"$BIN" nago --data "$FMNIST" --out "$OUT" --minutes "${NAGO_MINUTES:-12}" --seed "${SEED_OFFSET:-0}" | tee -a "$STRAT_OUT" | grep -v '^nago_pareto_points='
load_after "NAGO"

mean_at_100() { awk -F'|' -v s="$1" '$2 ~ "^ *"s" *$" { split($3, a, " "); print a[1] }' "$STRAT_OUT"; }
POINTS="$(sed -n 's/^nago_pareto_points=//p' "$STRAT_OUT")"
echo "nao_mean_test_at_100=$(mean_at_100 nao) ctnas_mean_test_at_100=$(mean_at_100 ctnas) nago_pareto_points=$POINTS"
