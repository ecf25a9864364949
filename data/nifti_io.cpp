#include "data/nifti_io.hpp"

#include <fcntl.h>
#include <nifti2_io.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet::data {

namespace fs = std::filesystem;

struct NiftiHeader::Impl {
  nifti_image* nim = nullptr;  // header fields only, never voxel data
  std::string source;
  ~Impl() {
    if (nim != nullptr) nifti_image_free(nim);
  }
};

namespace {

// nifticlib prints its own complaints on stderr; ours name the file and the defect instead.
void quiet_nifticlib() {
  static std::once_flag once;
  std::call_once(once, [] { nifti_set_debug_level(0); });
}

struct NimDeleter {
  void operator()(nifti_image* nim) const {
    if (nim != nullptr) nifti_image_free(nim);
  }
};
using NimPtr = std::unique_ptr<nifti_image, NimDeleter>;

std::array<double, 16> to_array(const nifti_dmat44& m) {
  std::array<double, 16> a{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a[static_cast<size_t>(r * 4 + c)] = m.m[r][c];
  return a;
}

bool ends_with_ci(const std::string& s, const std::string& tail) {
  if (s.size() < tail.size()) return false;
  for (size_t i = 0; i < tail.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - tail.size() + i])) != tail[i]) return false;
  return true;
}

// The header of `path` checked for one 3D volume of real numbers.
NimPtr read_checked_header(const std::string& path) {
  quiet_nifticlib();
  std::error_code ec;
  UNET_CHECK(fs::is_regular_file(path, ec), path, tr("NIfTI file does not exist or is not a regular file"));
  NimPtr nim(nifti_image_read(path.c_str(), 0));
  UNET_CHECK(nim != nullptr, path,
             tr("is not a readable NIfTI file (the header is missing, damaged or cut short, or the name does not end "
                "in .nii or .nii.gz)"));
  const int64_t ndim = nim->dim[0];
  UNET_CHECK(ndim >= 3, path,
             trf("is a {}D image (dim[0] = {}); a 3D volume is needed", std::to_string(ndim), std::to_string(ndim)));
  for (int d = 4; d <= ndim && d <= 7; ++d)
    UNET_CHECK(nim->dim[d] == 1, path,
               trf("has more than 3 dimensions (dim[{}] = {}); a single 3D volume is needed, not a 4D series",
                   std::to_string(d), std::to_string(nim->dim[d])));
  for (int d = 1; d <= 3; ++d)
    UNET_CHECK(nim->dim[d] >= 1, path,
               trf("has dimension {} of size {}", std::to_string(d), std::to_string(nim->dim[d])));
  switch (nim->datatype) {
    case NIFTI_TYPE_UINT8:
    case NIFTI_TYPE_INT8:
    case NIFTI_TYPE_INT16:
    case NIFTI_TYPE_UINT16:
    case NIFTI_TYPE_INT32:
    case NIFTI_TYPE_UINT32:
    case NIFTI_TYPE_INT64:
    case NIFTI_TYPE_UINT64:
    case NIFTI_TYPE_FLOAT32:
    case NIFTI_TYPE_FLOAT64:
      break;
    default:
      UNET_THROW(path, trf("has voxel type {}; only real numbers (integers or floats) can be read as an MRI volume",
                           nifti_datatype_string(nim->datatype)));
  }
  return nim;
}

template <class T>
void transpose_to_float(const void* raw, const std::array<int64_t, 3>& d, double slope, double inter, float* out) {
  const T* src = static_cast<const T*>(raw);
  const int64_t nx = d[0], ny = d[1], nz = d[2];
  // Disk index x + X*(y + Y*z)  ->  memory index (x*Y + y)*Z + z.
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y) {
      const T* row = src + (z * ny + y) * nx;
      for (int64_t x = 0; x < nx; ++x)
        out[(x * ny + y) * nz + z] = static_cast<float>(static_cast<double>(row[x]) * slope + inter);
    }
}

std::string system_error() { return std::strerror(errno); }

void fsync_path(const std::string& path, bool directory, const std::string& what) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    UNET_CHECK(directory, what, trf("cannot reopen {} to flush it: {}", path, system_error()));
    return;  // a folder that cannot be opened only loses the durability of the rename
  }
  const bool ok = ::fsync(fd) == 0;
  const std::string why = ok ? "" : system_error();
  ::close(fd);
  UNET_CHECK(ok || directory, what, trf("fsync of {} failed: {}", path, why));
}

}  // namespace

// ---- the header ----

NiftiHeader NiftiHeader::make(const std::array<int64_t, 3>& dims, const std::array<double, 3>& spacing_mm,
                              const std::array<double, 16>& affine) {
  quiet_nifticlib();
  for (int a = 0; a < 3; ++a) {
    UNET_CHECK(dims[static_cast<size_t>(a)] >= 1, "NiftiHeader::make", tr("every dimension must be at least 1"));
    UNET_CHECK(spacing_mm[static_cast<size_t>(a)] > 0, "NiftiHeader::make", tr("every voxel spacing must be positive"));
  }
  const int64_t d[8] = {3, dims[0], dims[1], dims[2], 1, 1, 1, 1};
  NimPtr nim(nifti_make_new_nim(d, NIFTI_TYPE_INT16, 0));
  UNET_CHECK(nim != nullptr, "NiftiHeader::make", tr("nifticlib could not create a header"));
  for (int a = 0; a < 3; ++a) nim->pixdim[a + 1] = spacing_mm[static_cast<size_t>(a)];
  nim->dx = nim->pixdim[1], nim->dy = nim->pixdim[2], nim->dz = nim->pixdim[3];
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->time_units = NIFTI_UNITS_SEC;
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nifti_dmat44 m{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = affine[static_cast<size_t>(r * 4 + c)];
  nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->sto_xyz = m;
  nim->sto_ijk = nifti_dmat44_inverse(m);
  nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  double dx = 0, dy = 0, dz = 0;
  nifti_dmat44_to_quatern(m, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d, &nim->qoffset_x, &nim->qoffset_y,
                          &nim->qoffset_z, &dx, &dy, &dz, &nim->qfac);
  nim->qto_xyz = nifti_quatern_to_dmat44(nim->quatern_b, nim->quatern_c, nim->quatern_d, nim->qoffset_x,
                                         nim->qoffset_y, nim->qoffset_z, nim->dx, nim->dy, nim->dz, nim->qfac);
  nim->qto_ijk = nifti_dmat44_inverse(nim->qto_xyz);
  auto impl = std::make_shared<Impl>();
  impl->nim = nim.release();
  return NiftiHeader(std::move(impl));
}

std::array<int64_t, 3> NiftiHeader::dims() const {
  UNET_CHECK(impl_ != nullptr, "NiftiHeader", tr("empty header"));
  return {impl_->nim->nx, impl_->nim->ny, impl_->nim->nz};
}

std::array<double, 3> NiftiHeader::spacing() const {
  UNET_CHECK(impl_ != nullptr, "NiftiHeader", tr("empty header"));
  double to_mm = 1.0;  // NIFTI_UNITS_MM, or unknown (0): BraTS and most tools mean mm
  if (impl_->nim->xyz_units == NIFTI_UNITS_METER) to_mm = 1000.0;
  if (impl_->nim->xyz_units == NIFTI_UNITS_MICRON) to_mm = 0.001;
  return {std::fabs(impl_->nim->dx) * to_mm, std::fabs(impl_->nim->dy) * to_mm, std::fabs(impl_->nim->dz) * to_mm};
}

std::array<double, 16> NiftiHeader::sform() const { return to_array(impl().nim->sto_xyz); }
std::array<double, 16> NiftiHeader::qform() const { return to_array(impl().nim->qto_xyz); }
int NiftiHeader::sform_code() const { return impl().nim->sform_code; }
int NiftiHeader::qform_code() const { return impl().nim->qform_code; }
std::string NiftiHeader::datatype_name() const { return nifti_datatype_string(impl().nim->datatype); }
const std::string& NiftiHeader::source() const { return impl().source; }

// ---- reading ----

bool is_nifti_path(const std::string& path) { return ends_with_ci(path, ".nii") || ends_with_ci(path, ".nii.gz"); }

NiftiHeader read_nifti_header(const std::string& path) {
  NimPtr nim = read_checked_header(path);
  auto impl = std::make_shared<NiftiHeader::Impl>();
  impl->nim = nim.release();
  impl->source = path;
  return NiftiHeader(std::move(impl));
}

NiftiVolume read_nifti(const std::string& path) {
  NimPtr nim = read_checked_header(path);
  const int64_t bytes = nim->nvox * nim->nbyper;
  if (!ends_with_ci(path, ".gz")) {
    // An uncompressed file must hold every voxel after the header; say how much is missing.
    const int64_t size = nifti_get_filesize(path.c_str());
    UNET_CHECK(
        size >= nim->iname_offset + bytes, path,
        trf("is truncated: the header promises {} bytes of voxel data from offset {} but the file has only {} bytes",
            std::to_string(bytes), std::to_string(nim->iname_offset), std::to_string(size)));
  }
  UNET_CHECK(nifti_image_load(nim.get()) == 0 && nim->data != nullptr, path,
             trf("voxel data could not be read: the file is truncated or its gzip stream is damaged (expected {} bytes "
                 "of voxel data)",
                 std::to_string(bytes)));
  NiftiVolume v;
  v.dims = {nim->nx, nim->ny, nim->nz};
  v.voxels.resize(static_cast<size_t>(v.voxel_count()));
  // nibabel's rule: a zero or non-finite slope means "not scaled".
  const bool scaled = std::isfinite(nim->scl_slope) && nim->scl_slope != 0.0;
  const double slope = scaled ? nim->scl_slope : 1.0;
  const double inter = scaled && std::isfinite(nim->scl_inter) ? nim->scl_inter : 0.0;
  const void* raw = nim->data;
  float* out = v.voxels.data();
  switch (nim->datatype) {
    case NIFTI_TYPE_UINT8: transpose_to_float<uint8_t>(raw, v.dims, slope, inter, out); break;
    case NIFTI_TYPE_INT8: transpose_to_float<int8_t>(raw, v.dims, slope, inter, out); break;
    case NIFTI_TYPE_INT16: transpose_to_float<int16_t>(raw, v.dims, slope, inter, out); break;
    case NIFTI_TYPE_UINT16: transpose_to_float<uint16_t>(raw, v.dims, slope, inter, out); break;
    case NIFTI_TYPE_INT32: transpose_to_float<int32_t>(raw, v.dims, slope, inter, out); break;
    case NIFTI_TYPE_UINT32: transpose_to_float<uint32_t>(raw, v.dims, slope, inter, out); break;
    case NIFTI_TYPE_INT64: transpose_to_float<int64_t>(raw, v.dims, slope, inter, out); break;
    case NIFTI_TYPE_UINT64: transpose_to_float<uint64_t>(raw, v.dims, slope, inter, out); break;
    case NIFTI_TYPE_FLOAT32: transpose_to_float<float>(raw, v.dims, slope, inter, out); break;
    case NIFTI_TYPE_FLOAT64: transpose_to_float<double>(raw, v.dims, slope, inter, out); break;
    default:
      UNET_THROW(path, tr("unexpected voxel type"));  // read_checked_header refused the others
  }
  nifti_image_unload(nim.get());
  auto impl = std::make_shared<NiftiHeader::Impl>();
  impl->nim = nim.release();
  impl->source = path;
  v.header = NiftiHeader(std::move(impl));
  return v;
}

// ---- writing ----

namespace {

template <class T>
std::vector<char> transpose_to_disk(const std::vector<float>& voxels, const std::array<int64_t, 3>& d,
                                    const std::string& path) {
  std::vector<char> bytes(voxels.size() * sizeof(T));
  T* dst = reinterpret_cast<T*>(bytes.data());
  const int64_t nx = d[0], ny = d[1], nz = d[2];
  for (int64_t x = 0; x < nx; ++x)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t z = 0; z < nz; ++z) {
        const float v = voxels[static_cast<size_t>((x * ny + y) * nz + z)];
        if constexpr (std::is_integral_v<T>) {
          const float r = std::nearbyint(v);
          UNET_CHECK(std::isfinite(v) && r >= static_cast<float>(std::numeric_limits<T>::min()) &&
                         r <= static_cast<float>(std::numeric_limits<T>::max()),
                     path,
                     trf("voxel ({}, {}, {}) = {} does not fit the file's integer type", std::to_string(x),
                         std::to_string(y), std::to_string(z), std::to_string(v)));
          dst[(z * ny + y) * nx + x] = static_cast<T>(r);
        } else {
          dst[(z * ny + y) * nx + x] = static_cast<T>(v);
        }
      }
  return bytes;
}

std::string temporary_name(const fs::path& target) {
  static std::atomic<uint64_t> counter{0};
  const std::string name = target.filename().string();
  const std::string ext = ends_with_ci(name, ".gz") ? ".nii.gz" : ".nii";  // nifticlib picks gzip by the name
  return (target.parent_path() / ("." + name + ".tmp" + std::to_string(::getpid()) + "_" +
                                  std::to_string(counter++) + ext))
      .string();
}

}  // namespace

void write_nifti(const std::string& path, const NiftiHeader& like, const std::vector<float>& voxels,
                 NiftiDatatype type) {
  quiet_nifticlib();
  UNET_CHECK(is_nifti_path(path), path, tr("output name must end in .nii or .nii.gz"));
  UNET_CHECK(!like.empty(), path, tr("no reference header to write with"));
  const auto dims = like.dims();
  UNET_CHECK(static_cast<int64_t>(voxels.size()) == dims[0] * dims[1] * dims[2], path,
             trf("volume has {} voxels but the reference header {} describes {}x{}x{}", std::to_string(voxels.size()),
                 like.source(), std::to_string(dims[0]), std::to_string(dims[1]), std::to_string(dims[2])));
  std::vector<char> bytes;
  int datatype = 0;
  switch (type) {
    case NiftiDatatype::UInt8: bytes = transpose_to_disk<uint8_t>(voxels, dims, path), datatype = NIFTI_TYPE_UINT8; break;
    case NiftiDatatype::Int16: bytes = transpose_to_disk<int16_t>(voxels, dims, path), datatype = NIFTI_TYPE_INT16; break;
    case NiftiDatatype::Float32: bytes = transpose_to_disk<float>(voxels, dims, path), datatype = NIFTI_TYPE_FLOAT32; break;
  }

  const fs::path target = fs::absolute(path);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  UNET_CHECK(fs::is_directory(target.parent_path(), ec), path, tr("cannot create its folder"));
  const std::string tmp = temporary_name(target);

  NimPtr nim(nifti_copy_nim_info(like.impl().nim));
  UNET_CHECK(nim != nullptr, path, tr("nifticlib could not copy the reference header"));
  nim->datatype = datatype;
  int swapsize = 0, nbyper = 0;
  nifti_datatype_sizes(datatype, &nbyper, &swapsize);
  nim->nbyper = nbyper;
  nim->swapsize = swapsize;
  nim->scl_slope = 0.0;  // the stored values are the values
  nim->scl_inter = 0.0;
  nim->cal_min = 0.0;
  nim->cal_max = 0.0;
  // One file (.nii); NIfTI-2 stays NIfTI-2, everything else (NIfTI-1, Analyze) becomes NIfTI-1.
  nim->nifti_type = nim->nifti_type >= NIFTI_FTYPE_NIFTI2_1 ? NIFTI_FTYPE_NIFTI2_1 : NIFTI_FTYPE_NIFTI1_1;
  UNET_CHECK(nifti_set_filenames(nim.get(), tmp.c_str(), 0, 1) == 0, path,
             trf("nifticlib refused the file name {}", tmp));
  nim->data = bytes.data();
  znzFile file = nifti_image_write_hdr_img2(nim.get(), 3 /* write the data, leave open */, "wb", nullptr, nullptr);
  nim->data = nullptr;  // ours, not nifticlib's to free
  const bool opened = file != nullptr;
  const bool closed = opened && Xznzclose(&file) == 0;
  auto fail = [&](const std::string& why) {
    fs::remove(tmp, ec);
    UNET_THROW(path, trf("{}; no file was written under this name", why));
  };
  if (!closed)
    fail(opened ? trf("could not be written (closing {} failed)", tmp)
                : trf("could not be written (creating {} failed)", tmp));
  try {
    fsync_path(tmp, false, path);
  } catch (const Error&) {
    fail(tr("could not be flushed to disk"));
  }
  // Read it back: a full disk can let every call above succeed and still cut the file short.
  NimPtr back(nifti_image_read(tmp.c_str(), 1));
  if (back == nullptr || back->nvox != nim->nvox || back->data == nullptr ||
      std::memcmp(back->data, bytes.data(), bytes.size()) != 0)
    fail(trf("reading back the temporary file {} did not give the written voxels (disk full?)", tmp));
  if (::rename(tmp.c_str(), target.c_str()) != 0) fail(trf("renaming {} failed: {}", tmp, system_error()));
  fsync_path(target.parent_path().string(), true, path);
}

}  // namespace unet::data
