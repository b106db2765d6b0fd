"""Reference values for the NASNN tests, computed with PyTorch 2.13 (CPU, float32).

Writes Tests/NASNNTests/Fixtures/nn_fixtures.json (optimizer trajectories, schedules,
multi-head attention) and torch_written.safetensors (a file from the reference writer).
Run: python3 scripts/make_nn_fixtures.py
"""
import json
import pathlib

import torch
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "NASNNTests" / "Fixtures"
OUT.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def optimizer_case(name, make):
    p0 = torch.randn(6)
    grads = [torch.randn(6) for _ in range(4)]
    p = p0.clone().requires_grad_(True)
    opt = make([p])
    for g in grads:
        p.grad = g.clone()
        opt.step()
    return {"name": name, "initial": flat(p0), "grads": [flat(g) for g in grads], "final": flat(p)}


fixtures = {
    "optimizers": [
        optimizer_case("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1)),
        optimizer_case("sgd_momentum_wd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=5e-4)),
        optimizer_case("sgd_nesterov", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)),
        optimizer_case("sgd_dampening", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, dampening=0.3)),
        optimizer_case("adam", lambda ps: torch.optim.Adam(ps, lr=0.01)),
        optimizer_case("adam_l2", lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1)),
        optimizer_case("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
    ]
}

# Cosine annealing and step decay, per step.
p = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([p], lr=0.1)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
cos = []
for _ in range(12):
    cos.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
opt = torch.optim.SGD([p], lr=0.1)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
steps = []
for _ in range(10):
    steps.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
fixtures["cosine"] = {"base": 0.1, "minimum": 0.001, "total": 10, "lrs": cos}
fixtures["step"] = {"base": 0.1, "step_size": 3, "gamma": 0.5, "lrs": steps}

# Multi-head attention, batch_first, with gradients.
mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
q = torch.randn(2, 3, 8, requires_grad=True)
kv = torch.randn(2, 4, 8, requires_grad=True)
out, _ = mha(q, kv, kv, need_weights=False)
r = torch.randn_like(out)
(out * r).sum().backward()
fixtures["attention"] = {
    "dim": 8, "heads": 2,
    "in_proj_weight": flat(mha.in_proj_weight), "in_proj_bias": flat(mha.in_proj_bias),
    "out_proj_weight": flat(mha.out_proj.weight), "out_proj_bias": flat(mha.out_proj.bias),
    "query": flat(q), "query_shape": list(q.shape), "key_value": flat(kv), "key_value_shape": list(kv.shape),
    "output": flat(out), "upstream": flat(r),
    "grad_query": flat(q.grad), "grad_key_value": flat(kv.grad),
    "grad_in_proj_weight": flat(mha.in_proj_weight.grad), "grad_out_proj_weight": flat(mha.out_proj.weight.grad),
}

(OUT / "nn_fixtures.json").write_text(json.dumps(fixtures))
save_file({"layer.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3),
           "layer.bias": torch.tensor([0.5, -1.5], dtype=torch.float32),
           "half": torch.tensor([1.0, 2.5], dtype=torch.float16),
           "double": torch.tensor([3.25], dtype=torch.float64)},
          str(OUT / "torch_written.safetensors"), metadata={"source": "torch"})
print("wrote", OUT)
