#!/usr/bin/python3
"""PyTorch-trained models run here. For both 2D layouts, a model made in PyTorch (random
weights, non-trivial BatchNorm statistics, mixed masks) is saved four ways: a plain
state_dict as safetensors (read by `unet predict` directly), and for `unet import` a .pt
state_dict, a whole pickled model and a checkpoint dict (DataParallel names, optimizer state,
numbers). Each one's `unet predict` masks are compared with PyTorch's.
Usage: from_pytorch.py UNET_BINARY WORK_DIR"""
import os
import shutil
import sys

import torch

from common import (SIZE, compare_masks, convert_torch, expect_in, fail, make_model, read_masks, run,
                    write_images)

unet, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
images = os.path.join(work, "images")
x = write_images(images)

for layout, base in (("reference", 8), ("classic", 4)):
    model = make_model(layout, base, seed=11 if layout == "reference" else 12, x=x)
    with torch.no_grad():
        probs = torch.sigmoid(model(x))[:, 0].numpy()
    if not 0.2 < (probs > 0.5).mean() < 0.8:
        fail(f"{layout}: the test model's masks are not mixed ({(probs > 0.5).mean():.3f} tumour)")
    described = f"2D U-Net, {layout} layout, base {base}, depth 4, 3 -> 1 channels"
    d = os.path.join(work, layout)
    os.makedirs(d)

    # 1. a plain state_dict as safetensors, foreign metadata: predict recognises it
    plain = os.path.join(d, "state_dict.safetensors")
    convert_torch.write_safetensors(plain, model.state_dict(), {"format": "pt"})
    out = run([unet, "predict", "--ckpt", plain, "--input", images, "--out", os.path.join(d, "pred_plain"),
               "--preprocess", "simple", "--size", SIZE, "--device", "cpu"])
    expect_in(out, f"recognised from its tensors as a {described}", f"{layout} plain predict")
    expect_in(out, "preprocessing simple, size 64 (from --preprocess and --size)", f"{layout} plain predict")
    compare_masks(read_masks(os.path.join(d, "pred_plain")), probs, f"{layout}, plain state_dict safetensors")

    # 2-4. pickles through `unet import`
    state_pt, whole_pt, ckpt_pt = (os.path.join(d, n) for n in ("state_dict.pt", "whole_model.pt", "checkpoint.pt"))
    torch.save(model.state_dict(), state_pt)
    torch.save(model, whole_pt)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    torch.save({"epoch": 42, "model_state_dict": torch.nn.DataParallel(model).state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "best_dsc": 0.91}, ckpt_pt)
    for name, path, read_as in (("state_dict.pt", state_pt, "read with torch.load(weights_only=True)"),
                                ("whole_model.pt", whole_pt, "a whole pickled model"),
                                ("checkpoint.pt", ckpt_pt, "removed the prefix 'module.'")):
        imported = path.replace(".pt", "_imported.safetensors")
        out = run([unet, "import", "--in", path, "--out", imported])
        expect_in(out, f"unet import: {path}: {described}", f"{layout} {name} import")
        expect_in(out, read_as, f"{layout} {name} import")
        pred = os.path.join(d, "pred_" + name.replace(".pt", ""))
        out = run([unet, "predict", "--ckpt", imported, "--input", images, "--out", pred, "--preprocess", "simple",
                   "--size", SIZE, "--device", "cpu"])
        compare_masks(read_masks(pred), probs, f"{layout}, {name} imported")

    # Without flags a foreign model gets the reference program's preprocessing and size, said aloud.
    out = run([unet, "predict", "--ckpt", plain, "--input", os.path.join(images, "img_1.tif"), "--out",
               os.path.join(d, "pred_defaults"), "--device", "cpu"])
    expect_in(out, "not trained here; preprocessing reference, size 256 (the reference program's values unless "
                   "--preprocess and --size say otherwise)", f"{layout} predict defaults")

print("from_pytorch: both layouts, four ways in, masks as PyTorch's")
