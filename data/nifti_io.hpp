// NIfTI-1 / NIfTI-2 volumes (.nii and .nii.gz) through nifticlib (Debian's libnifti2-dev).
// Memory order of the whole 3D system: a volume with dims (X, Y, Z) is held row-major as
// [X][Y][Z] (Z fastest), exactly numpy's C-order view of nibabel's get_fdata(). The file
// stores X fastest, so the reader transposes and the writer transposes back.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace unet::data {

// The on-disk voxel types a writer can produce (the readers accept every real type).
enum class NiftiDatatype { UInt8, Int16, Float32 };

// A volume's header (dims, voxel spacing, qform/sform, units, extensions...), kept whole so
// that a prediction can be written with its source's affine and header. Immutable and
// cheap to copy (shared). Empty when default-constructed.
class NiftiHeader {
 public:
  struct Impl;
  NiftiHeader() = default;
  explicit NiftiHeader(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  // A fresh NIfTI-1 header for a 3D volume: spacing in mm, `affine` the voxel-to-world
  // matrix (row-major 4x4, last row 0 0 0 1) stored as both qform and sform (code 1, scanner).
  static NiftiHeader make(const std::array<int64_t, 3>& dims, const std::array<double, 3>& spacing_mm,
                          const std::array<double, 16>& affine);

  bool empty() const { return impl_ == nullptr; }
  std::array<int64_t, 3> dims() const;     // X, Y, Z
  std::array<double, 3> spacing() const;   // pixdim[1..3], in mm (converted when the file says um or m)
  std::array<double, 16> sform() const;    // row-major 4x4
  std::array<double, 16> qform() const;    // row-major 4x4
  int sform_code() const;
  int qform_code() const;
  std::string datatype_name() const;       // as nifticlib names it, e.g. "INT16"
  const std::string& source() const;       // the file it was read from ("" when made)
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

struct NiftiVolume {
  NiftiHeader header;
  std::array<int64_t, 3> dims{0, 0, 0};   // X, Y, Z
  std::vector<float> voxels;              // [X][Y][Z], scl_slope / scl_inter applied

  int64_t voxel_count() const { return dims[0] * dims[1] * dims[2]; }
};

// Reads the header only and checks that it describes one 3D volume. Errors name the file:
// missing, not NIfTI, a damaged header, 2D, 4D or more (dim[4] > 1), or a type that is not
// a real number (complex, RGB).
NiftiHeader read_nifti_header(const std::string& path);

// Reads a whole volume as float: every real datatype (uint8, int8, int16, uint16, int32,
// uint32, int64, uint64, float32, float64), scaled by scl_slope / scl_inter when the slope
// is finite and non-zero (as nibabel does). Also errors for truncated voxel data.
NiftiVolume read_nifti(const std::string& path);

// Writes `voxels` ([X][Y][Z], the header's dims) with the header `like` (affine, qform,
// sform, pixdim, units, descriptions) but the datatype `type` and no scaling (scl_slope 0).
// Values are rounded for integer types and must fit them. Compressed when `path` ends in
// .gz. Atomic: written under a temporary name in the same folder, read back, fsynced and
// renamed, so `path` never holds half a file.
void write_nifti(const std::string& path, const NiftiHeader& like, const std::vector<float>& voxels,
                 NiftiDatatype type);

// True for names ending in .nii or .nii.gz (any case).
bool is_nifti_path(const std::string& path);

}  // namespace unet::data
