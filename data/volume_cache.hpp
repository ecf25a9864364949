// The preprocessed 2D data set on disk, so that a second run on the same data starts in
// seconds: decoding ~4,000 TIFF slices and the reference preprocessing take ~36 s on 2 cores,
// reading their result back takes a few. One file per (files, preprocessing) in the user's
// cache folder, never in the data folder (often shared or read-only):
//   $UNET_CACHE_DIR, else $XDG_CACHE_HOME/unet-engine, else ~/.cache/unet-engine.
// The key hashes every image and mask path with its size and modification time, the image size,
// the preprocessing and the format version, so a changed file or setting never reads stale data.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace unet::data {

// The cache folder as above ("" when none can be named: no HOME).
std::string volume_cache_dir();

// The file that holds this scan under these settings: <dir>/volumes-<16 hex digits>.bin.
std::string volume_cache_path(const std::string& dir, const ScanResult& scan, const LoadConfig& options);

// Reads `path` into volumes and report. False, with `why` set, when the file is absent,
// truncated or not a cache of this format (the caller then loads the data and writes anew).
bool read_volume_cache(const std::string& path, std::vector<Volume>& volumes, LoadReport& report, std::string& why);

// Writes atomically, then keeps the newest `keep` cache files of the folder (older data sets
// and settings go first). Errors name the file.
void write_volume_cache(const std::string& path, const std::vector<Volume>& volumes, const LoadReport& report,
                        int keep = 4);

// load_dataset through the cache: read when it holds this scan and these settings, else load
// and write it (a failed write is a warning in report.problems, never an error). `from_cache`
// says which happened.
std::vector<Volume> load_dataset_cached(const ScanResult& scan, const LoadConfig& options, LoadReport& report,
                                        const std::string& cache_dir, bool& from_cache);

}  // namespace unet::data
