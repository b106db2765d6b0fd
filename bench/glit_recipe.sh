# Sourced by bench/glit.sh and bench/glit_random.sh after bench/swiftnas_build.sh, with OUT set:
# the plain-ViT baseline, the one retraining recipe every GLiT comparison uses, and readers of
# what `swiftnas train` prints.
VIT=(--model vit --param patch=7 --param dim=64 --param depth=4 --param heads=4 --param mlp_ratio=4)
RECIPE=(--data "$DATA" --train-limit 20000 --epochs 10 --optimizer adamw --lr 1e-3 --weight-decay 0.05 --batch-size 128)
# `probe <network flags>`: the line `swiftnas train` starts with, which gives the network's size
# (one throw-away epoch on 256 images).
probe() { "$BIN" train "$@" --data "$DATA" --train-limit 256 --epochs 1 --out "$OUT/probe" 2>/dev/null | head -1; }
weights() { sed -E 's/.*: ([0-9]+) parameters.*/\1/' <<<"$1"; }
multiply_adds() { sed -E 's/.*\(([0-9]+) multiply-adds.*/\1/' <<<"$1"; }
accuracy() { sed -nE 's/^test accuracy ([0-9.]+)%.*/\1/p' "$1"; }
mean() { python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; print(f'{sum(v)/len(v):.2f}')" "$@"; }
