#include "data/brats_volume.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <thread>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "data/brats_labels.hpp"

namespace unet::data {

int64_t BratsCase::tumour_voxels() const {
  int64_t n = 0;
  for (uint8_t c : classes) n += c != 0 ? 1 : 0;
  return n;
}

void normalize_nonzero(float* voxels, int64_t n) {
  double sum = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i)
    if (voxels[i] != 0.0f) sum += voxels[i], ++count;
  if (count == 0) return;
  const double mean = sum / static_cast<double>(count);
  double squares = 0.0;  // two passes: exact enough where sum-of-squares would cancel
  for (int64_t i = 0; i < n; ++i)
    if (voxels[i] != 0.0f) squares += (voxels[i] - mean) * (voxels[i] - mean);
  const double denom = std::sqrt(squares / static_cast<double>(count)) + 1e-8;
  for (int64_t i = 0; i < n; ++i)
    if (voxels[i] != 0.0f) voxels[i] = static_cast<float>((voxels[i] - mean) / denom);
}

namespace {

std::string dims_text(const std::array<int64_t, 3>& d) {
  return std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" + std::to_string(d[2]);
}

}  // namespace

BratsCase load_brats_case(const BratsCaseFiles& files) {
  if (!files.defects.empty()) {
    std::string all;
    for (const auto& d : files.defects) all += (all.empty() ? "" : "; ") + d;
    UNET_THROW(files.folder, all);
  }
  BratsCase c;
  c.id = files.id;
  for (size_t m = 0; m < files.images.size(); ++m) {
    NiftiVolume v = read_nifti(files.images[m]);
    if (m == 0) {
      c.dims = v.dims;
      c.spacing = v.header.spacing();
      c.reference = v.header;
      c.image.resize(static_cast<size_t>(4 * c.voxel_count()));
    } else {
      UNET_CHECK(v.dims == c.dims, files.images[m],
                 trf("is {} but {} is {}; all modalities of a case must have the same shape", dims_text(v.dims),
                     files.images[0], dims_text(c.dims)));
    }
    normalize_nonzero(v.voxels.data(), v.voxel_count());
    std::copy(v.voxels.begin(), v.voxels.end(), c.image.begin() + static_cast<std::ptrdiff_t>(m) * c.voxel_count());
  }
  if (files.has_labels()) {
    NiftiVolume seg = read_nifti(files.seg);
    UNET_CHECK(seg.dims == c.dims, files.seg,
               trf("is {} but the images ({}) are {}; the segmentation must have the images' shape",
                   dims_text(seg.dims), files.images[0], dims_text(c.dims)));
    c.classes = brats_labels_to_classes(seg.voxels, seg.dims, files.seg);
    c.has_labels = true;
  }
  return c;
}

std::vector<BratsCase> load_brats_dataset(const BratsScan& scan, const BratsLoadConfig& config,
                                          BratsLoadReport& report) {
  UNET_CHECK(config.max_data >= 0, "--max-data", tr("must be 0 (all cases) or positive"));
  size_t n = scan.cases.size();
  if (config.max_data > 0) n = std::min(n, static_cast<size_t>(config.max_data));
  std::vector<BratsCase> cases(n);
  std::vector<std::string> problem(n);  // per case, so the report stays in id order
  std::vector<std::exception_ptr> fatal(n);  // strict mode, or not an unet::Error
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < n; i = next++) {
      const BratsCaseFiles& files = scan.cases[i];
      try {
        if (config.require_labels && !files.has_labels())
          UNET_THROW(files.folder, trf("has no segmentation ({}_seg.nii[.gz]), needed for training", files.id));
        cases[i] = load_brats_case(files);
      } catch (const Error& e) {
        if (!config.strict) {
          problem[i] = trf("skipped case {}: {}", files.id, e.what());
          continue;
        }
        fatal[i] = std::current_exception();
        next = n;  // stop the other workers early
      } catch (...) {
        fatal[i] = std::current_exception();
        next = n;
      }
    }
  };
  const int n_threads = std::max(1, std::min<int>(config.threads, static_cast<int>(n)));
  std::vector<std::thread> pool;
  for (int t = 0; t < n_threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  // The first failing case in id order among those reached, whichever thread met it first.
  for (const auto& e : fatal)
    if (e) std::rethrow_exception(e);

  std::vector<BratsCase> out;
  for (size_t i = 0; i < n; ++i) {
    if (!problem[i].empty()) {
      report.problems.push_back(problem[i]);
      ++report.skipped;
      continue;
    }
    report.without_labels += cases[i].has_labels ? 0 : 1;
    out.push_back(std::move(cases[i]));
  }
  report.cases = static_cast<int64_t>(out.size());
  UNET_CHECK(!out.empty(), scan.root, tr("no usable BraTS case (every case was skipped; see the problems above)"));
  return out;
}

}  // namespace unet::data
