#include "data/dicom_series.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "base/error.hpp"
#include "base/fnv_hash.hpp"
#include "base/i18n.hpp"

namespace unet::data {

namespace fs = std::filesystem;

namespace {

using Vec3 = std::array<double, 3>;

Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
Vec3 unit(const Vec3& a) {
  const double n = std::sqrt(dot(a, a));
  return {a[0] / n, a[1] / n, a[2] / n};
}
Vec3 row_direction(const std::array<double, 6>& o) { return unit({o[0], o[1], o[2]}); }
Vec3 column_direction(const std::array<double, 6>& o) { return unit({o[3], o[4], o[5]}); }

std::string mm(double v) {
  char s[32];
  std::snprintf(s, sizeof s, "%.3f mm", v);
  return s;
}

std::string frame_name(const DicomFileInfo& f, int64_t frame) {
  return f.frames > 1 ? trf("{} (frame {})", f.file, frame + 1) : f.file;
}

// Tolerances: direction cosines are written with ~6 digits; pixel spacings with ~4.
constexpr double kDirectionTolerance = 1e-4;
constexpr double kSpacingTolerance = 1e-3;  // relative

}  // namespace

std::string series_output_id(const std::string& series_uid) {
  const uint64_t h = Fnv1a64().add(series_uid).value();
  char s[32];
  std::snprintf(s, sizeof s, "series_%012llx", static_cast<unsigned long long>(h & 0xFFFFFFFFFFFFull));
  return s;
}

std::array<double, 16> DicomSeries::affine_ras() const {
  const Vec3 r = row_direction(orientation), c = column_direction(orientation), n = unit(cross(r, c));
  // DICOM: position of pixel (column i, row j) = origin + i * r * column spacing + j * c * row spacing.
  const Vec3 di = {r[0] * spacing[1], r[1] * spacing[1], r[2] * spacing[1]};
  const Vec3 dj = {c[0] * spacing[0], c[1] * spacing[0], c[2] * spacing[0]};
  const Vec3 dk = {n[0] * slice_spacing, n[1] * slice_spacing, n[2] * slice_spacing};
  std::array<double, 16> a{};
  for (int row = 0; row < 3; ++row) {
    const double sign = row < 2 ? -1.0 : 1.0;  // LPS (DICOM) -> RAS (NIfTI): x and y flip
    const auto k = static_cast<size_t>(row);
    a[k * 4 + 0] = sign * di[k];
    a[k * 4 + 1] = sign * dj[k];
    a[k * 4 + 2] = sign * dk[k];
    a[k * 4 + 3] = sign * origin[k];
  }
  a[15] = 1.0;
  return a;
}

DicomSeries assemble_series(std::vector<DicomFileInfo> files) {
  UNET_CHECK(!files.empty(), "assemble_series", tr("no files"));
  DicomSeries s;
  s.uid = files[0].series_uid;
  s.id = series_output_id(s.uid);
  s.modality = files[0].modality;
  const DicomFileInfo& first = files[0];
  const DicomFrameGeometry& g0 = first.frame_geometry[0];
  s.rows = first.rows;
  s.cols = first.cols;
  s.orientation = g0.orientation;
  s.spacing = g0.spacing;
  const std::string name = trf("series {}", s.id);
  UNET_CHECK(s.spacing[0] > 0 && s.spacing[1] > 0, first.file, tr("has PixelSpacing <= 0"));
  const Vec3 r = row_direction(s.orientation), c = column_direction(s.orientation);
  const Vec3 normal = cross(r, c);
  UNET_CHECK(std::abs(dot(normal, normal) - 1.0) < 1e-3 && std::abs(dot(r, c)) < 1e-3, first.file,
             tr("has an ImageOrientationPatient whose row and column directions are not perpendicular"));

  struct Entry {
    double along;
    Vec3 position;
    DicomSlice slice;
  };
  std::vector<Entry> entries;
  for (size_t fi = 0; fi < files.size(); ++fi) {
    const DicomFileInfo& f = files[fi];
    UNET_CHECK(f.rows == s.rows && f.cols == s.cols, f.file,
               trf("has {} x {} pixels, but {} of the same {} has {} x {}", std::to_string(f.rows),
                   std::to_string(f.cols), first.file, name, std::to_string(s.rows), std::to_string(s.cols)));
    for (int64_t fr = 0; fr < f.frames; ++fr) {
      const DicomFrameGeometry& g = f.frame_geometry[static_cast<size_t>(fr)];
      for (size_t k = 0; k < 6; ++k)
        UNET_CHECK(
            std::abs(g.orientation[k] - s.orientation[k]) < kDirectionTolerance, frame_name(f, fr),
            trf("has another ImageOrientationPatient than {} of the same {} (slices of one volume must share it)",
                first.file, name));
      for (size_t k = 0; k < 2; ++k)
        UNET_CHECK(std::abs(g.spacing[k] - s.spacing[k]) <= kSpacingTolerance * s.spacing[k], frame_name(f, fr),
                   trf("has PixelSpacing {} x {}, but {} of the same {} has {} x {}", mm(g.spacing[0]),
                       mm(g.spacing[1]), first.file, name, mm(s.spacing[0]), mm(s.spacing[1])));
      entries.push_back({dot(g.position, normal), g.position, DicomSlice{fi, fr}});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.along < b.along; });
  auto where = [&](const Entry& e) { return frame_name(files[e.slice.file], e.slice.frame); };

  // Slices must lie on one line along the normal: the in-plane part of every position equal.
  const double in_plane_tolerance = 0.5 * std::min(s.spacing[0], s.spacing[1]);
  for (const Entry& e : entries) {
    double off2 = 0.0;
    for (size_t k = 0; k < 3; ++k) {
      const double d = (e.position[k] - e.along * normal[k]) - (entries[0].position[k] - entries[0].along * normal[k]);
      off2 += d * d;
    }
    UNET_CHECK(std::sqrt(off2) <= in_plane_tolerance, where(e),
               trf("is shifted by {} within the image plane against {} of the same {} (a tilted gantry or another "
                   "field of view); the slices do not form one volume",
                   mm(std::sqrt(off2)), where(entries[0]), name));
  }
  // Duplicates, gaps and uneven steps. The smallest step is the spacing: a missing slice
  // only ever makes a step larger.
  constexpr double kSamePosition = 1e-3;  // mm: positions are written with ~0.01 mm precision or better
  double step = 0.0;
  for (size_t i = 1; i < entries.size(); ++i) {
    const double d = entries[i].along - entries[i - 1].along;
    UNET_CHECK(d > kSamePosition, where(entries[i]),
               trf("lies at the same position as {} ({} along the normal) in {}: a duplicated slice, or two "
                   "acquisitions in one series",
                   where(entries[i - 1]), mm(entries[i].along), name));
    step = i == 1 ? d : std::min(step, d);
  }
  for (size_t i = 1; i < entries.size(); ++i) {
    const double d = entries[i].along - entries[i - 1].along;
    UNET_CHECK(d <= 1.5 * step, where(entries[i]),
               trf("follows {} after {} where the slices of {} are {} apart: about {} slice(s) are missing",
                   where(entries[i - 1]), mm(d), name, mm(step), std::to_string(std::lround(d / step) - 1)));
    UNET_CHECK(d <= 1.1 * step, where(entries[i]),
               trf("follows {} after {} where the slices of {} are {} apart: the spacing is not regular",
                   where(entries[i - 1]), mm(d), name, mm(step)));
  }
  s.slice_spacing = entries.size() > 1 ? step : (first.slice_spacing > 0 ? first.slice_spacing : 1.0);
  s.origin = entries[0].position;
  for (const Entry& e : entries) s.slices.push_back(e.slice);
  s.files = std::move(files);
  return s;
}

DicomScan scan_dicom_folder(const std::string& folder, bool strict) {
  std::error_code ec;
  UNET_CHECK(fs::is_directory(folder, ec), folder, tr("is not a folder (a DICOM series folder was expected)"));
  DicomScan scan;
  std::vector<fs::path> paths;
  for (fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) paths.push_back(it->path());
  UNET_CHECK(!ec, folder, trf("cannot be read: {}", ec.message()));
  std::sort(paths.begin(), paths.end());  // the order of messages only; slices are ordered by position
  std::map<std::string, std::vector<DicomFileInfo>> by_series;
  for (const fs::path& p : paths) {
    ++scan.files_seen;
    try {
      DicomFileInfo info = read_dicom_info(p.string());
      by_series[info.series_uid].push_back(std::move(info));
    } catch (const Error& e) {
      if (strict) throw;
      scan.problems.push_back(trf("{} (skipped)", std::string(e.what())));
    }
  }
  for (auto& [uid, files] : by_series) {
    try {
      scan.series.push_back(assemble_series(std::move(files)));
    } catch (const Error& e) {
      if (strict) throw;
      scan.problems.push_back(trf("{} (series {} skipped)", std::string(e.what()), series_output_id(uid)));
    }
  }
  std::sort(scan.series.begin(), scan.series.end(), [](const DicomSeries& a, const DicomSeries& b) { return a.id < b.id; });
  UNET_CHECK(!scan.series.empty(), folder,
             scan.problems.empty()
                 ? trf("holds no usable DICOM series ({} files looked at)", std::to_string(scan.files_seen))
                 : trf("holds no usable DICOM series ({} files looked at; first problem: {})",
                       std::to_string(scan.files_seen), scan.problems.front()));
  return scan;
}

std::vector<float> read_series_voxels(const DicomSeries& series) {
  const int64_t plane = series.rows * series.cols;
  std::vector<float> out(static_cast<size_t>(series.slice_count() * plane));
  std::vector<std::vector<float>> pixels(series.files.size());  // each file decoded once, when first needed
  for (int64_t k = 0; k < series.slice_count(); ++k) {
    const DicomSlice& sl = series.slices[static_cast<size_t>(k)];
    std::vector<float>& p = pixels[sl.file];
    if (p.empty()) p = read_dicom_pixels(series.files[sl.file]);
    std::copy_n(p.begin() + sl.frame * plane, plane, out.begin() + k * plane);
    if (series.files[sl.file].frames == 1) std::vector<float>().swap(p);  // used once: free it now
  }
  return out;
}

bool folder_has_dicom(const std::string& folder) {
  std::error_code ec;
  int looked = 0;
  for (fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end && looked < 256; it.increment(ec)) {
    if (it.depth() >= 4) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    ++looked;
    if (has_dicom_magic(it->path().string())) return true;
  }
  return false;
}

}  // namespace unet::data
