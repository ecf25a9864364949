#include "data/dataset_kind.hpp"

#include <filesystem>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "data/nifti_io.hpp"

namespace unet::data {

namespace fs = std::filesystem;

namespace {
bool is_tiff(const fs::path& p) {
  std::string e = p.extension().string();
  for (auto& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return e == ".tif" || e == ".tiff";
}
}  // namespace

std::string detect_dataset_kind(const std::string& folder) {
  std::error_code ec;
  UNET_CHECK(fs::is_directory(folder, ec), folder, tr("is not a folder (--data must name the data set's folder)"));
  int64_t tiffs = 0, niftis = 0;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec), end;
  UNET_CHECK(!ec, folder, trf("cannot be read: {}", ec.message()));
  // Enough files of one kind settle it; the walk stops there so a huge folder costs little.
  constexpr int64_t kEnough = 64;
  for (; it != end && tiffs + niftis < kEnough; it.increment(ec)) {
    if (ec) break;
    if (it.depth() >= 4) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (is_tiff(it->path())) ++tiffs;
    if (is_nifti_path(it->path().string())) ++niftis;
  }
  UNET_CHECK(tiffs > 0 || niftis > 0, folder,
             tr("holds neither a Kaggle LGG data set (kaggle_3m/<case>/<case>_<n>.tif) nor a BraTS one "
                "(<case>/<case>_flair.nii[.gz]) within four levels"));
  UNET_CHECK(tiffs == 0 || niftis == 0, folder,
             tr("holds both TIFF slices (Kaggle LGG) and NIfTI volumes (BraTS); say which with --dataset kaggle or "
                "--dataset brats"));
  return niftis > 0 ? "brats" : "kaggle";
}

}  // namespace unet::data
