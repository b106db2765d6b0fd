"""Checks a `swiftnas export` folder: runs the exported model in onnxruntime and in PyTorch on the
sample images SwiftNAS wrote, and compares with SwiftNAS's own outputs.

    .venv/bin/python3 scripts/check_export.py runs/export
    -> onnx_max_abs_diff=<a> torch_max_abs_diff=<b>   (exit 1 if either is above 1e-4)
"""
import importlib.util
import sys

import numpy as np
import onnxruntime
import safetensors.torch
import torch

folder = sys.argv[1]
sample = safetensors.torch.load_file(f"{folder}/sample.safetensors")
images, expected = sample["input"], sample["output"].numpy()

spec = importlib.util.spec_from_file_location("model", f"{folder}/model.py")
model = importlib.util.module_from_spec(spec)
spec.loader.exec_module(model)
net = model.Model().eval()
net.load_state_dict(safetensors.torch.load_file(f"{folder}/model.safetensors"))
with torch.no_grad():
    torch_out = net(images).numpy()

session = onnxruntime.InferenceSession(f"{folder}/model.onnx", providers=["CPUExecutionProvider"])
onnx_out = session.run(None, {"input": images.numpy()})[0]

onnx_diff = float(np.abs(onnx_out - expected).max())
torch_diff = float(np.abs(torch_out - expected).max())
print(f"onnx_max_abs_diff={onnx_diff:.3g} torch_max_abs_diff={torch_diff:.3g}")
sys.exit(0 if max(onnx_diff, torch_diff) <= 1e-4 else 1)
