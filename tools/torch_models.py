"""The U-Nets of unet-engine as PyTorch modules, so that weights move both ways without the
reference repositories. The state_dict() names are exactly those of unet/unet_model.cpp:

  ReferenceUNet  mateuszbuda/brain-segmentation-pytorch's `UNet` (unet.py): bias-free 3x3
                 convs, cat((up, skip)); encoder1.enc1conv1.weight ... upconv4 ... conv.weight.
                 Its weights also load into the reference program's own class.
  ClassicUNet    the classic (notebook) U-Net: biased 3x3 convs, cat((skip, up));
                 inc.double_conv.0.weight, down1.maxpool_conv.1..., up1.up, outc.

  UNet3D         the BraTS reference program's `UNet3D(in_channels=4, out_channels=4)`: biased
                 3x3x3 convs in `layers` Sequentials, cat((up, skip)); enc1.layers.0.weight,
                 enc1.layers.1.running_mean, ..., up1, dec1, ..., final.bias. Its weights load
                 into the reference program's own class (base 32, depth 2).

All return logits (apply torch.sigmoid, or softmax over dim 1 for UNet3D, for probabilities;
the 2D reference program's own class returns the sigmoid). `depth` is the number of 2x2
poolings (4 in both 2D programs, 2 in the 3D one).

    import torch, torch_models
    model = torch_models.ReferenceUNet(in_channels=3, out_channels=1, init_features=32)
    model.load_state_dict(torch.load("model.pt"))   # written by `unet export`
    model.eval()
"""
from collections import OrderedDict

import torch
import torch.nn as nn


def reference_block(in_c, features, name):
    return nn.Sequential(OrderedDict([
        (name + "conv1", nn.Conv2d(in_c, features, 3, padding=1, bias=False)),
        (name + "norm1", nn.BatchNorm2d(features)),
        (name + "relu1", nn.ReLU(inplace=True)),
        (name + "conv2", nn.Conv2d(features, features, 3, padding=1, bias=False)),
        (name + "norm2", nn.BatchNorm2d(features)),
        (name + "relu2", nn.ReLU(inplace=True)),
    ]))


class ReferenceUNet(nn.Module):
    def __init__(self, in_channels=3, out_channels=1, init_features=32, depth=4):
        super().__init__()
        self.depth = depth
        f = init_features
        # Registration order = the reference program's = state_dict() order.
        for k in range(1, depth + 1):
            setattr(self, f"encoder{k}", reference_block(in_channels if k == 1 else f << (k - 2), f << (k - 1), f"enc{k}"))
            setattr(self, f"pool{k}", nn.MaxPool2d(kernel_size=2, stride=2))
        self.bottleneck = reference_block(f << (depth - 1), f << depth, "bottleneck")
        for k in range(depth, 0, -1):
            setattr(self, f"upconv{k}", nn.ConvTranspose2d(f << k, f << (k - 1), kernel_size=2, stride=2))
            setattr(self, f"decoder{k}", reference_block(f << k, f << (k - 1), f"dec{k}"))
        self.conv = nn.Conv2d(f, out_channels, kernel_size=1)

    def forward(self, x):
        skips = []
        for k in range(1, self.depth + 1):
            x = getattr(self, f"encoder{k}")(x)
            skips.append(x)
            x = getattr(self, f"pool{k}")(x)
        x = self.bottleneck(x)
        for k in range(self.depth, 0, -1):
            x = getattr(self, f"upconv{k}")(x)
            x = getattr(self, f"decoder{k}")(torch.cat((x, skips[k - 1]), dim=1))
        return self.conv(x)


class DoubleConv(nn.Module):
    def __init__(self, in_c, out_c):
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_c, out_c, 3, padding=1), nn.BatchNorm2d(out_c), nn.ReLU(inplace=True),
            nn.Conv2d(out_c, out_c, 3, padding=1), nn.BatchNorm2d(out_c), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, in_c, out_c):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_c, out_c))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, in_c, out_c):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_c, in_c // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_c, out_c)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class ClassicUNet(nn.Module):
    def __init__(self, in_channels=3, out_channels=1, init_features=64, depth=4):
        super().__init__()
        self.depth = depth
        f = init_features
        self.inc = DoubleConv(in_channels, f)
        for k in range(1, depth + 1):
            setattr(self, f"down{k}", Down(f << (k - 1), f << k))
        for k in range(1, depth + 1):
            setattr(self, f"up{k}", Up(f << (depth - k + 1), f << (depth - k)))
        self.outc = nn.Conv2d(f, out_channels, kernel_size=1)

    def forward(self, x):
        skips = [self.inc(x)]
        for k in range(1, self.depth + 1):
            skips.append(getattr(self, f"down{k}")(skips[-1]))
        x = skips.pop()
        for k in range(1, self.depth + 1):
            x = getattr(self, f"up{k}")(x, skips.pop())
        return self.outc(x)


class DoubleConv3D(nn.Module):
    """The BraTS reference's DoubleConv: its Sequential is named `layers`."""

    def __init__(self, in_c, out_c):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv3d(in_c, out_c, 3, padding=1), nn.BatchNorm3d(out_c), nn.ReLU(inplace=True),
            nn.Conv3d(out_c, out_c, 3, padding=1), nn.BatchNorm3d(out_c), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.layers(x)


class UNet3D(nn.Module):
    def __init__(self, in_channels=4, out_channels=4, init_features=32, depth=2):
        super().__init__()
        self.depth = depth
        f = init_features
        # Registration order = the reference program's: enc1, enc2, enc3, pool, up1, dec1, up2, dec2, final.
        for k in range(1, depth + 2):
            setattr(self, f"enc{k}", DoubleConv3D(in_channels if k == 1 else f << (k - 2), f << (k - 1)))
        self.pool = nn.MaxPool3d(2)
        for j in range(1, depth + 1):
            level = depth - j  # up1 / dec1 are the deepest decoder stage
            setattr(self, f"up{j}", nn.ConvTranspose3d(f << (level + 1), f << level, kernel_size=2, stride=2))
            setattr(self, f"dec{j}", DoubleConv3D(f << (level + 1), f << level))
        self.final = nn.Conv3d(f, out_channels, kernel_size=1)

    def forward(self, x):
        skips = []
        for k in range(1, self.depth + 1):
            x = getattr(self, f"enc{k}")(x)
            skips.append(x)
            x = self.pool(x)
        x = getattr(self, f"enc{self.depth + 1}")(x)
        for j in range(1, self.depth + 1):
            x = getattr(self, f"up{j}")(x)
            x = getattr(self, f"dec{j}")(torch.cat([x, skips[self.depth - j]], dim=1))
        return self.final(x)


LAYOUTS = {"reference": ReferenceUNet, "classic": ClassicUNet, "brats3d": UNet3D}


def build_model(config):
    """The module for a unet-engine model config (the "config" metadata of its safetensors):
    {"layout": "reference" | "classic" | "brats3d", "in_channels", "out_channels", "base", "depth"}."""
    layouts = LAYOUTS
    if config.get("layout") not in layouts:
        raise ValueError(f"unknown U-Net layout {config.get('layout')!r}; expected reference, classic or brats3d")
    return layouts[config["layout"]](in_channels=config["in_channels"], out_channels=config["out_channels"],
                                     init_features=config["base"], depth=config["depth"])


def constructor_call(config):
    """How to build that module in Python, as a line a user can paste."""
    name = LAYOUTS[config["layout"]].__name__
    return (f"torch_models.{name}(in_channels={config['in_channels']}, out_channels={config['out_channels']}, "
            f"init_features={config['base']}, depth={config['depth']})")
