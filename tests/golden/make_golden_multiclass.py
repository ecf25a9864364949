#!/usr/bin/python3
"""Golden values from PyTorch for the multi-class losses of the 3D system (tests/test_golden.cpp).

Writes multiclass_losses.safetensors into OUT_DIR: for each case (logits [2, 4, 5, 6, 7] and a
class map [2, 5, 6, 7], stored as float32), the reference program's 3D DiceLoss, torch's
F.cross_entropy and their sum (nnU-Net's Dice + CE), each with the gradient of the logits for a
random upstream scalar. Every result NAME comes as NAME, NAME.f64 and NAME.fp32_err, as in
make_golden.py (see "what the C++ test compares against" there).

Usage: make_golden_multiclass.py OUT_DIR [--seed S] [--threads T]
"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import add_references, write_safetensors  # noqa: E402  (after the path is set)


class DiceLoss(torch.nn.Module):
    """The reference program's DiceLoss, as it is written there (4 classes, 3D)."""

    def __init__(self, smooth=1e-5):
        super().__init__()
        self.smooth = smooth

    def forward(self, inputs, targets):
        inputs = F.softmax(inputs, dim=1)
        targets = F.one_hot(targets, 4).permute(0, 4, 1, 2, 3).float()
        intersection = (inputs * targets).sum(dim=(0, 2, 3, 4))
        union = inputs.sum(dim=(0, 2, 3, 4)) + targets.sum(dim=(0, 2, 3, 4))
        dice = (2 * intersection + self.smooth) / (union + self.smooth)
        return 1 - dice.mean()


LOSSES = {
    "dice": lambda z, t: DiceLoss()(z, t),
    "ce": lambda z, t: F.cross_entropy(z, t),
    "dice+ce": lambda z, t: DiceLoss()(z, t) + F.cross_entropy(z, t),
}

# float32 runs that differ only in summation order: 1 and 2 threads, the batch reversed (the
# same sums over dims 0, 2, 3, 4 in another order) and channels-last logits (softmax and the
# sums walk memory another way).
FP32_VARIANTS = (
    dict(threads=1),
    dict(threads=2),
    dict(threads=2, reverse_batch=True),
    dict(threads=2, channels_last=True),
)


def run(loss, z, t, gout, dtype=torch.float32, threads=2, reverse_batch=False, channels_last=False):
    torch.set_num_threads(threads)
    x = z.detach().to(dtype)
    labels = t.long()
    if reverse_batch:
        x, labels = x.flip(0), labels.flip(0)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    x.requires_grad_(True)
    y = LOSSES[loss](x, labels).reshape(1)
    (y * gout.to(dtype)).sum().backward()
    grad = x.grad.flip(0) if reverse_batch else x.grad
    return {"out": y.detach(), "grad_z": grad.detach().contiguous()}


def main():
    ap = argparse.ArgumentParser(description="PyTorch golden values of the multi-class losses")
    ap.add_argument("out_dir", nargs="?", default=".")
    ap.add_argument("--seed", type=int, default=0, help="inputs (default 0, the one ctest uses)")
    ap.add_argument("--threads", type=int, default=2, help="threads of the main float32 run")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(3 + 1000 * args.seed)
    out = {}
    # "all": every class present; "absent": class 3 never in the target (its dice is
    # smooth / (sum p_3 + smooth)).
    for case, classes in (("all", 4), ("absent", 3)):
        z = torch.randn(2, 4, 5, 6, 7, generator=gen) * 2
        t = torch.randint(0, classes, (2, 5, 6, 7), generator=gen)
        prefix = "mc_%s." % case
        out[prefix + "z"] = z
        out[prefix + "t"] = t.float()
        for loss in LOSSES:
            gout = torch.randn(1, generator=gen)
            name = prefix + loss
            out[name + ".gout"] = gout
            main_run = run(loss, z, t, gout, threads=args.threads)
            results = {name + "." + k: v for k, v in main_run.items()}
            out.update(results)
            runs32 = [{name + "." + k: v for k, v in run(loss, z, t, gout, **variant).items()}
                      for variant in FP32_VARIANTS]
            exact = {name + "." + k: v for k, v in run(loss, z, t, gout, dtype=torch.float64, threads=args.threads).items()}
            add_references(out, runs32 + [results], exact, results.keys())
    torch.set_num_threads(args.threads)
    write_safetensors(os.path.join(args.out_dir, "multiclass_losses.safetensors"), out)
    print("multi-class golden file written to", args.out_dir, "(seed %d, %d threads)" % (args.seed, args.threads))


if __name__ == "__main__":
    main()
