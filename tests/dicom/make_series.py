"""DICOM series written by pydicom (and one file compressed by DCMTK's dcmcjpeg), with the arrays
they were made from, for the DICOM reader's tests.

  make_series.py OUT

OUT/good/  three series mixed in one folder under random names, in random order, plus a text file:
  A  MR, 16-bit signed, oblique orientation, RescaleSlope 0.5 / Intercept 10, 9 slices,
     one slice RLE-compressed (pydicom) and one JPEG-lossless (dcmcjpeg)
  B  MR, 12 bits stored in 16 with other data in the top 4 bits, MONOCHROME1, slope 2 /
     intercept -1000, 6 slices, one written without the Part 10 header (implicit VR)
  C  Enhanced MR multi-frame, 8-bit, 5 frames stored out of order, rescale in the shared
     functional group
OUT/bad/   one usable series G, and one defect each: a missing slice, a duplicated position,
  a slice of another size, JPEG 2000, a file that is not DICOM, a truncated file.
OUT/expected.json  per series: id (FNV-1a of the UID), rows, cols, slices, affine (RAS), file of
  voxels ([slices][rows][cols] float32, in order along the slice normal).
Every file carries made-up patient identifiers that must never appear in an output.
"""
import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless

PHI = {"PatientName": "SECRETDOE^JOHN", "PatientID": "PID-SECRET-4711", "PatientBirthDate": "19010203",
       "AccessionNumber": "ACC-SECRET-9"}
MR = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
rng = np.random.default_rng(7)
names = random.Random(11)
_uids = iter(range(1, 1 << 30))


def generate_uid():
    """Deterministic UIDs: the same fixtures, file names and series order in every run."""
    return pydicom.uid.generate_uid(entropy_srcs=[f"unet-engine dicom fixture {next(_uids)}"])


def fnv_id(uid):
    h = 14695981039346656037
    for c in uid.encode():
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "series_%012x" % (h & 0xFFFFFFFFFFFF)


def rotation(a, b):
    ca, sa, cb, sb = np.cos(a), np.sin(a), np.cos(b), np.sin(b)
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cb, -sb], [0, sb, cb]])
    return rz @ rx


def ds_list(values, digits):
    return [f"{round(float(v), digits):.{digits}f}".rstrip("0").rstrip(".") for v in values]


class Geometry:
    """Positions and cosines as written (rounded decimal strings), and the affine they imply."""

    def __init__(self, rows, cols, slices, spacing, step, origin, rot):
        self.rows, self.cols, self.slices = rows, cols, slices
        self.iop = ds_list(list(rot[:, 0]) + list(rot[:, 1]), 6)
        self.spacing = ds_list(spacing, 4)
        o = np.array([float(v) for v in self.iop])
        r, c = o[:3] / np.linalg.norm(o[:3]), o[3:] / np.linalg.norm(o[3:])
        n = np.cross(r, c)
        self.ipp = [ds_list(np.array(origin) + k * step * rot[:, 2], 4) for k in range(slices)]
        pos = np.array([[float(v) for v in p] for p in self.ipp])
        along = pos @ n
        self.step = float(np.min(np.diff(along))) if slices > 1 else step
        sp = [float(v) for v in self.spacing]
        a = np.eye(4)
        a[:3, 0] = r * sp[1]
        a[:3, 1] = c * sp[0]
        a[:3, 2] = n / np.linalg.norm(n) * self.step
        a[:3, 3] = pos[0]
        a[:2, :] *= -1  # LPS -> RAS
        a[3] = [0, 0, 0, 1]
        self.affine = a


def base_dataset(path, series_uid, sop_class, syntax=ExplicitVRLittleEndian):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = syntax == ImplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = series_uid
    ds.Modality = "MR"
    for k, v in PHI.items():
        setattr(ds, k, v)
    ds.SeriesDescription = "AX T2 FLAIR"
    return ds


def pixel_module(ds, rows, cols, bits_stored, signed, photometric="MONOCHROME2"):
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 8 if bits_stored <= 8 else 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0


def write_slice(folder, series_uid, geo, k, stored, *, bits_stored, signed, photometric="MONOCHROME2",
                slope=None, intercept=None, compress=None, no_header=False, ipp=None, rows=None):
    path = os.path.join(folder, "f%08x" % names.getrandbits(32))
    syntax = ImplicitVRLittleEndian if no_header else ExplicitVRLittleEndian
    ds = base_dataset(path, series_uid, MR, syntax)
    pixel_module(ds, rows or geo.rows, geo.cols, bits_stored, signed, photometric)
    ds.ImagePositionPatient = ipp or geo.ipp[k]
    ds.ImageOrientationPatient = geo.iop
    ds.PixelSpacing = geo.spacing
    ds.SliceThickness = "3"
    ds.InstanceNumber = names.randint(1, 999)  # deliberately unrelated to the position
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept = str(slope), str(intercept)
    dtype = {(8, False): np.uint8, (16, False): np.uint16, (16, True): np.int16}[(ds.BitsAllocated, signed)]
    ds.PixelData = np.ascontiguousarray(stored.astype(dtype)).tobytes()
    if compress == "rle":
        ds.compress(RLELossless, stored.astype(dtype))
    if no_header:
        ds.file_meta = FileMetaDataset()
        ds.preamble = None
        pydicom.dcmwrite(path, ds, write_like_original=True)
    else:
        ds.save_as(path, write_like_original=False)
    if compress == "jpeg-lossless":
        subprocess.run(["dcmcjpeg", "+e1", path, path + ".jpg"], check=True)
        os.replace(path + ".jpg", path)
    return path


def series_a(folder, expected):
    uid = generate_uid()
    geo = Geometry(20, 24, 9, [0.9, 1.1], 2.5, [-30.0, 12.5, 40.0], rotation(0.3, 0.4))
    vol = rng.integers(-2000, 3000, size=(9, 20, 24)).astype(np.int64)
    for k in range(9):
        compress = "rle" if k == 2 else "jpeg-lossless" if k == 5 else None
        write_slice(folder, uid, geo, k, vol[k], bits_stored=16, signed=True, slope=0.5, intercept=10,
                    compress=compress)
    expected.append(record(uid, geo, vol * 0.5 + 10, "A"))


def series_b(folder, expected):
    uid = generate_uid()
    geo = Geometry(16, 16, 6, [1.0, 1.0], 3.0, [0.0, 0.0, -20.0], np.eye(3))
    vol = rng.integers(0, 4096, size=(6, 16, 16)).astype(np.int64)
    stored = (4095 - vol) | (rng.integers(0, 16, size=vol.shape) << 12)  # other data above HighBit
    for k in range(6):
        write_slice(folder, uid, geo, k, stored[k], bits_stored=12, signed=False, photometric="MONOCHROME1",
                    slope=2, intercept=-1000, no_header=(k == 4))
    expected.append(record(uid, geo, vol * 2.0 - 1000, "B"))


def series_c(folder, expected):
    uid = generate_uid()
    geo = Geometry(12, 10, 5, [0.5, 0.5], 1.5, [5.0, -5.0, 0.0], rotation(-0.2, 1.1))
    vol = rng.integers(0, 256, size=(5, 12, 10)).astype(np.int64)
    order = [3, 0, 4, 1, 2]  # frame f holds slice order[f]
    path = os.path.join(folder, "f%08x" % names.getrandbits(32))
    ds = base_dataset(path, uid, ENHANCED_MR)
    pixel_module(ds, geo.rows, geo.cols, 8, False)
    ds.NumberOfFrames = 5
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = geo.spacing
    pm.SliceThickness = "1.5"
    po = Dataset()
    po.ImageOrientationPatient = geo.iop
    pvt = Dataset()
    pvt.RescaleSlope, pvt.RescaleIntercept, pvt.RescaleType = "3", "-7", "US"
    shared.PixelMeasuresSequence = [pm]
    shared.PlaneOrientationSequence = [po]
    shared.PixelValueTransformationSequence = [pvt]
    ds.SharedFunctionalGroupsSequence = [shared]
    per_frame = []
    for f in range(5):
        item, pp = Dataset(), Dataset()
        pp.ImagePositionPatient = geo.ipp[order[f]]
        item.PlanePositionSequence = [pp]
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = per_frame
    ds.PixelData = np.ascontiguousarray(vol[order].astype(np.uint8)).tobytes()
    ds.save_as(path, write_like_original=False)
    expected.append(record(uid, geo, vol * 3.0 - 7, "C"))


def record(uid, geo, voxels, name):
    return {"name": name, "id": fnv_id(uid), "rows": geo.rows, "cols": geo.cols, "slices": geo.slices,
            "affine": geo.affine.tolist(), "voxels": voxels.astype(np.float32)}


def bad_folder(folder, expected):
    geo = Geometry(8, 8, 5, [1.0, 1.0], 2.0, [0.0, 0.0, 0.0], np.eye(3))
    vol = rng.integers(0, 1000, size=(5, 8, 8))
    good = generate_uid()
    for k in range(5):
        write_slice(folder, good, geo, k, vol[k], bits_stored=16, signed=False)
    expected.append(record(good, geo, vol.astype(np.float64), "G"))
    missing = generate_uid()
    for k in [0, 1, 3, 4]:  # slice 2 missing
        write_slice(folder, missing, geo, k, vol[k], bits_stored=16, signed=False)
    dup = generate_uid()
    for k in [0, 1, 2, 2, 3]:
        write_slice(folder, dup, geo, k, vol[k], bits_stored=16, signed=False)
    size = generate_uid()
    for k in range(3):
        rows = 6 if k == 1 else 8
        write_slice(folder, size, geo, k, vol[k][:rows], bits_stored=16, signed=False, rows=rows)
    j2k = write_slice(folder, generate_uid(), geo, 0, vol[0], bits_stored=16, signed=False)
    ds = pydicom.dcmread(j2k)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.90"  # JPEG 2000 lossless only
    ds.PixelData = pydicom.encaps.encapsulate([b"\xff\x4f\xff\x51" + bytes(60)])
    ds.is_implicit_VR, ds.is_little_endian = False, True
    ds.save_as(j2k, write_like_original=False)
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("not a DICOM file\n")
    trunc = write_slice(folder, generate_uid(), geo, 0, vol[0], bits_stored=16, signed=False)
    data = open(trunc, "rb").read()
    open(trunc, "wb").write(data[: len(data) - 50])


def main():
    out = sys.argv[1]
    shutil.rmtree(out, ignore_errors=True)  # no file of an earlier run may join a series
    expected = []
    for sub in ("good", "bad"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    series_a(os.path.join(out, "good"), expected)
    series_b(os.path.join(out, "good"), expected)
    series_c(os.path.join(out, "good"), expected)
    with open(os.path.join(out, "good", "README.txt"), "w") as f:
        f.write("exported by a viewer\n")
    bad_folder(os.path.join(out, "bad"), expected)
    for e in expected:
        e["voxels_file"] = e["name"] + ".f32"
        e.pop("voxels").tofile(os.path.join(out, e["voxels_file"]))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"series": expected, "phi": list(PHI.values())}, f, indent=1)


if __name__ == "__main__":
    main()
