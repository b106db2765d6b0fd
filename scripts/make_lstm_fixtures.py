"""Reference values for the LSTM tests, computed with PyTorch 2.13 (CPU, float32).

Writes Tests/LearnedSearchTests/Fixtures/lstm_fixtures.json: a torch.nn.LSTM (one layer,
batch_first) with its weights, an input sequence and initial state, the outputs, the final
(h, c), and the gradients of sum(output * R) + sum(h_n * Rh) + sum(c_n * Rc) with respect to the
input, the initial state and every weight.
Run: python3 scripts/make_lstm_fixtures.py
"""
import json
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "LearnedSearchTests" / "Fixtures"
OUT.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


B, T, I, H = 3, 5, 4, 6
lstm = torch.nn.LSTM(I, H, num_layers=1, batch_first=True)
x = torch.randn(B, T, I, requires_grad=True)
h0 = torch.randn(1, B, H, requires_grad=True)
c0 = torch.randn(1, B, H, requires_grad=True)
out, (hn, cn) = lstm(x, (h0, c0))
r = torch.randn(B, T, H)
rh = torch.randn(B, H)
rc = torch.randn(B, H)
loss = (out * r).sum() + (hn[0] * rh).sum() + (cn[0] * rc).sum()
loss.backward()

fixtures = {
    "batch": B, "steps": T, "input_size": I, "hidden_size": H,
    "weight_ih": flat(lstm.weight_ih_l0), "weight_hh": flat(lstm.weight_hh_l0),
    "bias_ih": flat(lstm.bias_ih_l0), "bias_hh": flat(lstm.bias_hh_l0),
    "x": flat(x), "h0": flat(h0), "c0": flat(c0),
    "output": flat(out), "h_n": flat(hn), "c_n": flat(cn),
    "r": flat(r), "rh": flat(rh), "rc": flat(rc),
    "grad_x": flat(x.grad), "grad_h0": flat(h0.grad), "grad_c0": flat(c0.grad),
    "grad_weight_ih": flat(lstm.weight_ih_l0.grad), "grad_weight_hh": flat(lstm.weight_hh_l0.grad),
    "grad_bias_ih": flat(lstm.bias_ih_l0.grad), "grad_bias_hh": flat(lstm.bias_hh_l0.grad),
}
(OUT / "lstm_fixtures.json").write_text(json.dumps(fixtures))
print("wrote", OUT / "lstm_fixtures.json")
