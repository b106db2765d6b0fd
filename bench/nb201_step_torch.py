"""PyTorch peer of `swiftnas bench-step --model nb201`: full training steps (forward,
cross-entropy, backward, SGD with momentum) of one NAS-Bench-201 network on random images, on CPU.

Times four ways of running the same network: eager NCHW, eager channels-last, and
`torch.compile` (inductor, default mode) of the model in NCHW and in channels-last. Each is timed
--repeats times (medians of --steps steps after --warmup; a compiled model is compiled once,
before its first timing) and the fastest median is printed, in milliseconds, as
bench/nb201_step.sh does for SwiftNAS. `torch_compiled_ms` is the faster of the two compiled
layouts.
"""
import argparse
import time

import torch

from naswot_torch import NB201Network
from torch_timing import median_step_ms, sgd_step_setup


def make(arch, c, n, batch, channels_last):
    torch.manual_seed(0)
    return sgd_step_setup(NB201Network(arch, 3, 10, c=c, n=n), batch, channels_last)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True, help="NB201 cell string")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    args = (a.arch, a.channels, a.cells, a.batch_size)
    eager = {layout: make(*args, layout) for layout in (False, True)}
    compiled = {}
    t0 = time.perf_counter()
    for layout in (False, True):
        model, x, y, opt = make(*args, layout)
        compiled[layout] = (torch.compile(model), x, y, opt)
        # The first steps compile the forward and backward graphs.
        median_step_ms(*compiled[layout], 1, 3)
    compile_s = time.perf_counter() - t0
    times = {name: [] for name in ("nchw", "cl", "comp_nchw", "comp_cl")}
    for _ in range(a.repeats):
        times["nchw"].append(median_step_ms(*eager[False], a.steps, a.warmup))
        times["cl"].append(median_step_ms(*eager[True], a.steps, a.warmup))
        times["comp_nchw"].append(median_step_ms(*compiled[False], a.steps, a.warmup))
        times["comp_cl"].append(median_step_ms(*compiled[True], a.steps, a.warmup))
    best = {k: min(v) for k, v in times.items()}
    print(f"torch_eager_nchw_ms={best['nchw']:.3f} torch_eager_channels_last_ms={best['cl']:.3f} "
          f"torch_compiled_nchw_ms={best['comp_nchw']:.3f} torch_compiled_channels_last_ms={best['comp_cl']:.3f} "
          f"torch_compiled_ms={min(best['comp_nchw'], best['comp_cl']):.3f} compile_s={compile_s:.1f}")

if __name__ == "__main__":
    main()
