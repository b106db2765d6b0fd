#!/usr/bin/env bash
# Zero-cost proxies on NAS-Bench-201, scored on one Fashion-MNIST batch (the data available
# offline; the published figures use CIFAR-10 images): Spearman correlation of every proxy with
# nats_c10_test_200 over 1,000 seeded random cells, jacob_cov against the table's published
# naswot_score_v1, the wall-clock seconds of a full NASWOT search with N=100, and the NASWOT
# search over 100 seeds at N=10 and N=100 (cells drawn from the scored pool, scores cached).
# Last line: spearman_naswot_test=<a> spearman_jacobcov_published=<b> naswot_n100_seconds=<c>
set -euo pipefail
cd "$(dirname "$0")/.."
TABLE=${SWIFTNAS_NB201:-}   # empty: the table that ships with SwiftNAS
DATA=${FASHION_MNIST:-../shared/data/fashion-mnist}
[ -d "$DATA" ] || DATA=/usr/share/datasets/fashion-mnist
source bench/load.sh
swift build -c release --product swiftnas >/dev/null
load_before "the zero-cost bench"
out=$(.build/release/swiftnas bench-zero-cost --benchmark "$TABLE" --data "$DATA" --archs "${ARCHS:-1000}" --seed "${SEED:-0}")
load_after "the zero-cost bench"
echo "$out"
