#!/usr/bin/python3
"""Foreign files that must be refused with a clear message naming the file (exit status 1),
usage errors (exit status 2), and the conversions that must happen with a note: float16 and
bfloat16 weights become float32.
Usage: refusals.py UNET_BINARY WORK_DIR"""
import collections
import os
import shutil
import sys

import torch
import torch.nn as nn

from common import convert_torch, expect_in, fail, run, torch_models

unet, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
path = lambda name: os.path.join(work, name)  # noqa: E731
torch.manual_seed(3)
reference = torch_models.ReferenceUNet(in_channels=3, out_channels=1, init_features=4).state_dict()


def refused(args, *parts):
    out = run(args, expect_rc=1)
    for p in parts:
        expect_in(out, p, " ".join(args[:2]))


# Wrong architecture: a small classifier, as a .pt and as plain safetensors.
classifier = nn.Sequential(collections.OrderedDict([("features", nn.Conv2d(3, 8, 3)), ("bn", nn.BatchNorm2d(8)),
                                                     ("fc", nn.Linear(8, 10))])).state_dict()
torch.save(classifier, path("classifier.pt"))
refused([unet, "import", "--in", path("classifier.pt"), "--out", path("x.safetensors")],
        f"{path('classifier.pt')}: not a model this program knows", "'encoder1.enc1conv1.weight'",
        "'inc.double_conv.0.weight'", "Its 9 tensors: bn.bias [8], bn.num_batches_tracked [], bn.running_mean [8] "
        "and 6 more")
convert_torch.write_safetensors(path("classifier.safetensors"), classifier, {"format": "pt"})
refused([unet, "predict", "--ckpt", path("classifier.safetensors"), "--input", path("none"), "--out", path("p"),
         "--device", "cpu"], f"{path('classifier.safetensors')}: not a model this program knows")

# A missing tensor.
missing = collections.OrderedDict((k, v) for k, v in reference.items() if k != "decoder3.dec3norm2.running_mean")
torch.save(missing, path("missing.pt"))
refused([unet, "import", "--in", path("missing.pt"), "--out", path("x.safetensors")],
        f"{path('missing.pt')}: its names are those of a 2D U-Net, reference layout, base 4, depth 4, 3 -> 1 channels, "
        "but it does not match one: 1 tensor missing: decoder3.dec3norm2.running_mean")

# Wrong dtypes: integer weights refused by the converter; float16 in a safetensors file read
# directly is refused with the way out.
ints = collections.OrderedDict(reference)
ints["encoder2.enc2conv1.weight"] = ints["encoder2.enc2conv1.weight"].to(torch.int32)
torch.save(ints, path("ints.pt"))
refused([unet, "import", "--in", path("ints.pt"), "--out", path("x.safetensors")],
        f"{path('ints.pt')}: tensor 'encoder2.enc2conv1.weight' has dtype int32; a model's weights are floating point "
        "(only num_batches_tracked is an integer): refused")
half = collections.OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in reference.items())
header_only = path("half.safetensors")
with open(header_only, "wb") as f:  # float16 safetensors, written by hand (our writer writes F32 and I64 only)
    import json, struct
    blobs, header, offset = [], {}, 0
    for k, v in half.items():
        data = v.numpy().tobytes()
        header[k] = {"dtype": "F16" if v.dtype == torch.float16 else "I64", "shape": list(v.shape),
                     "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
refused([unet, "predict", "--ckpt", header_only, "--input", path("none"), "--out", path("p"), "--device", "cpu"],
        "with another dtype: encoder1.enc1conv1.weight is F16, expected F32", "unet import converts float16")

# ... and through `unet import`, float16 and bfloat16 become float32 with a note, values kept.
for dtype, name in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16")):
    low = collections.OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in reference.items())
    torch.save(low, path(f"{name}.pt"))
    out = run([unet, "import", "--in", path(f"{name}.pt"), "--out", path(f"{name}.safetensors")])
    expect_in(out, f"note: converted 100 {name} tensors to float32 (exactly)", f"{name} import")
    back = convert_torch.read_safetensors(path(f"{name}.safetensors"))[0]
    for k, v in low.items():
        if not torch.equal(back[k], v.float() if v.is_floating_point() else v):
            fail(f"{name} import: tensor {k} is not the float32 value of the {name} one")
run([unet, "import", "--in", header_only, "--out", path("half_imported.safetensors")])

# Pickles that are not a model: a list, a dict of numbers, and one that would run a command.
torch.save([1, 2, 3], path("list.pt"))
refused([unet, "import", "--in", path("list.pt"), "--out", path("x.safetensors")],
        f"{path('list.pt')}: holds a list of 3 items, not a model")
torch.save({"epoch": 3, "lr": 0.001}, path("numbers.pt"))
refused([unet, "import", "--in", path("numbers.pt"), "--out", path("x.safetensors")],
        f"{path('numbers.pt')}: holds a dict with 2 keys ('epoch', 'lr'), not a model")
marker = path("the_pickle_ran")


class RunsACommand:
    def __reduce__(self):
        return (os.system, (f"touch {marker}",))


torch.save({"state_dict": RunsACommand()}, path("runs_a_command.pt"))
refused([unet, "import", "--in", path("runs_a_command.pt"), "--out", path("x.safetensors")],
        f"{path('runs_a_command.pt')}: the pickle calls posix.system, which is no part of a model's weights: refused, "
        "and nothing from the file was run")
if os.path.exists(marker):
    fail("importing runs_a_command.pt ran the command in the pickle")
with open(path("text.pt"), "w") as f:
    f.write("not a pickle\n")
refused([unet, "import", "--in", path("text.pt"), "--out", path("x.safetensors")],
        f"{path('text.pt')}: not a file torch.save wrote")

# A model whose channels do not fit kaggle_3m images.
one_channel = torch_models.ClassicUNet(in_channels=1, out_channels=2, init_features=2).state_dict()
convert_torch.write_safetensors(path("one_channel.safetensors"), one_channel, {})
refused([unet, "predict", "--ckpt", path("one_channel.safetensors"), "--input", path("none"), "--out", path("p"),
         "--device", "cpu"], "the model takes 1 channel in and gives 2 channels out")

# Usage errors: exit status 2, before any work.
torch.save(reference, path("reference.pt"))
for args in ([unet, "import", "--in", path("absent.pt"), "--out", path("x.safetensors")],
             [unet, "import", "--in", path("reference.pt"), "--out", path("reference.pt")],
             [unet, "export", "--ckpt", path("half_imported.safetensors"), "--out", path("half_imported.safetensors")],
             [unet, "import", "--in", path("reference.pt")],
             [unet, "predict", "--ckpt", path("half_imported.safetensors"), "--input", work, "--out", path("p"),
              "--size", "50"]):
    run(args, expect_rc=2)
out = run([unet, "import", "--in", path("reference.pt"), "--out", path("x.safetensors"), "--python",
           path("no_such_python")], expect_rc=1)
expect_in(out, "cannot run '" + path("no_such_python") + "'", "--python missing")
print("refusals: every foreign file refused with its reason; float16 and bfloat16 converted with a note")
