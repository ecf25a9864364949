#!/usr/bin/python3
"""The same U-Net and the same training step as `unet bench`, in PyTorch, printing the same
JSON. Debian's python3-torch (CPU) here; any CUDA PyTorch on a GPU machine.

Usage: pytorch_reference.py [--base 32] [--size 256] [--batch 4] [--device cpu|cuda]
                            [--threads 2] [--steps N] [--infer-iters N] [--json FILE]
       pytorch_reference.py --model brats3d [--base 32] [--patch 128] [--volume 240 240 155]
                            [--batch 1] [--steps N] [--infer-iters N] ...   (as `unet bench --model brats3d`)
"""
import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
from make_golden import ClassicUNet, ReferenceUNet  # noqa: E402  (the models the golden tests use)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from torch_models import UNet3D  # noqa: E402  (the BraTS reference program's model, same state_dict names)


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def softmax_dice_loss(logits, classes, smooth=1e-5):
    """The BraTS reference program's DiceLoss: 1 - mean over classes of the soft Dice of the
    softmax against the one-hot class map, each sum over the whole batch."""
    p = torch.softmax(logits, dim=1)
    y = F.one_hot(classes.long(), p.shape[1]).movedim(-1, 1).to(p.dtype)
    dims = (0,) + tuple(range(2, p.dim()))
    dice = (2 * (p * y).sum(dims) + smooth) / (p.sum(dims) + y.sum(dims) + smooth)
    return 1 - dice.mean()


def window_starts(size, patch, overlap):
    """Tile starts along one axis, as nnU-Net (and unet/sliding_window.cpp) place them."""
    step = patch * (1 - overlap)
    count = int(math.ceil((size - patch) / step)) + 1
    if count == 1:
        return [0]
    spread = (size - patch) / (count - 1)
    return [int(round(spread * i)) for i in range(count)]  # round(): ties to even


def gaussian_map(patch, sigma_scale=1.0 / 8):
    """exp(-d^2 / (2 sigma^2)) per axis, sigma = patch / 8, d from voxel patch // 2, multiplied."""
    out = None
    for p in patch:
        d = torch.arange(p, dtype=torch.float64) - p // 2
        f = torch.exp(-d * d / (2 * (p * sigma_scale) ** 2))
        out = f if out is None else out[..., None] * f
    out = out.float()
    out[out == 0] = out[out > 0].min()
    return out


def sliding_window_classes(model, image, patch, overlap, device):
    """Whole-volume prediction of image [C, X, Y, Z]: Gaussian-weighted mean of the tiles'
    logits (zero padding centred where an axis is shorter than the patch), then the argmax."""
    size = image.shape[1:]
    pad = [max(p - s, 0) for s, p in zip(size, patch)]
    padding = []
    for extra in reversed(pad):  # F.pad takes the last axis first
        padding += [extra // 2, extra - extra // 2]
    padded = F.pad(image, padding)
    full = padded.shape[1:]
    g = gaussian_map(patch).to(device)
    logits_sum = None
    weight_sum = torch.zeros(full, device=device)
    for x0 in window_starts(full[0], patch[0], overlap):
        for y0 in window_starts(full[1], patch[1], overlap):
            for z0 in window_starts(full[2], patch[2], overlap):
                box = (slice(x0, x0 + patch[0]), slice(y0, y0 + patch[1]), slice(z0, z0 + patch[2]))
                out = model(padded[(slice(None),) + box][None].to(device))[0]
                if logits_sum is None:
                    logits_sum = torch.zeros((out.shape[0],) + tuple(full), device=device)
                logits_sum[(slice(None),) + box] += out * g
                weight_sum[box] += g
    mean = logits_sum / weight_sum
    crop = tuple(slice(extra // 2, extra // 2 + s) for extra, s in zip(pad, size))
    return mean[(slice(None),) + crop].argmax(dim=0).cpu()


def bench_3d(a):
    """`unet bench --model brats3d` in PyTorch: training on patches, whole-volume inference."""
    dev = a.device
    steps = a.steps or (2 if dev == "cpu" else 20)
    volumes = a.infer_iters or (1 if dev == "cpu" else 3)
    warmup = a.warmup if a.warmup >= 0 else 1
    batch = a.batch or 1
    p = a.patch
    model = UNet3D(4, 4, a.base, 2).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(batch, 4, p, p, p, generator=g) * 2 - 1).to(dev)
    classes = ((torch.arange(batch * p ** 3) // 97) % 4).float().reshape(batch, p, p, p).to(dev)

    def step():
        opt.zero_grad()
        loss = softmax_dice_loss(model(x), classes)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    for _ in range(warmup):
        step()
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(dev)
    train_s = time.perf_counter() - t0
    train_peak_dev = torch.cuda.max_memory_allocated() / 2**20 if dev == "cuda" else 0.0

    model.eval()
    image = torch.rand(4, *a.volume, generator=g) * 2 - 1
    tiles = math.prod(len(window_starts(max(s, p), p, 0.5)) for s in a.volume)
    with torch.no_grad():
        model((torch.rand(1, 4, p, p, p, generator=g) * 2 - 1).to(dev)).cpu()  # warm-up: every tile has this shape
        sync(dev)
        t0 = time.perf_counter()
        for _ in range(volumes):
            sliding_window_classes(model, image, (p, p, p), 0.5, dev)
        sync(dev)
        volume_s = (time.perf_counter() - t0) / volumes
    return {
        "engine": "pytorch " + torch.__version__,
        "model": "brats3d",
        "device": dev,
        "base": a.base,
        "patch": p,
        "batch": batch,
        "volume": a.volume,
        "tiles": tiles,
        "parameters": sum(q.numel() for q in model.parameters()),
        "train_samples_per_s": batch * steps / train_s,
        "train_s_per_step": train_s / steps,
        "infer_s_per_volume": volume_s,
        "peak_host_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "peak_device_mb": torch.cuda.max_memory_allocated() / 2**20 if dev == "cuda" else 0.0,
        "train_peak_device_mb": train_peak_dev,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["2d", "brats3d"], default="2d")
    ap.add_argument("--patch", type=int, default=128, help="brats3d: patch and tile size")
    ap.add_argument("--volume", type=int, nargs=3, default=[240, 240, 155], help="brats3d: the volume inferred, X Y Z")
    ap.add_argument("--base", type=int, default=32)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=0, help="default: 4 for 2d, 1 for brats3d")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=-1, help="default: 2 for 2d, 1 for brats3d")
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--infer-iters", type=int, default=0)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.model == "brats3d":
        out = bench_3d(a)
        text = json.dumps(out, indent=2)
        print(text)
        if a.json:
            with open(a.json, "w") as f:
                f.write(text + "\n")
        return
    a.batch = a.batch or 4
    a.warmup = a.warmup if a.warmup >= 0 else 2
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
