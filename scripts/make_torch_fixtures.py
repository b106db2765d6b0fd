#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures used by Tests/NASTensorTests (golden tests).

Requires torch==2.13.0+cpu. Run from anywhere:

    python3 scripts/make_torch_fixtures.py

Every fixture is a JSON file `{"cases": [{"name", "meta", "tensors"}]}` where each tensor is
`{"shape": [...], "data": [flat float32 values, row-major]}`. Layouts are already converted to
SwiftNAS's conventions, so the Swift tests compare element by element:

* images are channels-last `[N, H, W, C]` (PyTorch: `[N, C, H, W]`);
* conv weights are `[Cout, KH, KW, Cin/groups]` (PyTorch: `[Cout, Cin/groups, KH, KW]`);
* transposed-conv weights are `[Cin, KH, KW, Cout/groups]` (PyTorch: `[Cin, Cout/groups, KH, KW]`).

Gradients are those of the scalar `L = sum(output * R)` for the stored random `R` (in SwiftNAS
layout), except for cross-entropy whose output already is a scalar loss (seeded with 1).
"""
import json
from pathlib import Path

import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent.parent / "Tests" / "NASTensorTests" / "Fixtures"

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def enc(t):
    t = t.detach().to(torch.float32).contiguous()
    # %.9g round-trips any float32 exactly and keeps the files small.
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.flatten().tolist()]}


def nhwc(t):
    return t.permute(0, 2, 3, 1)


def nchw(t):
    return t.permute(0, 3, 1, 2)


def conv_weight_ours(w):
    # [Cout, Cin/g, KH, KW] -> [Cout, KH, KW, Cin/g]; transposed conv: [Cin, Cout/g, KH, KW] -> [Cin, KH, KW, Cout/g]
    return w.permute(0, 2, 3, 1)


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def write(name, cases):
    path = OUT / f"{name}.json"
    with open(path, "w") as f:
        json.dump({"generator": "scripts/make_torch_fixtures.py", "torch": torch.__version__, "cases": cases},
                  f, separators=(",", ":"))
    print(f"{path.relative_to(OUT.parent.parent.parent)}: {path.stat().st_size} bytes, {len(cases)} cases")


def case(name, meta, **tensors):
    return {"name": name, "meta": meta, "tensors": {k: enc(v) for k, v in tensors.items()}}


def image_case(name, meta, x_nchw, fn, **extra_leaves):
    """Runs fn(x, **leaves) on NCHW data; stores NHWC input/output/R and all gradients."""
    x = leaf(x_nchw)
    leaves = {k: leaf(v) for k, v in extra_leaves.items()}
    y = fn(x, **leaves)
    r = torch.randn(nhwc(y).shape)
    y.backward(nchw(r))
    tensors = {"x": nhwc(x), "y": nhwc(y), "r": r, "gx": nhwc(x.grad)}
    for k, v in leaves.items():
        is_weight = v.dim() == 4
        tensors[k] = conv_weight_ours(v) if is_weight else v
        tensors["g" + k] = conv_weight_ours(v.grad) if is_weight else v.grad
    return case(name, meta, **tensors)


def conv2d_cases():
    torch.manual_seed(1)
    specs = [
        # name, N, Cin, H, W, Cout, K, stride, padding, dilation, groups
        ("plain", 2, 3, 6, 5, 4, 3, 1, 0, 1, 1),
        ("stride2_pad1", 2, 3, 7, 6, 4, 3, 2, 1, 1, 1),
        ("dilation2", 1, 2, 7, 7, 3, 3, 1, 1, 2, 1),
        ("groups2", 2, 4, 5, 5, 6, 3, 1, 1, 1, 2),
        ("depthwise", 2, 4, 6, 6, 4, 3, 1, 1, 1, 4),
        ("depthwise_stride2", 1, 3, 7, 7, 3, 3, 2, 1, 1, 3),
        ("depthwise_multiplier2", 1, 2, 5, 5, 4, 3, 1, 1, 1, 2),
        ("pointwise", 2, 5, 4, 3, 3, 1, 1, 0, 1, 1),
        ("kernel5_stride2_pad2", 1, 2, 8, 8, 3, 5, 2, 2, 1, 1),
    ]
    cases = []
    for name, n, cin, h, w, cout, k, s, p, d, g in specs:
        x = torch.randn(n, cin, h, w)
        weight = torch.randn(cout, cin // g, k, k) * 0.5
        bias = torch.randn(cout)
        meta = {"stride": s, "padding": p, "dilation": d, "groups": g}
        cases.append(image_case(name, meta, x,
                                lambda x, weight, bias: F.conv2d(x, weight, bias, s, p, d, g),
                                weight=weight, bias=bias))
    write("conv2d", cases)


def conv_transpose2d_cases():
    torch.manual_seed(2)
    specs = [
        # name, N, Cin, H, W, Cout, K, stride, padding, outputPadding, dilation, groups
        ("stride2_pad1_outpad1", 2, 3, 3, 4, 2, 3, 2, 1, 1, 1, 1),
        ("groups2_stride2", 1, 4, 3, 3, 6, 3, 2, 0, 0, 1, 2),
        ("stride1_pad1", 2, 2, 4, 4, 3, 3, 1, 1, 0, 1, 1),
        ("kernel2_stride2", 1, 3, 3, 3, 2, 2, 2, 0, 0, 1, 1),
        ("dilation2_outpad1", 1, 2, 3, 3, 2, 3, 2, 1, 1, 2, 1),
    ]
    cases = []
    for name, n, cin, h, w, cout, k, s, p, op, d, g in specs:
        x = torch.randn(n, cin, h, w)
        weight = torch.randn(cin, cout // g, k, k) * 0.5
        bias = torch.randn(cout)
        meta = {"stride": s, "padding": p, "outputPadding": op, "dilation": d, "groups": g}
        cases.append(image_case(
            name, meta, x,
            lambda x, weight, bias: F.conv_transpose2d(x, weight, bias, s, p, op, g, d),
            weight=weight, bias=bias))
    write("conv_transpose2d", cases)


def distinct_image(n, c, h, w):
    # A random permutation of well-separated values: no ties inside any pooling window.
    count = n * c * h * w
    return (torch.randperm(count).float() / count * 4 - 2).reshape(n, c, h, w)


def pooling_cases():
    torch.manual_seed(3)
    cases = []
    for k, s, p in [(3, 2, 1), (2, 2, 0), (3, 1, 1), (3, 2, 0)]:
        x = distinct_image(1, 3, 7, 6)
        cases.append(image_case(f"max_k{k}_s{s}_p{p}", {"kind": "max", "kernel": k, "stride": s, "padding": p}, x,
                                lambda x: F.max_pool2d(x, k, s, p)))
    for include in [True, False]:
        for k, s, p in [(3, 1, 1), (3, 2, 1), (2, 2, 0), (2, 2, 1)]:
            x = torch.randn(1, 3, 7, 6)
            cases.append(image_case(
                f"avg_k{k}_s{s}_p{p}_{'incl' if include else 'excl'}",
                {"kind": "avg", "kernel": k, "stride": s, "padding": p, "countIncludePad": include}, x,
                lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=include)))
    for (h, w), (oh, ow) in [((7, 5), (3, 2)), ((6, 6), (4, 4)), ((5, 7), (1, 1)), ((4, 4), (2, 2)), ((3, 3), (5, 4))]:
        x = torch.randn(1, 3, h, w)
        cases.append(image_case(f"adaptive_{h}x{w}_to_{oh}x{ow}", {"kind": "adaptive", "outH": oh, "outW": ow}, x,
                                lambda x: F.adaptive_avg_pool2d(x, (oh, ow))))
    write("pooling", cases)


def batch_norm_cases():
    torch.manual_seed(4)
    cases = []
    for training in [True, False]:
        n, c, h, w = 3, 4, 3, 2
        x = leaf(torch.randn(n, c, h, w) * 2 + 0.5)
        weight = leaf(torch.randn(c))
        bias = leaf(torch.randn(c))
        running_mean = torch.randn(c) * 0.3
        running_var = torch.rand(c) + 0.5
        rm0, rv0 = running_mean.clone(), running_var.clone()
        y = F.batch_norm(x, running_mean, running_var, weight, bias, training=training, momentum=0.1, eps=1e-5)
        r = torch.randn(nhwc(y).shape)
        y.backward(nchw(r))
        cases.append(case("train" if training else "eval", {"training": training, "momentum": 0.1, "eps": 1e-5},
                          x=nhwc(x), weight=weight, bias=bias, runningMean=rm0, runningVar=rv0,
                          y=nhwc(y), r=r, gx=nhwc(x.grad), gweight=weight.grad, gbias=bias.grad,
                          runningMeanAfter=running_mean, runningVarAfter=running_var))
    # BatchNorm1d-style [N, C] in training mode.
    x = leaf(torch.randn(6, 3))
    weight, bias = leaf(torch.randn(3)), leaf(torch.randn(3))
    running_mean, running_var = torch.zeros(3), torch.ones(3)
    y = F.batch_norm(x, running_mean, running_var, weight, bias, training=True, momentum=0.1, eps=1e-5)
    r = torch.randn(y.shape)
    y.backward(r)
    cases.append(case("train_2d", {"training": True, "momentum": 0.1, "eps": 1e-5},
                      x=x, weight=weight, bias=bias, runningMean=torch.zeros(3), runningVar=torch.ones(3),
                      y=y, r=r, gx=x.grad, gweight=weight.grad, gbias=bias.grad,
                      runningMeanAfter=running_mean, runningVarAfter=running_var))
    write("batch_norm", cases)


def layer_norm_cases():
    torch.manual_seed(5)
    x = leaf(torch.randn(2, 3, 8) * 1.5 + 0.3)
    weight, bias = leaf(torch.randn(8)), leaf(torch.randn(8))
    y = F.layer_norm(x, (8,), weight, bias, eps=1e-5)
    r = torch.randn(y.shape)
    y.backward(r)
    write("layer_norm", [case("affine", {"eps": 1e-5}, x=x, weight=weight, bias=bias, y=y, r=r,
                              gx=x.grad, gweight=weight.grad, gbias=bias.grad)])


def softmax_cases():
    torch.manual_seed(6)
    cases = []
    for name, fn in [("softmax", lambda t: F.softmax(t, dim=-1)), ("log_softmax", lambda t: F.log_softmax(t, dim=-1))]:
        x = leaf(torch.randn(3, 2, 7) * 2)
        y = fn(x)
        r = torch.randn(y.shape)
        y.backward(r)
        cases.append(case(name, {}, x=x, y=y, r=r, gx=x.grad))
    write("softmax", cases)


def cross_entropy_cases():
    torch.manual_seed(7)
    cases = []
    for ls in [0.0, 0.1]:
        logits = leaf(torch.randn(6, 5) * 2)
        targets = torch.randint(0, 5, (6,))
        loss = F.cross_entropy(logits, targets, label_smoothing=ls)
        loss.backward()
        cases.append(case(f"label_smoothing_{ls}", {"labelSmoothing": ls, "targets": targets.tolist()},
                          logits=logits, loss=loss, glogits=logits.grad))
    write("cross_entropy", cases)


def gelu_cases():
    torch.manual_seed(8)
    x = leaf(torch.linspace(-5, 5, 41) + torch.randn(41) * 0.05)
    y = F.gelu(x)
    r = torch.randn(y.shape)
    y.backward(r)
    write("gelu", [case("erf", {}, x=x, y=y, r=r, gx=x.grad)])


def attention_cases():
    torch.manual_seed(9)
    b, length, e, heads = 2, 5, 8, 2
    mha = torch.nn.MultiheadAttention(e, heads, dropout=0.0, bias=True, batch_first=True)
    with torch.no_grad():
        mha.in_proj_bias.normal_(0, 0.2)
        mha.out_proj.bias.normal_(0, 0.2)
    x = leaf(torch.randn(b, length, e))
    y, _ = mha(x, x, x, need_weights=False)
    r = torch.randn(y.shape)
    y.backward(r)
    write("attention", [case("self_attention", {"heads": heads},
                             x=x, inProjWeight=mha.in_proj_weight, inProjBias=mha.in_proj_bias,
                             outProjWeight=mha.out_proj.weight, outProjBias=mha.out_proj.bias,
                             y=y, r=r, gx=x.grad, ginProjWeight=mha.in_proj_weight.grad,
                             ginProjBias=mha.in_proj_bias.grad, goutProjWeight=mha.out_proj.weight.grad,
                             goutProjBias=mha.out_proj.bias.grad)])


def main():
    assert torch.__version__.startswith("2.13.0"), f"fixtures are pinned to torch 2.13.0, found {torch.__version__}"
    OUT.mkdir(parents=True, exist_ok=True)
    conv2d_cases()
    conv_transpose2d_cases()
    pooling_cases()
    batch_norm_cases()
    layer_norm_cases()
    softmax_cases()
    cross_entropy_cases()
    gelu_cases()
    attention_cases()
    total = sum(p.stat().st_size for p in OUT.glob("*.json"))
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
