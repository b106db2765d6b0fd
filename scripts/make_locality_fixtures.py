"""Reference values for GLiT's locality module, computed with PyTorch 2.13 (CPU, float32).

The module on [B, C, T] token sequences: Conv1d(D, hidden, 1, bias=False), BatchNorm1d(hidden),
SiLU, Conv1d(hidden, hidden, K, padding=K // 2, groups=hidden, bias=False), BatchNorm1d(hidden),
SiLU, Conv1d(hidden, out, 1, bias=False). SwiftNAS takes tokens as [B, T, D]; the weights are
written under its names (pointwise weights without their trailing 1, the depthwise weight as
[hidden, K]). One case in training mode (batch statistics; the running statistics after the
pass), one in evaluation mode (set running statistics). Gradients of Σ output·upstream with
respect to the tokens and every weight. Writes Tests/NASNNTests/Fixtures/locality_fixtures.json.
Run: .venv/bin/python3 scripts/make_locality_fixtures.py
"""
import json
import pathlib

import torch
from torch import nn

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "NASNNTests" / "Fixtures"
torch.manual_seed(0)
DIM, HIDDEN, OUTPUTS, KERNEL, BATCH, TOKENS = 6, 8, 4, 5, 3, 7


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


class Locality(nn.Module):
    def __init__(self):
        super().__init__()
        self.expand = nn.Conv1d(DIM, HIDDEN, 1, bias=False)
        self.norm1 = nn.BatchNorm1d(HIDDEN)
        self.depthwise = nn.Conv1d(HIDDEN, HIDDEN, KERNEL, padding=KERNEL // 2, groups=HIDDEN, bias=False)
        self.norm2 = nn.BatchNorm1d(HIDDEN)
        self.project = nn.Conv1d(HIDDEN, OUTPUTS, 1, bias=False)

    def forward(self, tokens):                      # tokens [B, T, D]
        y = tokens.transpose(1, 2)
        y = nn.functional.silu(self.norm1(self.expand(y)))
        y = nn.functional.silu(self.norm2(self.depthwise(y)))
        return self.project(y).transpose(1, 2)


def weights(m):
    w = {"expand.weight": m.expand.weight[:, :, 0], "depthwise": m.depthwise.weight[:, 0, :],
         "project.weight": m.project.weight[:, :, 0]}
    for n in ["norm1", "norm2"]:
        bn = getattr(m, n)
        w.update({f"{n}.weight": bn.weight, f"{n}.bias": bn.bias, f"{n}.runningMean": bn.running_mean,
                  f"{n}.runningVar": bn.running_var})
    return w


def case(training):
    m = Locality()
    with torch.no_grad():
        for bn in [m.norm1, m.norm2]:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
            if not training:
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2)
    before = {k: flat(v) for k, v in weights(m).items()}
    shapes = {k: list(v.shape) for k, v in weights(m).items()}
    m.train(training)
    x = torch.randn(BATCH, TOKENS, DIM, requires_grad=True)
    out = m(x)
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    grads = {"expand.weight": m.expand.weight.grad[:, :, 0], "depthwise": m.depthwise.weight.grad[:, 0, :],
             "project.weight": m.project.weight.grad[:, :, 0], "norm1.weight": m.norm1.weight.grad,
             "norm2.bias": m.norm2.bias.grad}
    after = {k: flat(v) for k, v in weights(m).items() if "running" in k}
    return {"training": training, "weights": before, "shapes": shapes, "input": flat(x), "output": flat(out),
            "upstream": flat(upstream), "grad_input": flat(x.grad), "grads": {k: flat(v) for k, v in grads.items()},
            "running_after": after}


OUT.mkdir(parents=True, exist_ok=True)
fixtures = {"dim": DIM, "hidden": HIDDEN, "outputs": OUTPUTS, "kernel": KERNEL, "batch": BATCH, "tokens": TOKENS,
            "cases": [case(True), case(False)]}
(OUT / "locality_fixtures.json").write_text(json.dumps(fixtures))
print("wrote", OUT / "locality_fixtures.json")
