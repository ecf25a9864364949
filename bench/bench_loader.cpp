// Loader throughput: samples/s of rendered, augmented 256x256 batches from the in-memory
// dataset, beside the cost of a plain memcpy of the same bytes (the floor any loader pays).
// Usage: bench_loader [--size 256] [--batch 16] [--workers 2] [--epochs 3] [--data DIR]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "data/dataset.hpp"
#include "data/kaggle_scan.hpp"
#include "data/loader.hpp"
#include "base/rng.hpp"

using namespace unet;
using namespace unet::data;

namespace {
// Volumes with random content (the loader's cost does not depend on the pixels).
std::vector<Volume> random_volumes(int64_t size, int n, int depth) {
  std::vector<Volume> vols(static_cast<size_t>(n));
  Rng rng(1);
  for (auto& v : vols) {
    v.patient = "R";
    v.size = size;
    for (int d = 0; d < depth; ++d) v.slice_numbers.push_back(d + 1);
    v.images.resize(static_cast<size_t>(depth * 3 * size * size));
    v.masks.resize(static_cast<size_t>(depth * size * size));
    for (auto& p : v.images) p = static_cast<uint8_t>(rng.next_u32());
    for (size_t i = 0; i < v.masks.size(); ++i) v.masks[i] = (i / 1000) % 3 == 0;
    for (int c = 0; c < 3; ++c) v.mean[c] = 0.5f, v.stdev[c] = 0.29f;
  }
  return vols;
}
}  // namespace

int main(int argc, char** argv) {
  int64_t size = 256, batch = 16;
  int workers = 2, epochs = 3;
  std::string data_dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--size") size = std::stoll(v);
    else if (k == "--batch") batch = std::stoll(v);
    else if (k == "--workers") workers = std::stoi(v);
    else if (k == "--epochs") epochs = std::stoi(v);
    else if (k == "--data") data_dir = v;
    else {
      std::fprintf(stderr, "bench_loader: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  std::vector<Volume> vols;
  if (!data_dir.empty()) {
    LoadReport rep;
    LoadConfig opt;
    opt.size = size;
    vols = load_dataset(scan_kaggle(data_dir), opt, rep);
  } else {
    vols = random_volumes(size, 8, 40);
  }
  std::vector<size_t> all(vols.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto items = select_slices(vols, all, false);
  LoaderConfig cfg;
  cfg.batch_size = batch;
  cfg.workers = workers;
  cfg.augment = true;
  cfg.shuffle = true;
  Loader loader(vols, items, cfg);

  int64_t samples = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int e = 0; e < epochs; ++e) {
    loader.start_epoch(e);
    Batch b;
    while (loader.next(b)) samples += b.size;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // The same bytes moved by memcpy (uint8 source -> float batch would be 4x; compare bytes out).
  const size_t out_bytes = static_cast<size_t>(samples) * static_cast<size_t>(4 * size * size) * sizeof(float);
  std::vector<char> a(static_cast<size_t>(64) << 20), bbuf(a.size());
  const auto t1 = std::chrono::steady_clock::now();
  for (size_t done = 0; done < out_bytes; done += a.size()) std::memcpy(bbuf.data(), a.data(), a.size());
  const double mem_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();

  std::printf("loader: %lld samples of %lldx%lld with augmentation, batch %lld, %d workers\n",
              static_cast<long long>(samples), static_cast<long long>(size), static_cast<long long>(size),
              static_cast<long long>(batch), workers);
  std::printf("  %.0f samples/s (%.2f GB/s of batch output); memcpy of the same bytes: %.2f GB/s\n",
              static_cast<double>(samples) / secs, static_cast<double>(out_bytes) / secs / 1e9,
              static_cast<double>(out_bytes) / mem_secs / 1e9);
  std::printf("  target >= 400 samples/s: %s\n", static_cast<double>(samples) / secs >= 400 ? "PASS" : "FAIL");
  return 0;
}
