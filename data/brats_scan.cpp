#include "data/brats_scan.hpp"

#include <algorithm>
#include <filesystem>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "data/nifti_io.hpp"

namespace unet::data {

namespace fs = std::filesystem;

std::string brats_file_role(const std::string& filename) {
  if (!is_nifti_path(filename)) return "";
  std::string stem = filename;
  std::transform(stem.begin(), stem.end(), stem.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  stem.resize(stem.size() - (stem.size() >= 7 && stem.compare(stem.size() - 7, 7, ".nii.gz") == 0 ? 7 : 4));
  const auto us = stem.find_last_of('_');
  const std::string word = us == std::string::npos ? stem : stem.substr(us + 1);
  if (word == "seg" || word == "segm") return "seg";
  for (const char* m : kBratsModalities)
    if (word == m) return word;
  return "";
}

namespace {

bool is_case_folder(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string role = brats_file_role(e.path().filename().string());
    if (!role.empty() && role != "seg" && e.is_regular_file(ec)) return true;
  }
  return false;
}

// The case folders at the shallowest level (0 = `root` itself, up to 3) that has any.
std::vector<fs::path> find_case_folders(const fs::path& root) {
  std::vector<fs::path> level{root};
  for (int depth = 0; depth <= 3 && !level.empty(); ++depth) {
    std::vector<fs::path> cases, next;
    for (const auto& dir : level) {
      if (is_case_folder(dir)) cases.push_back(dir);
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory(ec)) next.push_back(e.path());
    }
    if (!cases.empty()) return cases;
    level = std::move(next);
  }
  return {};
}

}  // namespace

BratsScan scan_brats(const std::string& folder) {
  std::error_code ec;
  UNET_CHECK(fs::is_directory(folder, ec), folder, tr("data folder does not exist or is not a folder"));
  BratsScan scan;
  scan.root = folder;
  std::vector<fs::path> dirs = find_case_folders(folder);
  UNET_CHECK(!dirs.empty(), folder,
             tr("no BraTS case folder found (expected <case>/<case>_flair.nii[.gz], _t1, _t1ce, _t2 and _seg, in this "
                "folder or up to three levels below it)"));
  std::sort(dirs.begin(), dirs.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  for (const auto& dir : dirs) {
    BratsCaseFiles c;
    c.id = dir.filename().string();
    c.folder = dir.string();
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file(ec)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      const std::string name = f.filename().string();
      const std::string role = brats_file_role(name);
      if (role.empty()) {
        if (is_nifti_path(name))
          scan.warnings.push_back(
              trf("{}: {} is not named <case>_{flair,t1,t1ce,t2,seg}.nii[.gz]; ignored", c.id, name));
        continue;
      }
      std::string* slot = &c.seg;
      for (size_t m = 0; m < kBratsModalities.size(); ++m)
        if (role == kBratsModalities[m]) slot = &c.images[m];
      if (!slot->empty()) {
        c.defects.push_back(trf("two files for {}: {} and {}", role, fs::path(*slot).filename().string(), name));
        continue;
      }
      *slot = f.string();
    }
    for (size_t m = 0; m < kBratsModalities.size(); ++m)
      if (c.images[m].empty())
        c.defects.push_back(trf("modality {} is missing (no {}_{}.nii or .nii.gz in {})", kBratsModalities[m], c.id,
                                kBratsModalities[m], c.folder));
    scan.cases.push_back(std::move(c));
  }
  return scan;
}

}  // namespace unet::data
