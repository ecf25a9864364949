#include "data/split.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "base/rng.hpp"

namespace unet::data {

Split split_patients(std::vector<std::string> ids, double validation_fraction, uint64_t seed) {
  UNET_CHECK(validation_fraction >= 0.0 && validation_fraction < 1.0, "--val-fraction",
             trf("must be in [0, 1), got {}", std::to_string(validation_fraction)));
  std::sort(ids.begin(), ids.end());
  Rng rng(seed);
  for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.below(static_cast<uint32_t>(i))]);
  size_t n_val = static_cast<size_t>(std::lround(static_cast<double>(ids.size()) * validation_fraction));
  if (validation_fraction > 0.0 && ids.size() >= 2) n_val = std::clamp<size_t>(n_val, 1, ids.size() - 1);
  Split s;
  s.validation.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n_val));
  s.train.assign(ids.begin() + static_cast<std::ptrdiff_t>(n_val), ids.end());
  std::sort(s.validation.begin(), s.validation.end());
  std::sort(s.train.begin(), s.train.end());
  return s;
}

std::vector<std::string> read_id_list(const std::string& path) {
  std::ifstream in(path);
  UNET_CHECK(in.good(), path, tr("cannot read the patient list"));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line.erase(0, line.find_first_not_of(" \t\r"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

Split split_from_file(const std::vector<std::string>& ids, const std::string& path) {
  const std::set<std::string> known(ids.begin(), ids.end());
  std::set<std::string> val;
  for (const std::string& id : read_id_list(path)) {
    UNET_CHECK(known.count(id), path, trf("patient '{}' is not in the dataset", id));
    val.insert(id);
  }
  UNET_CHECK(!val.empty(), path, tr("the validation list is empty"));
  Split s;
  for (const auto& id : ids) (val.count(id) ? s.validation : s.train).push_back(id);
  std::sort(s.validation.begin(), s.validation.end());
  std::sort(s.train.begin(), s.train.end());
  UNET_CHECK(!s.train.empty(), path, tr("every patient is in the validation list; nothing is left to train on"));
  return s;
}

}  // namespace unet::data
