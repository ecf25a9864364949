#!/usr/bin/python3
"""NIfTI files written by nibabel for test_brats_data, and the check of what the C++ side wrote.

    nifti_fixtures.py make DIR    writes the fixtures (volumes, a BraTS folder with one case
                                  per defect) and, beside each, what nibabel reads from it
    nifti_fixtures.py check DIR   reads DIR/ours (written by test_brats_data) with nibabel and
                                  checks affines, labels, shapes and the synthetic layout

Expected values are stored raw: <name>.f32 is float32 C-order (nibabel's get_fdata() order,
the project's [X][Y][Z]); classes .u8 likewise.
"""
import gzip
import os
import shutil
import struct
import sys

import nibabel as nib
import numpy as np

MODALITIES = ["flair", "t1", "t1ce", "t2"]


def save(img, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    nib.save(img, path)


def expected(path, out):
    np.ascontiguousarray(nib.load(path).get_fdata(), dtype=np.float32).tofile(out)


def coords(shape):
    x, y, z = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    return x + 10 * y + 100 * z


def set_scaling(path, slope, inter):
    """Writes scl_slope / scl_inter into an uncompressed NIfTI-1 header (offsets 112 and 116):
    nibabel recomputes the scaling of array data on save, so it is set in the bytes."""
    with open(path, "r+b") as f:
        f.seek(112)
        f.write(struct.pack("<ff", slope, inter))


def make_volumes(d):
    shape = (5, 7, 3)  # non-cubic: a transposition cannot go unnoticed
    affine = np.diag([1.5, 2.0, 2.5, 1.0])
    v = coords(shape)
    for name, data in [("coords_int16", v.astype(np.int16)), ("coords_float32", v.astype(np.float32) + 0.25),
                       ("coords_float64", v.astype(np.float64) - 0.5), ("coords_int32", v.astype(np.int32) * 1000),
                       ("coords_uint8", (v % 256).astype(np.uint8))]:
        for ext in [".nii", ".nii.gz"]:
            img = nib.Nifti1Image(data, affine)
            img.header.set_xyzt_units("mm", "sec")
            save(img, os.path.join(d, name + ext))
            expected(os.path.join(d, name + ext), os.path.join(d, name + ext + ".f32"))
    # Scaled int16: stored v, meaning 0.5 v - 3; and the same gzipped.
    p = os.path.join(d, "coords_scaled.nii")
    save(nib.Nifti1Image(v.astype(np.int16), affine), p)
    set_scaling(p, 0.5, -3.0)
    with open(p, "rb") as f, gzip.open(p + ".gz", "wb") as g:
        g.write(f.read())
    for q in [p, p + ".gz"]:
        expected(q, q + ".f32")
        assert np.allclose(nib.load(q).get_fdata(), 0.5 * v - 3.0), q  # nibabel applies it as we assume
    # 4D with a trailing dimension of 1 is one volume; 2 volumes are not.
    save(nib.Nifti1Image(v.astype(np.int16)[..., None], affine), os.path.join(d, "four_d_one.nii"))
    save(nib.Nifti1Image(np.stack([v, v], -1).astype(np.int16), affine), os.path.join(d, "four_d_two.nii.gz"))
    save(nib.Nifti1Image(v[:, :, 0].astype(np.int16), affine), os.path.join(d, "two_d.nii"))
    # Truncated: an uncompressed file cut inside the voxels, a gzip stream cut in half.
    with open(os.path.join(d, "coords_int16.nii"), "rb") as f:
        raw = f.read()
    with open(os.path.join(d, "truncated.nii"), "wb") as f:
        f.write(raw[:-20])
    big = nib.Nifti1Image(np.arange(40 * 40 * 40, dtype=np.int16).reshape(40, 40, 40), affine)
    save(big, os.path.join(d, "big.nii.gz"))
    with open(os.path.join(d, "big.nii.gz"), "rb") as f:
        gz = f.read()
    with open(os.path.join(d, "truncated.nii.gz"), "wb") as f:
        f.write(gz[: len(gz) // 2])
    with open(os.path.join(d, "not_nifti.nii"), "wb") as f:
        f.write(b"this is not a NIfTI file\n" * 20)
    # A reference with an oblique qform and a different sform (codes 1 and 2), for the writer.
    c, s = np.cos(0.3), np.sin(0.3)
    q = np.array([[c * 1.2, -s * 0.9, 0, 10.5], [s * 1.2, c * 0.9, 0, -20.25], [0, 0, 1.1, 3.0], [0, 0, 0, 1]])
    sf = np.array([[-1.2, 0, 0, 100.0], [0, -0.9, 0.05, 120.0], [0, 0, 1.1, -7.0], [0, 0, 0, 1]])
    ref = nib.Nifti1Image(np.ones((6, 8, 5), np.int16), None)
    ref.set_qform(q, code=1)
    ref.set_sform(sf, code=2)
    ref.header.set_xyzt_units("mm", "sec")
    save(ref, os.path.join(d, "reference.nii.gz"))


def brats_case(root, cid, rng, shape=(12, 10, 8), ext=".nii", skip=(), seg_values=(0, 1, 2, 4), seg_shape=None,
               shapes=None, flair_4d=False, scaled_flair=False):
    """One case: images zero outside a box (the 'brain'), a seg with the given values."""
    d = os.path.join(root, cid)
    os.makedirs(d, exist_ok=True)
    aff = np.diag([-1.0, -1.0, 1.0, 1.0])
    for m in MODALITIES:
        if m in skip:
            continue
        sh = (shapes or {}).get(m, shape)
        img = np.zeros(sh, np.int16)
        img[2:-2, 1:-1, 1:-1] = rng.integers(50, 3000, size=img[2:-2, 1:-1, 1:-1].shape)
        if m == "flair" and flair_4d:
            img = np.stack([img, img], -1)
        p = os.path.join(d, "%s_%s%s" % (cid, m, ext))
        if m == "flair" and scaled_flair:  # scaled in the bytes of a .nii, then gzipped if asked
            plain = p[:-3] if p.endswith(".gz") else p
            save(nib.Nifti1Image(img, aff), plain)
            set_scaling(plain, 0.25, 0.0)  # zero stays zero
            if plain != p:
                with open(plain, "rb") as f, gzip.open(p, "wb") as g:
                    g.write(f.read())
                os.remove(plain)
        else:
            save(nib.Nifti1Image(img, aff), p)
    if "seg" not in skip:
        sh = seg_shape or shape
        seg = rng.choice(np.array(seg_values, np.uint8), size=sh, p=None)
        save(nib.Nifti1Image(seg, aff), os.path.join(d, "%s_seg%s" % (cid, ext)))
    return d


def write_expected_case(case_dir, cid, out_dir):
    """The numpy normalisation of the issue, and the label mapping, for a good case."""
    ext = ".nii.gz" if os.path.exists(os.path.join(case_dir, cid + "_flair.nii.gz")) else ".nii"
    chans = []
    for m in MODALITIES:
        img = nib.load(os.path.join(case_dir, "%s_%s%s" % (cid, m, ext))).get_fdata()
        mask = img != 0
        img[mask] = (img[mask] - img[mask].mean()) / (img[mask].std() + 1e-8)
        chans.append(img)
    np.ascontiguousarray(np.stack(chans), np.float32).tofile(os.path.join(out_dir, cid + "_norm.f32"))
    seg = nib.load(os.path.join(case_dir, "%s_seg%s" % (cid, ext))).get_fdata()
    cls = np.where(seg == 4, 3, seg).astype(np.uint8)
    np.ascontiguousarray(cls).tofile(os.path.join(out_dir, cid + "_classes.u8"))


def make_brats(d):
    rng = np.random.default_rng(2024)
    root = os.path.join(d, "parent", "MICCAI_BraTS2020_TrainingData")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "name_mapping.csv"), "w") as f:
        f.write("BraTS_2020_subject_ID\n")
    good1 = brats_case(root, "BraTS20_Training_001", rng)
    good2 = brats_case(root, "BraTS20_Training_002", rng, ext=".nii.gz", scaled_flair=True)
    brats_case(root, "BraTS20_Training_003", rng, skip=("t1ce",))
    d4 = brats_case(root, "BraTS20_Training_004", rng)
    t2 = os.path.join(d4, "BraTS20_Training_004_t2.nii")
    with open(t2, "rb") as f:
        raw = f.read()
    with open(t2, "wb") as f:
        f.write(raw[:-100])
    brats_case(root, "BraTS20_Training_005", rng, seg_shape=(12, 10, 7))
    brats_case(root, "BraTS20_Training_006", rng, shapes={"t1": (12, 9, 8)})
    brats_case(root, "BraTS20_Training_007", rng, seg_values=(0, 1, 2, 3, 4))
    brats_case(root, "BraTS20_Training_008", rng, flair_4d=True)
    brats_case(root, "BraTS20_Training_009", rng, skip=("seg",))
    exp = os.path.join(d, "expected")
    os.makedirs(exp, exist_ok=True)
    write_expected_case(good1, "BraTS20_Training_001", exp)
    write_expected_case(good2, "BraTS20_Training_002", exp)


def check_written(d):
    ours = os.path.join(d, "ours")
    ref = nib.load(os.path.join(d, "reference.nii.gz"))
    shape = ref.shape
    x, y, z = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    classes = (x + 2 * y + 3 * z) % 4
    labels = np.where(classes == 3, 4, classes)
    failures = []
    for name, dtype in [("labels_u8.nii.gz", np.uint8), ("labels_i16.nii", np.int16)]:
        p = os.path.join(ours, name)
        img = nib.load(p)
        h, rh = img.header, ref.header
        checks = {
            "shape": img.shape == shape,
            "dtype": img.get_data_dtype() == dtype,
            "voxels": np.array_equal(np.asarray(img.dataobj), labels),
            "label set": set(np.unique(np.asarray(img.dataobj)).tolist()) == {0, 1, 2, 4},
            "qform": np.allclose(img.get_qform(), ref.get_qform(), atol=1e-5),
            "sform": np.allclose(img.get_sform(), ref.get_sform(), atol=1e-6),
            "qform_code": int(h["qform_code"]) == int(rh["qform_code"]) == 1,
            "sform_code": int(h["sform_code"]) == int(rh["sform_code"]) == 2,
            "pixdim": np.allclose(h["pixdim"][1:4], rh["pixdim"][1:4]),
            "xyzt_units": int(h["xyzt_units"]) == int(rh["xyzt_units"]),
            "no scaling": np.isnan(h["scl_slope"]) or float(h["scl_slope"]) in (0.0, 1.0),
            "NIfTI-1": h["sizeof_hdr"] == 348,
        }
        failures += ["%s: %s" % (name, k) for k, ok in checks.items() if not ok]
    gz = open(os.path.join(ours, "labels_u8.nii.gz"), "rb").read(2)
    if gz != b"\x1f\x8b":
        failures.append("labels_u8.nii.gz is not gzip-compressed")
    leftovers = [f for f in os.listdir(ours) if ".tmp" in f]
    if leftovers:
        failures.append("temporary files left behind: %s" % leftovers)
    return failures


def check_synth(d):
    root = os.path.join(d, "ours", "synth", "MICCAI_BraTS2020_TrainingData")
    failures = []
    cases = sorted(os.listdir(root))
    if cases != ["BraTS20_Training_%03d" % (i + 1) for i in range(len(cases))] or len(cases) < 2:
        return ["synthetic case folders are %s" % cases]
    exts = set()
    for cid in cases:
        files = sorted(os.listdir(os.path.join(root, cid)))
        ext = ".nii.gz" if files[0].endswith(".nii.gz") else ".nii"
        exts.add(ext)
        want = sorted("%s_%s%s" % (cid, r, ext) for r in MODALITIES + ["seg"])
        if files != want:
            failures.append("%s holds %s, expected %s" % (cid, files, want))
            continue
        imgs = [nib.load(os.path.join(root, cid, "%s_%s%s" % (cid, m, ext))) for m in MODALITIES]
        seg = nib.load(os.path.join(root, cid, "%s_seg%s" % (cid, ext)))
        brain = np.asarray(imgs[0].dataobj) != 0
        for m, img in zip(MODALITIES, imgs):
            if img.get_data_dtype() != np.int16:
                failures.append("%s %s is %s, not int16" % (cid, m, img.get_data_dtype()))
            if img.shape != seg.shape or not np.array_equal(np.asarray(img.dataobj) != 0, brain):
                failures.append("%s %s: shape or brain mask differs from flair" % (cid, m))
            if not np.allclose(img.affine, seg.affine) or not np.allclose(img.header.get_zooms(), (1, 1, 1)):
                failures.append("%s %s: affine or spacing differs" % (cid, m))
        s = np.asarray(seg.dataobj)
        if set(np.unique(s).tolist()) != {0, 1, 2, 4}:
            failures.append("%s: seg labels %s, expected {0, 1, 2, 4}" % (cid, np.unique(s)))
        if np.any((s != 0) & ~brain):
            failures.append("%s: tumour outside the brain" % cid)
    if exts != {".nii", ".nii.gz"}:
        failures.append("synthetic cases use only %s" % exts)
    return failures


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        sys.exit("usage: nifti_fixtures.py make|check DIR")
    d = sys.argv[2]
    if sys.argv[1] == "make":
        shutil.rmtree(d, ignore_errors=True)  # what an earlier run wrote must not pass the check
        os.makedirs(d, exist_ok=True)
        make_volumes(d)
        make_brats(d)
        print("nifti fixtures written to", d)
        return
    failures = check_written(d) + check_synth(d)
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print("nibabel reads what test_brats_data wrote: affines, labels, shapes and the synthetic layout agree")


if __name__ == "__main__":
    main()
