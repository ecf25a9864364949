#!/usr/bin/python3
"""The same U-Net and the same training step as `unet bench`, in PyTorch, printing the same
JSON. Debian's python3-torch (CPU) here; any CUDA PyTorch on a GPU machine.

Usage: pytorch_reference.py [--base 32] [--size 256] [--batch 4] [--device cpu|cuda]
                            [--threads 2] [--steps N] [--infer-iters N] [--json FILE]
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
from make_golden import ClassicUNet, ReferenceUNet  # noqa: E402  (the models the golden tests use)


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=int, default=32)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--infer-iters", type=int, default=0)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = a.device
    steps = a.steps or (5 if dev == "cpu" else 30)
    iters = a.infer_iters or (5 if dev == "cpu" else 50)
    model = (ClassicUNet(3, 1, 64) if a.base == 64 else ReferenceUNet(3, 1, a.base)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(a.batch, 3, a.size, a.size, generator=g) * 2 - 1).to(dev)
    t = (torch.rand(a.batch, 1, a.size, a.size, generator=g) > 0.66).float().to(dev)

    def step():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x), t)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    for _ in range(a.warmup):
        step()
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(dev)
    train_sps = a.batch * steps / (time.perf_counter() - t0)

    model.eval()
    with torch.no_grad():
        x1 = (torch.rand(1, 3, a.size, a.size, generator=g) * 2 - 1).to(dev)
        for _ in range(2):
            model(x1).cpu()
        t0 = time.perf_counter()
        for _ in range(iters):
            model(x1).cpu()
        ms_b1 = (time.perf_counter() - t0) * 1e3 / iters
        x16 = (torch.rand(16, 3, a.size, a.size, generator=g) * 2 - 1).to(dev)
        model(x16).cpu()
        reps = max(1, iters // 4)
        t0 = time.perf_counter()
        for _ in range(reps):
            model(x16).cpu()
        ips_b16 = 16 * reps / (time.perf_counter() - t0)

    with tempfile.NamedTemporaryFile(suffix=".pt") as f:
        torch.save(model.state_dict(), f.name)
        file_mb = os.path.getsize(f.name) / (1024 * 1024)
    out = {
        "engine": "pytorch " + torch.__version__,
        "device": dev,
        "base": a.base,
        "size": a.size,
        "batch": a.batch,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_samples_per_s": train_sps,
        "infer_ms_per_image_b1": ms_b1,
        "infer_images_per_s_b16": ips_b16,
        "peak_host_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "peak_device_mb": torch.cuda.max_memory_allocated() / 2**20 if dev == "cuda" else 0.0,
        "model_file_mb": file_mb,
    }
    text = json.dumps(out, indent=2)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
