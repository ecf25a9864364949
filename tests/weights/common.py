"""Shared by the tests of tests/weights/: PyTorch models with non-trivial weights, test
images, running `unet`, and checks that say what failed."""
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import convert_torch  # noqa: E402
import torch_models  # noqa: E402

SIZE = 64      # images and model input: small, so the whole test stays quick
N_IMAGES = 4


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(args, expect_rc=0):
    """Runs a command; its output (stdout and stderr together) when the exit status is the expected one."""
    r = subprocess.run([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("$ " + " ".join(str(a) for a in args) + "\n" + r.stdout, end="")
    if r.returncode != expect_rc:
        fail(f"exit status {r.returncode}, expected {expect_rc}: {' '.join(str(a) for a in args)}")
    return r.stdout


def expect_in(text, part, what):
    if part not in text:
        fail(f"{what}: expected the output to contain {part!r}")


def write_images(folder, seed=5):
    """N_IMAGES smooth random RGB images (img_1.tif ...) and the model input PyTorch sees for
    them under `unet predict --preprocess simple --size 64`: the 8-bit values times 1/255."""
    os.makedirs(folder, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(N_IMAGES, 3, 8, 8, generator=g)
    smooth = nn.functional.interpolate(coarse, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    pixels = (smooth * 200 + torch.rand(N_IMAGES, 3, SIZE, SIZE, generator=g) * 55).clamp(0, 255).round()
    u8 = pixels.to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for i in range(N_IMAGES):
        Image.fromarray(u8[i], "RGB").save(os.path.join(folder, f"img_{i + 1}.tif"))
    x = u8.astype(np.float32) * np.float32(1.0 / 255.0)  # exactly what the C++ side computes
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def make_model(layout, base, seed, x):
    """A model with random weights and BatchNorm statistics, its logits on x scaled and shifted
    so that about half of the pixels are tumour (masks mixed) and few lie near the threshold."""
    torch.manual_seed(seed)
    cls = torch_models.ReferenceUNet if layout == "reference" else torch_models.ClassicUNet
    model = cls(in_channels=3, out_channels=1, init_features=base)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, ())))
        model.eval()
        out = model.conv if layout == "reference" else model.outc
        z = model(x)
        out.weight.mul_(3.0 / z.std())
        out.bias.mul_(3.0 / z.std())
        out.bias.sub_(model(x).median())
    return model


def read_masks(folder):
    return np.stack([np.array(Image.open(os.path.join(folder, f"img_{i + 1}_pred_mask.tif"))) > 0
                     for i in range(N_IMAGES)])


def compare_masks(pred, probs, what):
    """>= 99.9% of the pixels equal; every other one within 0.01 of the threshold (0.5) in
    PyTorch's probability: there float32 rounding in a different summation order (oneDNN's
    convolutions, PyTorch's) may flip the decision, nowhere else."""
    torch_masks = probs > 0.5
    differ = pred != torch_masks
    equal = 1.0 - differ.mean()
    far = np.abs(probs[differ] - 0.5) > 0.01
    print(f"{what}: {equal * 100:.3f}% of {pred.size} pixels equal; tumour fraction {torch_masks.mean():.3f}")
    if equal < 0.999 or far.any():
        fail(f"{what}: masks differ from PyTorch's on {differ.sum()} pixels, {far.sum()} of them farther than 0.01 "
             "from the threshold")
