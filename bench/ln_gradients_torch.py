"""The PyTorch side of bench/ln_gradients.sh: Pre-LN vs Post-LN ViTs at initialisation.

Same protocol as `swiftnas ln-gradients`: the first BATCH Fashion-MNIST training images,
normalised with the training set's mean and standard deviation; a ViT of width DIM, HEADS heads,
PATCH×PATCH patches, MLP ratio 4, no dropout, blocks of nn.TransformerEncoderLayer (GELU), a
final layer norm for Pre-LN; class token and position embeddings N(0, 0.02²) truncated. One
cross-entropy backward pass per (depth, order, seed); the Frobenius norm of each block's
linear2.weight gradient. Prints the last block's seed-mean per depth and Post ÷ Pre.
Usage: python3 bench/ln_gradients_torch.py <fashion-mnist dir> [depths] [seeds]
"""
import gzip
import pathlib
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "scripts"))
from torch_vit import ViT  # noqa: E402

root = pathlib.Path(sys.argv[1])
depths = [int(d) for d in (sys.argv[2] if len(sys.argv) > 2 else "6,12,24").split(",")]
seeds = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else "0,1,2").split(",")]
BATCH, DIM, HEADS, PATCH = 128, 64, 4, 4


def idx(name):
    for p in (root / name, root / (name + ".gz")):
        if p.exists():
            raw = gzip.open(p).read() if p.suffix == ".gz" else p.read_bytes()
            return raw
    raise SystemExit(f"{name} not found in {root}")


raw = idx("train-images-idx3-ubyte")
n, h, w = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h, w, 1).astype(np.float32) / 255
labels = np.frombuffer(idx("train-labels-idx1-ubyte"), dtype=np.uint8, offset=8).astype(np.int64)
mean, std = images.mean(), images.std()
x = torch.from_numpy((images[:BATCH] - mean) / std)
y = torch.from_numpy(labels[:BATCH])


print(f"PyTorch {torch.__version__}: ViT {DIM} wide, {HEADS} heads, patch {PATCH}, batch of {BATCH}; seeds {seeds}")
print("| depth | last block, Pre-LN | last block, Post-LN | Post ÷ Pre |")
print("|---|---|---|---|")
ratios = []
for depth in depths:
    last = {}
    for norm_first in (True, False):
        values = []
        for seed in seeds:
            torch.manual_seed(seed)
            model = ViT(height=h, width=w, channels=1, classes=10, patch=PATCH, dim=DIM, depth=depth, heads=HEADS,
                        mlp_ratio=4, norm_first=norm_first).train()
            nn.functional.cross_entropy(model(x), y).backward()
            values.append(model.blocks[-1].linear2.weight.grad.norm().item())
        last[norm_first] = sum(values) / len(values)
    ratios.append(last[False] / last[True])
    print(f"| {depth} | {last[True]:.4g} | {last[False]:.4g} | {ratios[-1]:.2f} |")
print("torch_post_over_pre=" + ",".join(f"{r:.2f}" for r in ratios))
