"""PyTorch peer of `swiftnas bench-step --model nb201`: full training steps (forward,
cross-entropy, backward, SGD with momentum) of one NAS-Bench-201 network on random images, on CPU.

Times three ways of running the same network: eager NCHW, eager channels-last, and
`torch.compile` (inductor, default mode) of the model in NCHW. Prints the median step time of
each in milliseconds.
"""
import argparse
import time

import torch

from naswot_torch import NB201Network
from torch_timing import median_step_ms


def make(arch, c, n, batch, channels_last):
    torch.manual_seed(0)
    model = NB201Network(arch, 3, 10, c=c, n=n)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.arange(batch) % 10
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return model, x, y, opt


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True, help="NB201 cell string")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    args = (a.arch, a.channels, a.cells, a.batch_size)
    nchw = median_step_ms(*make(*args, False), a.steps, a.warmup)
    cl = median_step_ms(*make(*args, True), a.steps, a.warmup)
    model, x, y, opt = make(*args, False)
    t0 = time.perf_counter()
    compiled = torch.compile(model)
    # The first steps compile the forward and backward graphs; they are the warm-up.
    compiled_ms = median_step_ms(compiled, x, y, opt, a.steps, max(a.warmup, 3))
    compile_s = time.perf_counter() - t0
    print(f"torch_eager_nchw_ms={nchw:.3f} torch_eager_channels_last_ms={cl:.3f} "
          f"torch_compiled_ms={compiled_ms:.3f} compile_and_time_s={compile_s:.1f}")


if __name__ == "__main__":
    main()
