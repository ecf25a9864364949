#include "data/kaggle_scan.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet::data {

namespace fs = std::filesystem;

int64_t ScanResult::slice_count() const {
  int64_t n = 0;
  for (const auto& p : patients) n += static_cast<int64_t>(p.slices.size());
  return n;
}

bool is_tiff_path(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".tif" || ext == ".tiff";
}

bool parse_slice_name(const std::string& stem, int& number, bool& is_mask) {
  std::string s = stem;
  is_mask = false;
  constexpr const char* kMask = "_mask";
  if (s.size() > 5 && s.compare(s.size() - 5, 5, kMask) == 0) {
    is_mask = true;
    s.resize(s.size() - 5);
  }
  const auto us = s.find_last_of('_');
  if (us == std::string::npos || us + 1 >= s.size() || s.size() - us - 1 > 6) return false;
  for (size_t i = us + 1; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  number = std::stoi(s.substr(us + 1));
  return true;
}

namespace {

bool has_case_folders(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(e.path(), ec))
      if (f.is_regular_file() && is_tiff_path(f.path().string())) return true;
  }
  return false;
}

}  // namespace

ScanResult scan_kaggle(const std::string& folder) {
  std::error_code ec;
  UNET_CHECK(fs::is_directory(folder, ec), folder, tr("data folder does not exist or is not a folder"));
  fs::path root = folder;
  if (fs::is_directory(root / "kaggle_3m", ec)) root = root / "kaggle_3m";
  UNET_CHECK(
      has_case_folders(root), folder,
      tr("no case folders with TIFF files found (expected kaggle_3m/<case>/<case>_<n>.tif and <case>_<n>_mask.tif)"));

  ScanResult result;
  result.root = root.string();
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory()) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  for (const auto& dir : cases) {
    std::map<int, SliceFiles> by_number;
    std::map<int, std::pair<bool, bool>> seen;  // number -> (image, mask)
    std::vector<std::string> odd;
    for (const auto& f : fs::directory_iterator(dir, ec)) {
      if (!f.is_regular_file() && !f.is_symlink()) continue;
      if (!is_tiff_path(f.path().string())) continue;  // data.csv, README, thumbnails...
      int n = 0;
      bool is_mask = false;
      if (!parse_slice_name(f.path().stem().string(), n, is_mask)) {
        odd.push_back(f.path().filename().string());
        continue;
      }
      auto& s = by_number[n];
      s.number = n;
      (is_mask ? s.mask : s.image) = f.path().string();
      (is_mask ? seen[n].second : seen[n].first) = true;
    }
    PatientFiles patient;
    patient.id = dir.filename().string();
    std::vector<std::string> unpaired;
    for (auto& [n, s] : by_number) {
      if (s.image.empty() || s.mask.empty()) {
        const std::string file = fs::path(s.image.empty() ? s.mask : s.image).filename().string();
        unpaired.push_back(s.image.empty() ? trf("{} (mask without image)", file)
                                           : trf("{} (image without mask)", file));
        continue;
      }
      patient.slices.push_back(s);
    }
    if (!unpaired.empty()) {
      std::string w = trf("{}: {} unpaired file(s): ", patient.id, unpaired.size());
      for (size_t i = 0; i < unpaired.size(); ++i) w += (i ? ", " : "") + unpaired[i];
      result.warnings.push_back(w);
    }
    if (!odd.empty()) {
      std::string w = trf("{}: {} TIFF file(s) not named <case>_<n>[_mask].tif, ignored: ", patient.id, odd.size());
      for (size_t i = 0; i < odd.size(); ++i) w += (i ? ", " : "") + odd[i];
      result.warnings.push_back(w);
    }
    if (!patient.slices.empty()) result.patients.push_back(std::move(patient));
  }
  UNET_CHECK(!result.patients.empty(), folder, tr("no image/mask pairs found in any case folder"));
  return result;
}

}  // namespace unet::data
