"""The timing loop of the PyTorch peers (bench/torch_step.py, bench/vit_step_torch.py): full
training steps — forward, cross-entropy, backward, optimizer step — timed one by one."""
import time

import torch


def median_step_ms(forward, x, y, opt, steps, warmup):
    """Median milliseconds of `steps` training steps of `forward` on (x, y) after `warmup` untimed ones."""
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = loss_fn(forward(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if i >= warmup:
            times.append((t1 - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def sgd_step_setup(model, batch, channels_last):
    """A seeded batch of random 32×32×3 images with labels 0…9, the model and the batch in the
    layout asked for, and SGD with momentum 0.9 (the engine benches' step)."""
    x = torch.randn(batch, 3, 32, 32)
    y = torch.arange(batch) % 10
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return model, x, y, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
