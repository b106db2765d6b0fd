"""PyTorch peer of `swiftnas bench-step --model vit`: one full ViT training step on CPU.

The ViT of scripts/torch_vit.py (the one SwiftNAS's VisionTransformer is checked against) on a
batch of random 28×28×1 images, cross-entropy, Adam 1e-3. Times eager mode and, where it
compiles on this machine, torch.compile (inductor); prints both medians, the faster as
torch_step_ms, and the peak RSS.
"""
import argparse
import pathlib
import resource
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "scripts"))
from torch_vit import ViT  # noqa: E402

from torch_timing import median_step_ms  # noqa: E402


def time_steps(compiled, a):
    torch.manual_seed(0)
    model = ViT(height=28, width=28, channels=1, classes=10, patch=a.patch, dim=a.dim, depth=a.depth, heads=a.heads,
                mlp_ratio=a.mlp_ratio, norm_first=True)
    x = torch.randn(a.batch_size, 28, 28, 1)
    y = torch.arange(a.batch_size) % 10
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return median_step_ms(torch.compile(model) if compiled else model, x, y, opt, a.steps, a.warmup)


def main():
    p = argparse.ArgumentParser()
    for name, default in [("threads", 2), ("batch-size", 128), ("steps", 30), ("warmup", 5), ("patch", 7), ("dim", 64),
                          ("depth", 4), ("heads", 4), ("mlp-ratio", 4)]:
        p.add_argument(f"--{name}", type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    eager = time_steps(False, a)
    try:
        compiled = time_steps(True, a)
    except Exception as e:  # no C++ toolchain or an inductor failure: eager is the peer
        print(f"torch.compile unavailable: {type(e).__name__}: {str(e).splitlines()[0][:200]}", file=sys.stderr)
        compiled = float("inf")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch_eager_ms={eager:.3f} torch_compiled_ms={compiled:.3f} torch_step_ms={min(eager, compiled):.3f} peak_rss_mb={peak:.1f}")


if __name__ == "__main__":
    main()
