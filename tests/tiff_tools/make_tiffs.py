#!/usr/bin/python3
"""TIFFs written by other tools, for tests/test_tiff_tools.cpp.

Writes, into OUT_DIR, the same pixels through tifffile, Pillow and libtiff's tiffcp in every
encoding the reader supports (uncompressed, LZW, Deflate, PackBits; strips and tiles;
contiguous and planar RGB; 8- and 16-bit grayscale), the expected pixels as raw files, and a
manifest.json listing {file, expect, height, width, channels, bits}.
Usage: make_tiffs.py OUT_DIR
"""
import json
import os
import subprocess
import sys

import numpy as np
import tifffile
from PIL import Image


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    arrays = {
        "rgb8": rng.integers(0, 256, (40, 50, 3), dtype=np.uint8),
        "gray8": rng.integers(0, 256, (40, 50), dtype=np.uint8),
        "gray16": rng.integers(0, 65536, (40, 50), dtype=np.uint16),
        "mask": (rng.random((40, 50)) > 0.7).astype(np.uint8) * 255,
    }
    manifest = []

    def add(name, kind):
        a = arrays[kind]
        manifest.append({"file": name, "expect": kind + ".raw", "height": a.shape[0], "width": a.shape[1],
                         "channels": 1 if a.ndim == 2 else a.shape[2], "bits": a.dtype.itemsize * 8})

    for kind, a in arrays.items():
        a.astype(a.dtype.newbyteorder("<")).tofile(os.path.join(out, kind + ".raw"))

    # tifffile: uncompressed and deflate (its LZW/PackBits encoders need imagecodecs), strips,
    # tiles and planar RGB; big-endian too.
    for kind, a in arrays.items():
        photometric = "rgb" if a.ndim == 3 else "minisblack"
        for comp in (None, "zlib"):
            name = "tifffile_%s_%s.tif" % (kind, comp or "none")
            tifffile.imwrite(os.path.join(out, name), a, photometric=photometric, compression=comp)
            add(name, kind)
        name = "tifffile_%s_tiled.tif" % kind
        tifffile.imwrite(os.path.join(out, name), a, photometric=photometric, tile=(16, 16))
        add(name, kind)
        name = "tifffile_%s_bigendian.tif" % kind
        tifffile.imwrite(os.path.join(out, name), a, photometric=photometric, byteorder=">")
        add(name, kind)
    name = "tifffile_rgb8_planar.tif"
    tifffile.imwrite(os.path.join(out, name), np.moveaxis(arrays["rgb8"], 2, 0), photometric="rgb",
                     planarconfig="separate")
    add(name, "rgb8")

    # Pillow (libtiff underneath for the compressed ones).
    for kind in ("rgb8", "gray8", "mask"):
        for comp in (None, "tiff_lzw", "tiff_adobe_deflate", "packbits"):
            name = "pil_%s_%s.tif" % (kind, comp or "none")
            Image.fromarray(arrays[kind]).save(os.path.join(out, name), compression=comp)
            add(name, kind)

    # tiffcp (libtiff-tools): re-encode and re-layout the uncompressed tifffile output.
    for kind in arrays:
        src = os.path.join(out, "tifffile_%s_none.tif" % kind)
        for opts, tag in ((["-c", "lzw"], "lzw"), (["-c", "zip"], "zip"), (["-c", "packbits"], "packbits"),
                          (["-c", "lzw", "-t", "-w", "16", "-l", "16"], "lzw_tiled"),
                          (["-r", "7"], "strips7")):
            name = "tiffcp_%s_%s.tif" % (kind, tag)
            subprocess.run(["tiffcp"] + opts + [src, os.path.join(out, name)], check=True)
            add(name, kind)
    name = "tiffcp_rgb8_separate_lzw.tif"
    subprocess.run(["tiffcp", "-p", "separate", "-c", "lzw", os.path.join(out, "tifffile_rgb8_none.tif"),
                    os.path.join(out, name)], check=True)
    add(name, "rgb8")

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(len(manifest), "TIFF files written to", out)


if __name__ == "__main__":
    main()
