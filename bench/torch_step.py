"""PyTorch peer of `swiftnas bench-step`: the reference CNN's full training step on CPU.

Prints the median step time (ms) for NCHW and channels-last layouts, eager and under
`torch.compile` (inductor; compiled during its warm-up), and the eager runs' peak RSS.
"""
import argparse
import resource

import torch
import torch.nn as nn

from torch_timing import median_step_ms, sgd_step_setup


def reference_cnn():
    layers = []
    c = 3
    for _ in range(3):
        layers += [nn.Conv2d(c, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU()]
        c = 16
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def time_steps(channels_last, batch, steps, warmup, compiled=False):
    torch.manual_seed(0)
    model, x, y, opt = sgd_step_setup(reference_cnn(), batch, channels_last)
    forward = torch.compile(model) if compiled else model
    # Compiling happens in the first warm-up steps.
    return median_step_ms(forward, x, y, opt, steps, max(warmup, 3) if compiled else warmup)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    nchw = time_steps(False, a.batch_size, a.steps, a.warmup)
    cl = time_steps(True, a.batch_size, a.steps, a.warmup)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    compiled = [time_steps(layout, a.batch_size, a.steps, a.warmup, compiled=True) for layout in (False, True)]
    print(f"torch_nchw_ms={nchw:.3f} torch_channels_last_ms={cl:.3f} torch_step_ms={min(nchw, cl):.3f} "
          f"torch_compiled_nchw_ms={compiled[0]:.3f} torch_compiled_channels_last_ms={compiled[1]:.3f} "
          f"torch_compiled_ms={min(compiled):.3f} peak_rss_mb={peak:.1f}")


if __name__ == "__main__":
    main()
