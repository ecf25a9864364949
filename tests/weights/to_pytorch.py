#!/usr/bin/python3
"""Ours run in PyTorch. A model trained here (a tiny `unet train` run, reference layout) goes
out with `unet export`, loads with load_state_dict(strict=True) into tools/torch_models.py's
class, and gives this program's logits to 1e-5. The classic layout makes the round trip
PyTorch -> `unet import` -> `unet export` -> PyTorch with every tensor bit for bit the same.
The BraTS 3D U-Net does both: trained here it gives the reference UNet3D's logits, and
PyTorch's UNet3D weights make the round trip bit for bit.
Usage: to_pytorch.py UNET_BINARY FORWARD_LOGITS_BINARY WORK_DIR"""
import os
import shutil
import sys

import torch

from common import convert_torch, expect_in, fail, make_model, run, torch_models, write_images

unet, forward_logits, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

# A tiny training run (as tests/cli/cli_checks.sh): 3 steps, so that the weights and the
# BatchNorm running statistics are this program's, not an initialisation.
data, run_dir = os.path.join(work, "data"), os.path.join(work, "run")
run([unet, "synth", "--out", data, "--patients", "4", "--seed", "3"])
run([unet, "train", "--data", data, "--out", run_dir, "--epochs", "1", "--size", "32", "--base", "4", "--batch", "4",
     "--max-steps-per-epoch", "3", "--device", "cpu"])
best = os.path.join(run_dir, "best.safetensors")
exported = os.path.join(work, "model.pt")
out = run([unet, "export", "--ckpt", best, "--out", exported])
expect_in(out, "reference layout, base 4, depth 4, 3 -> 1 channels", "export")
expect_in(out, "load it in PyTorch:", "export")

state = torch.load(exported, weights_only=True)
saved = convert_torch.read_safetensors(best)[0]
for name, t in state.items():
    if not torch.equal(t, saved[name].reshape(t.shape)):
        fail(f"exported tensor {name} differs from best.safetensors")
model = torch_models.ReferenceUNet(in_channels=3, out_channels=1, init_features=4)
model.load_state_dict(state, strict=True)  # raises on any missing, unexpected or misshapen tensor
model.eval()
if int(state["encoder1.enc1norm1.num_batches_tracked"]) != 3:
    fail(f"num_batches_tracked is {int(state['encoder1.enc1norm1.num_batches_tracked'])} after 3 training steps")

x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(7))
inputs, logits_file = os.path.join(work, "input.safetensors"), os.path.join(work, "logits.safetensors")
convert_torch.write_safetensors(inputs, {"input": x}, {})
run([forward_logits, best, inputs, logits_file])
ours = convert_torch.read_safetensors(logits_file)[0]["logits"]
with torch.no_grad():
    theirs = model(x)
diff = (ours - theirs).abs().max().item()
print(f"logits: max |ours - PyTorch| = {diff:.2e} (logits span {theirs.min().item():.3f} .. {theirs.max().item():.3f})")
# 1e-5: both are float32 with different summation orders (oneDNN's convolutions, PyTorch's);
# at base 4 and 32x32 the rounding differences stay near 1e-6. A wrong name, layout or
# BatchNorm statistic moves logits by far more.
if not diff <= 1e-5:
    fail(f"logits differ from PyTorch's by {diff:.2e} (more than 1e-5)")

# last.safetensors (Adam moments and training state beside the weights) exports the same weights.
last_pt = os.path.join(work, "last.pt")
run([unet, "export", "--ckpt", os.path.join(run_dir, "last.safetensors"), "--out", last_pt])
if sorted(torch.load(last_pt, weights_only=True)) != sorted(state):
    fail("last.safetensors exports other names than the model's state_dict")

# Classic layout: PyTorch -> import -> export -> PyTorch, bit for bit.
original = make_model("classic", 4, seed=21, x=write_images(os.path.join(work, "images")))
classic_pt, imported, back = (os.path.join(work, n) for n in ("classic.pt", "classic.safetensors", "classic_back.pt"))
torch.save(original.state_dict(), classic_pt)
run([unet, "import", "--in", classic_pt, "--out", imported])
out = run([unet, "export", "--ckpt", imported, "--out", back])
expect_in(out, "torch_models.ClassicUNet(in_channels=3, out_channels=1, init_features=4, depth=4)", "classic export")
returned = torch.load(back, weights_only=True)
if list(returned) != list(original.state_dict()):
    fail("classic: the exported state_dict's names or order differ from PyTorch's")
for name, t in original.state_dict().items():
    if returned[name].dtype != t.dtype or not torch.equal(returned[name], t):
        fail(f"classic: tensor {name} changed in the round trip")
# BraTS UNet3D: trained here (a tiny 3D run) -> export -> the reference class in PyTorch.
brats_data, brats_run = os.path.join(work, "brats"), os.path.join(work, "brats_run")
run([unet, "synth", "--kind", "brats", "--out", brats_data, "--patients", "3", "--volume", "24", "24", "16", "--seed", "4"])
run([unet, "train", "--data", brats_data, "--out", brats_run, "--epochs", "1", "--base", "4", "--patch", "16",
     "--val-fraction", "0", "--device", "cpu"])
brats_last = os.path.join(brats_run, "last.safetensors")
brats_pt = os.path.join(work, "brats.pt")
out = run([unet, "export", "--ckpt", brats_last, "--out", brats_pt])
expect_in(out, "3D U-Net, brats3d layout, base 4, depth 2, 4 -> 4 channels", "brats export")
expect_in(out, "torch_models.UNet3D(in_channels=4, out_channels=4, init_features=4, depth=2)", "brats export")
model3d = torch_models.UNet3D(in_channels=4, out_channels=4, init_features=4, depth=2)
model3d.load_state_dict(torch.load(brats_pt, weights_only=True), strict=True)
model3d.eval()
x3 = torch.randn(1, 4, 16, 24, 8, generator=torch.Generator().manual_seed(8))
convert_torch.write_safetensors(inputs, {"input": x3}, {})
run([forward_logits, brats_last, inputs, logits_file])
ours3 = convert_torch.read_safetensors(logits_file)[0]["logits"]
with torch.no_grad():
    theirs3 = model3d(x3)
diff3 = (ours3 - theirs3).abs().max().item()
print(f"UNet3D logits: max |ours - PyTorch| = {diff3:.2e}")
# 1e-5 as above: float32 both, other summation orders; base 4 keeps the sums short.
if not diff3 <= 1e-5:
    fail(f"UNet3D logits differ from PyTorch's by {diff3:.2e} (more than 1e-5)")
# PyTorch's UNet3D -> import -> export -> PyTorch, bit for bit.
torch.manual_seed(5)
fresh = torch_models.UNet3D(in_channels=4, out_channels=4, init_features=4, depth=2)
fresh_pt, fresh_st, fresh_back = (os.path.join(work, n) for n in ("unet3d.pt", "unet3d.safetensors", "unet3d_back.pt"))
torch.save(fresh.state_dict(), fresh_pt)
out = run([unet, "import", "--in", fresh_pt, "--out", fresh_st])
expect_in(out, "3D U-Net, brats3d layout", "UNet3D import")
run([unet, "export", "--ckpt", fresh_st, "--out", fresh_back])
back3 = torch.load(fresh_back, weights_only=True)
if list(back3) != list(fresh.state_dict()):
    fail("UNet3D: the exported state_dict's names or order differ from PyTorch's")
for name, t in fresh.state_dict().items():
    if not torch.equal(back3[name], t):
        fail(f"UNet3D: tensor {name} changed in the round trip")
print("to_pytorch: trained here -> PyTorch logits within 1e-5 (2D and 3D); classic and UNet3D round trips bit for bit")
