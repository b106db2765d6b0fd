"""One NAS-Bench-201 supernet weight step in PyTorch (CPU), the same supernet as SwiftNAS's
NB201Supernet: stem conv3x3 + BN, three stages of N cells with a mixed op (none, skip,
conv1x1, conv3x3, avg-pool3x3; ReLU-conv-BN units with non-affine BN) on each of six edges,
residual reductions, BN + ReLU + global pool + linear. Times forward + backward + gradient
clipping + SGD-momentum update, relaxed (softmax-weighted sum of all ops) and single path
(one random op per edge), median of --steps after --warmup, --threads threads; both memory
layouts (NCHW and channels-last) are timed and the faster is reported for each mode.
"""
import argparse, random, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


class ReLUConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, pad, affine):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, k, stride, pad, bias=False),
                                nn.BatchNorm2d(cout, affine=affine))

    def forward(self, x):
        return self.op(x)


class MixedOp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv3x3 = ReLUConvBN(c, c, 3, 1, 1, False)
        self.conv1x1 = ReLUConvBN(c, c, 1, 1, 0, False)

    def op(self, x, k):
        if k == 0: return None
        if k == 1: return x
        if k == 2: return self.conv1x1(x)
        if k == 3: return self.conv3x3(x)
        return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)

    def forward(self, x, weights=None, k=None):
        if k is not None:
            return self.op(x, k)
        out = None
        for j in range(1, 5):
            y = self.op(x, j) * weights[j]
            out = y if out is None else out + y
        return out


EDGES = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]


class Cell(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.edges = nn.ModuleList([MixedOp(c) for _ in EDGES])

    def forward(self, x, weights=None, path=None):
        nodes = [x]
        for node in range(1, 4):
            s = None
            for e, (to, frm) in enumerate(EDGES):
                if to != node or nodes[frm] is None: continue
                y = self.edges[e](nodes[frm], weights[e] if weights is not None else None,
                                  path[e] if path is not None else None)
                if y is None: continue
                s = y if s is None else s + y
            nodes.append(s)
        return nodes[3] if nodes[3] is not None else torch.zeros_like(x)


class Reduction(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.a = ReLUConvBN(cin, cout, 3, 2, 1, True)
        self.b = ReLUConvBN(cout, cout, 3, 1, 1, True)
        self.short = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.b(self.a(x)) + self.short(F.avg_pool2d(x, 2, 2))


class Supernet(nn.Module):
    def __init__(self, c, n, classes=10, cin=1):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        blocks, ch = [], c
        for stage in range(3):
            if stage > 0:
                blocks.append(Reduction(ch, 2 * ch)); ch *= 2
            blocks += [Cell(ch) for _ in range(n)]
        self.blocks = nn.ModuleList(blocks)
        self.last = nn.BatchNorm2d(ch)
        self.classifier = nn.Linear(ch, classes)

    def forward(self, x, weights=None, path=None):
        h = self.stem(x)
        for b in self.blocks:
            h = b(h, weights, path) if isinstance(b, Cell) else b(h)
        h = F.relu(self.last(h))
        return self.classifier(h.mean((2, 3)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells", type=int, default=1)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    random.seed(0)
    results = {}
    for layout in (torch.contiguous_format, torch.channels_last):
        torch.manual_seed(0)
        random.seed(0)
        net = Supernet(a.channels, a.cells).to(memory_format=layout)
        opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
        x = torch.randn(a.batch, 1, a.size, a.size).to(memory_format=layout)
        y = torch.randint(0, 10, (a.batch,))
        weights = F.softmax(1e-3 * torch.randn(6, 5), dim=-1)

        def step(**mode):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x, **mode), y)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5)
            opt.step()

        def median(make_mode):
            for _ in range(a.warmup): step(**make_mode())
            times = []
            for _ in range(a.steps):
                m = make_mode()
                t = time.perf_counter(); step(**m); times.append((time.perf_counter() - t) * 1e3)
            return statistics.median(times)

        name = "nchw" if layout == torch.contiguous_format else "channels_last"
        results[name] = (median(lambda: {"weights": weights}),
                         median(lambda: {"path": [random.randrange(5) for _ in range(6)]}))
    weighted = min(r[0] for r in results.values())
    path = min(r[1] for r in results.values())
    detail = " ".join(f"{k}_weighted_ms={v[0]:.3f} {k}_path_ms={v[1]:.3f}" for k, v in results.items())
    print(f"torch {torch.__version__} supernet step C={a.channels} N={a.cells} {a.size}x{a.size} batch {a.batch} "
          f"threads {a.threads}: weighted_ms={weighted:.3f} path_ms={path:.3f} ({detail})")


if __name__ == "__main__":
    main()
