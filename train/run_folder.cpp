#include "train/run_folder.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace unet {

namespace fs = std::filesystem;
using nlohmann::json;

// Fails before any work when the run folder cannot be written.
void check_writable(const std::string& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  UNET_CHECK(!ec && fs::is_directory(out), out, "cannot create the output folder: " + (ec ? ec.message() : "not a folder"));
  const fs::path probe = fs::path(out) / ".write_test";
  {
    std::ofstream f(probe);
    f << "ok";
    f.flush();
    UNET_CHECK(f.good(), out, "cannot write to the output folder");
  }
  fs::remove(probe, ec);
}

// On resume with --data: the folder must hold the patients the run was trained on. Runs
// saved before the patient list was stored are checked by their validation list only.
void check_same_patients(const SafetensorsFile& checkpoint, std::vector<std::string> ids, const std::string& where) {
  const auto it = checkpoint.metadata.find("patients");
  if (it == checkpoint.metadata.end()) return;
  std::vector<std::string> stored;
  try {
    stored = json::parse(it->second).get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    UNET_THROW(where, std::string("bad 'patients' metadata: ") + e.what());
  }
  std::sort(ids.begin(), ids.end());
  std::sort(stored.begin(), stored.end());
  if (ids == stored) return;
  std::vector<std::string> missing, extra;
  std::set_difference(stored.begin(), stored.end(), ids.begin(), ids.end(), std::back_inserter(missing));
  std::set_difference(ids.begin(), ids.end(), stored.begin(), stored.end(), std::back_inserter(extra));
  auto some = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 3; ++i) s += (i ? ", " : "") + v[i];
    return s + (v.size() > 3 ? ", ..." : "");
  };
  UNET_THROW("--data", "the data folder does not hold the patients of the run in " + where + ": " +
                           std::to_string(missing.size()) + " missing (" + some(missing) + "), " +
                           std::to_string(extra.size()) + " not in the run (" + some(extra) + ")");
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6f", v);
  return b;
}

}  // namespace unet
