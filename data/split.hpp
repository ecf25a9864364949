// Patient-level train/validation split: no patient has slices on both sides.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unet::data {

struct Split {
  std::vector<std::string> train, validation;  // patient ids, sorted
};

// Sorts the ids, shuffles them with the seed's Philox stream and takes the first
// round(n * fraction) (at least 1 when n >= 2) for validation. Depends only on the ids and
// the seed: identical on every machine and every run.
Split split_patients(std::vector<std::string> ids, double validation_fraction, uint64_t seed);

// Patient ids from a text file, one per line; blank lines and # comments are ignored and
// surrounding spaces trimmed (a run's validation_patients.txt is such a file).
std::vector<std::string> read_id_list(const std::string& path);

// An explicit validation list (one id per line; blank lines and # comments ignored).
// Errors name the file and any id that is not in `ids`.
Split split_from_file(const std::vector<std::string>& ids, const std::string& path);

}  // namespace unet::data
