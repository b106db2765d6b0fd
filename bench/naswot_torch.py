"""PyTorch peer of `swiftnas search --strategy naswot` for bench/naswot_vs_torch.sh.

The same job end to end, timed by the caller from process start: load Fashion-MNIST from its
IDX files, take a seeded batch of 128 training images (normalised by the training set's mean and
standard deviation, zero-padded to 32×32), build each NAS-Bench-201 network (C=16, N=5, as
SwiftNAS scores them), score it with the NASWOT score of Mellor et al. (ICML 2021) in float32 —
forward hooks on every ReLU add c·cᵀ + (1−c)·(1−c)ᵀ of the binary codes c to K, score =
log|det K| — and keep the best. The cells come from a file (one NB201 string per line), so both
sides score the same 100 cells.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class ReLUConvBN(nn.Module):
    def __init__(self, cin, cout, kernel, stride, padding):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, kernel, stride, padding, bias=False),
                                nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.op(x)


def edge_op(name, c):
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1, 1)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1, 0)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity()
    if name == "none":
        return None
    raise ValueError(f"unknown operation {name}")


class Cell(nn.Module):
    def __init__(self, arch, c):
        super().__init__()
        # "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|": node j sums op(node i) over i < j.
        self.edges = []
        ops = nn.ModuleList()
        for j, node in enumerate(arch.split("+"), start=1):
            for token in filter(None, node.split("|")):
                name, i = token.split("~")
                op = edge_op(name, c)
                self.edges.append((j, int(i), len(ops) if op is not None else None))
                if op is not None:
                    ops.append(op)
        self.ops = ops

    def forward(self, x):
        nodes = [x]
        for j in range(1, 4):
            terms = [self.ops[k](nodes[i]) for (to, i, k) in self.edges if to == j and k is not None]
            nodes.append(sum(terms) if terms else torch.zeros_like(x))
        return nodes[3]


class Reduction(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2, 1)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


class NB201Network(nn.Module):
    def __init__(self, arch, in_channels, classes, c=16, n=5):
        super().__init__()
        blocks = [nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)]
        for stage in range(3):
            if stage > 0:
                blocks.append(Reduction(c, 2 * c))
                c *= 2
            blocks += [Cell(arch, c) for _ in range(n)]
        blocks += [nn.BatchNorm2d(c), nn.ReLU()]
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


def naswot_score(net, batch):
    b = batch.shape[0]
    k = torch.zeros(b, b)

    def hook(module, inputs, output):
        c = (inputs[0].reshape(b, -1) > 0).float()
        k.add_(c @ c.t()).add_((1 - c) @ (1 - c).t())

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        net(batch)
    for h in handles:
        h.remove()
    return torch.slogdet(k)[1].item()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="Fashion-MNIST IDX folder")
    p.add_argument("--archs", required=True, help="file of NB201 cell strings")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=128)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    start = time.perf_counter()
    train = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255
    train_labels = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"))
    test = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
    read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz"))
    mean, std = train.mean(), train.std()
    pick = np.random.default_rng(a.seed).permutation(len(train))[:a.batch_size]
    batch = F.pad(torch.from_numpy((train[pick] - mean) / std).unsqueeze(1), (2, 2, 2, 2))
    classes = int(train_labels.max()) + 1
    assert test.shape[1:] == train.shape[1:]
    archs = [line.strip() for line in open(a.archs) if line.strip()]
    best = max(((naswot_score(NB201Network(arch, 1, classes), batch), arch) for arch in archs), key=lambda t: t[0])
    print(f"torch naswot: {len(archs)} cells scored in {time.perf_counter() - start:.2f} s after import; "
          f"chose {best[1]} (score {best[0]:.3f})")


if __name__ == "__main__":
    main()
