#include "data/brats_case_store.hpp"

#include <algorithm>
#include <unistd.h>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "data/nifti_io.hpp"

namespace unet::data {

namespace {
// The shape of a case from its headers alone, or an Error naming the file that disagrees.
std::array<int64_t, 3> checked_dims(const BratsCaseFiles& f) {
  if (!f.defects.empty()) {
    std::string all;
    for (const auto& d : f.defects) all += (all.empty() ? "" : "; ") + d;
    UNET_THROW(f.folder, all);
  }
  UNET_CHECK(f.has_labels(), f.folder, tr("has no seg file; training needs the labels"));
  const std::array<int64_t, 3> dims = read_nifti_header(f.images[0]).dims();
  for (size_t m = 1; m < f.images.size(); ++m)
    UNET_CHECK(read_nifti_header(f.images[m]).dims() == dims, f.images[m],
               trf("has another shape than {}; all modalities of a case must have the same shape", f.images[0]));
  UNET_CHECK(read_nifti_header(f.seg).dims() == dims, f.seg, tr("has another shape than the images of its case"));
  return dims;
}
}  // namespace

int64_t BratsCaseStore::case_bytes(const std::array<int64_t, 3>& dims) {
  return dims[0] * dims[1] * dims[2] * static_cast<int64_t>(4 * sizeof(float) + 1);
}

int64_t default_case_memory_budget() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return int64_t{8} << 30;
  return static_cast<int64_t>(pages) * page / 2;
}

BratsCaseStore::BratsCaseStore(const BratsScan& scan, const BratsLoadConfig& config, int64_t memory_budget,
                               BratsLoadReport& report)
    : budget_(memory_budget) {
  UNET_CHECK(config.max_data >= 0, "--max-data", tr("must be 0 (all cases) or positive"));
  size_t n = scan.cases.size();
  if (config.max_data > 0) n = std::min(n, static_cast<size_t>(config.max_data));
  // The headers first: they give every case's size, and whether all fit.
  std::vector<BratsCaseFiles> usable;
  for (size_t i = 0; i < n; ++i) {
    const BratsCaseFiles& f = scan.cases[i];
    try {
      const int64_t b = case_bytes(checked_dims(f));
      usable.push_back(f);
      bytes_.push_back(b);
      bytes_of_all_ += b;
    } catch (const Error& e) {
      if (config.strict) throw;
      report.problems.push_back(trf("skipped case {}: {}", f.id, e.what()));
      ++report.skipped;
    }
  }
  UNET_CHECK(!usable.empty(), scan.root, tr("no usable BraTS case (every case was skipped; see the problems above)"));
  held_ = bytes_of_all_ <= budget_;
  if (held_) {
    // Everything in memory, every voxel checked now (labels too), loaded by several threads.
    BratsScan subset = scan;
    subset.cases = usable;
    BratsLoadConfig all = config;
    all.max_data = 0;
    BratsLoadReport loaded;
    std::vector<BratsCase> cases = load_brats_dataset(subset, all, loaded);
    report.problems.insert(report.problems.end(), loaded.problems.begin(), loaded.problems.end());
    report.skipped += loaded.skipped;
    files_.clear();
    bytes_.clear();
    bytes_of_all_ = 0;
    for (BratsCase& c : cases) {
      auto it = std::find_if(usable.begin(), usable.end(), [&](const BratsCaseFiles& f) { return f.id == c.id; });
      files_.push_back(*it);
      bytes_.push_back(case_bytes(c.dims));
      bytes_of_all_ += bytes_.back();
      cached_.push_back(std::make_shared<const BratsCase>(std::move(c)));
    }
  } else {
    files_ = std::move(usable);
    cached_.resize(files_.size());
  }
  report.cases = static_cast<int64_t>(files_.size());
}

std::shared_ptr<const BratsCase> BratsCaseStore::get(size_t i) {
  UNET_CHECK(i < files_.size(), "BratsCaseStore", trf("no case {}", std::to_string(i)));
  std::lock_guard<std::mutex> lock(mu_);
  if (held_) return cached_[i];
  recent_.remove(i);
  recent_.push_front(i);
  if (cached_[i]) return cached_[i];
  auto c = std::make_shared<const BratsCase>(load_brats_case(files_[i]));  // throws naming the file
  UNET_CHECK(c->has_labels, files_[i].folder, tr("has no seg file; training needs the labels"));
  cached_[i] = c;
  bytes_cached_ += bytes_[i];
  // Keep the most recent cases up to the budget (at least the one just read).
  while (bytes_cached_ > budget_ && recent_.size() > 1) {
    const size_t old = recent_.back();
    recent_.pop_back();
    if (cached_[old]) {
      cached_[old].reset();  // a caller may still hold it; its memory goes with the last holder
      bytes_cached_ -= bytes_[old];
    }
  }
  return c;
}

}  // namespace unet::data
