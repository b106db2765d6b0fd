# Sourced by the bench scripts that run `swiftnas` on Fashion-MNIST: DATA (../shared first, then
# apt's copy), SCRATCH (the build folder), the load helpers, a release build, and BIN.
DATA=${DATA:-../shared/data/fashion-mnist}
[ -d "$DATA" ] || DATA=/usr/share/datasets/fashion-mnist
SCRATCH=${SCRATCH:-.build}
source bench/load.sh
swift build -c release --scratch-path "$SCRATCH" --product swiftnas >/dev/null
BIN="$SCRATCH/release/swiftnas"
