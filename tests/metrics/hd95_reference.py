#!/usr/bin/python3
"""Reference BraTS metrics for the C++ test, computed the way medpy / the BraTS evaluation does.

Makes random blob label volumes (engine classes 0..3: 1 NCR/NET, 2 edema, 3 = BraTS label 4)
with anisotropic spacing, and writes for each case
  NAME_pred.u8, NAME_truth.u8   the volumes, raw uint8 in C order [X][Y][Z] (Z fastest)
and one cases.json listing every case: its size, spacing and the expected metrics.

HD95 is medpy.metric.binary.hd95 written out with scipy.ndimage (medpy is not packaged):
surface = mask XOR binary_erosion(mask, generate_binary_structure(3, 1)); distances from each
surface voxel of one mask to the nearest surface voxel of the other, via
distance_transform_edt(~other_surface, sampling=spacing), both ways; numpy.percentile(95).
Empty masks follow the project's convention (train/brats_metrics.hpp): both empty -> 0,
exactly one empty -> NaN, written as null in the JSON.

Usage: hd95_reference.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
from scipy.ndimage import binary_erosion, distance_transform_edt, gaussian_filter, generate_binary_structure

REGIONS = {"wt": (1, 2, 3), "tc": (1, 3), "et": (3,)}


def surface(mask):
    return mask ^ binary_erosion(mask, structure=generate_binary_structure(3, 1), iterations=1)


def hd95(a, b, spacing):
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return None
    sa, sb = surface(a), surface(b)
    a_to_b = distance_transform_edt(~sb, sampling=spacing)[sa]
    b_to_a = distance_transform_edt(~sa, sampling=spacing)[sb]
    return float(np.percentile(np.hstack((a_to_b, b_to_a)), 95))


def dice(a, b):
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def metrics(pred, truth, spacing):
    m = {}
    for label, engine_class in (("1", 1), ("2", 2), ("4", 3)):
        m["dice_label" + label] = dice(pred == engine_class, truth == engine_class)
    for name, classes in REGIONS.items():
        p, t = np.isin(pred, classes), np.isin(truth, classes)
        m["dice_" + name] = dice(p, t)
        m["hd95_" + name] = hd95(p, t, spacing)
    return m


def blobs(rng, shape, smooth, thresholds):
    """Nested random blobs: edema where field 0 is high, core inside it, enhancing inside the core."""
    fields = [gaussian_filter(rng.standard_normal(shape), smooth) for _ in range(3)]
    fields = [f / f.std() for f in fields]
    wt = fields[0] > thresholds[0]
    tc = wt & (fields[1] > thresholds[1])
    et = tc & (fields[2] > thresholds[2])
    labels = np.zeros(shape, np.uint8)
    labels[wt] = 2
    labels[tc] = 1
    labels[et] = 3
    return labels


def perturbed(rng, truth, smooth):
    """A prediction: the truth with smooth random regions relabelled, so surfaces differ by a few voxels."""
    pred = truth.copy()
    change = gaussian_filter(rng.standard_normal(truth.shape), smooth)
    change /= change.std()
    pred[(change > 1.2) & (truth > 0)] = 0        # missed tumour
    pred[(change < -1.5)] = 2                     # false edema
    pred[(change > 0.8) & (change < 1.0) & (truth > 0)] = 3  # enhancing where there is none
    return pred


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240607)
    specs = [  # name, shape, spacing (mm), smoothing (voxels), blob thresholds
        ("isotropic", (40, 36, 30), (1.0, 1.0, 1.0), 3.0, (0.3, 0.0, 0.2)),
        ("thick_slices", (48, 44, 20), (0.9, 1.3, 2.7), 3.0, (0.4, 0.2, 0.3)),
        ("fine_x", (33, 50, 27), (0.5, 2.0, 1.5), 2.5, (0.0, 0.0, 0.0)),     # blobs touch the borders
        ("medium", (96, 96, 60), (1.0, 1.0, 1.0), 5.0, (0.5, 0.3, 0.3)),
        ("scattered", (30, 30, 30), (1.2, 0.8, 1.0), 1.0, (1.0, 0.5, 0.5)),  # many small pieces
    ]
    cases = []
    for name, shape, spacing, smooth, thresholds in specs:
        truth = blobs(rng, shape, smooth, thresholds)
        pred = perturbed(rng, truth, smooth)
        cases.append((name, shape, spacing, pred, truth))
    # Empty masks: ET missing from the prediction only; ET and TC missing from both.
    name, shape, spacing, pred, truth = cases[0]
    no_et = pred.copy()
    no_et[no_et == 3] = 1
    cases.append(("pred_without_et", shape, spacing, no_et, truth))
    only_edema_pred, only_edema_truth = pred.copy(), truth.copy()
    only_edema_pred[only_edema_pred > 0] = 2
    only_edema_truth[only_edema_truth > 0] = 2
    cases.append(("edema_only", shape, spacing, only_edema_pred, only_edema_truth))

    listing = []
    for name, shape, spacing, pred, truth in cases:
        pred.astype(np.uint8).tofile(os.path.join(out, name + "_pred.u8"))
        truth.astype(np.uint8).tofile(os.path.join(out, name + "_truth.u8"))
        listing.append({"name": name, "size": list(shape), "spacing": list(spacing),
                        "metrics": metrics(pred, truth, spacing)})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(listing, f, indent=1)
    print(f"hd95_reference: wrote {len(listing)} cases to {out}")


if __name__ == "__main__":
    main()
