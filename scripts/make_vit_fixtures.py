"""Reference values for the transformer tests, computed with PyTorch 2.13 (CPU, float32).

A tiny Vision Transformer (8×8×1 images, 4×4 patches, width 8, 2 heads, 2 blocks of
nn.TransformerEncoderLayer with GELU and an MLP of 16, 3 classes), once with Pre-LN blocks and a
final layer norm, once with Post-LN blocks. For each: the weights under SwiftNAS's parameter
names (convolution weights as [out, kh, kw, in], images channels-last), a batch of two images,
the logits, and the gradients of Σ logits·upstream with respect to the images and to some
weights. Writes Tests/NASNNTests/Fixtures/vit_fixtures.json.
Run: .venv/bin/python3 scripts/make_vit_fixtures.py
"""
import json
import pathlib

import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from torch_vit import ViT  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "NASNNTests" / "Fixtures"
torch.manual_seed(0)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def tiny_vit(norm_first):
    return ViT(height=8, width=8, channels=1, classes=3, patch=4, dim=8, depth=2, heads=2, mlp_ratio=2,
               norm_first=norm_first)


def our_name(name):
    return (name.replace("patch.", "patchEmbedding.").replace("self_attn.in_proj_weight", "selfAttention.inProjWeight")
            .replace("self_attn.in_proj_bias", "selfAttention.inProjBias").replace("self_attn.out_proj", "selfAttention.outProj")
            .replace("cls", "classToken").replace("pos", "positionEmbedding"))


def our_layout(name, t):
    return t.permute(0, 2, 3, 1) if name == "patch.weight" else t


def case(norm_first):
    model = tiny_vit(norm_first)
    # Larger class token and position embeddings than ViT's init, so they matter in the check.
    with torch.no_grad():
        model.cls.normal_()
        model.pos.normal_()
    model.train()
    x = torch.randn(2, 8, 8, 1, requires_grad=True)
    out = model(x)
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    weights = {our_name(n): flat(our_layout(n, p)) for n, p in model.named_parameters()}
    shapes = {our_name(n): list(our_layout(n, p).shape) for n, p in model.named_parameters()}
    grads = {our_name(n): flat(our_layout(n, model.get_parameter(n).grad))
             for n in ["patch.weight", "cls", "pos", "blocks.0.self_attn.in_proj_weight", "blocks.1.linear1.weight",
                       "blocks.1.norm2.weight", "head.weight"]}
    return {"norm_first": norm_first, "weights": weights, "shapes": shapes, "input": flat(x), "output": flat(out),
            "upstream": flat(upstream), "grad_input": flat(x.grad), "grads": grads}


json.dump({"cases": [case(True), case(False)]}, open(OUT / "vit_fixtures.json", "w"))
print("wrote", OUT / "vit_fixtures.json")
