#include "data/dataset.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "data/tiff_io.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "kernels/kernels.hpp"

namespace unet::data {

Preprocess parse_preprocess(const std::string& name) {
  if (name == "reference") return Preprocess::Reference;
  if (name == "simple") return Preprocess::Simple;
  UNET_THROW("--preprocess", trf("'{}' is not a preprocessing mode; use reference or simple", name));
}

std::string preprocess_name(Preprocess p) { return p == Preprocess::Reference ? "reference" : "simple"; }

int64_t Volume::mask_area(int64_t slice) const {
  const auto* m = masks.data() + slice * size * size;
  int64_t a = 0;
  for (int64_t i = 0; i < size * size; ++i) a += m[i];
  return a;
}

std::vector<float> resize_bilinear(const float* src, int64_t h, int64_t w, int64_t oh, int64_t ow) {
  std::vector<float> out(static_cast<size_t>(oh * ow));
  kernels::resize_bilinear(Device::CPU, h, w, oh, ow, src, out.data());
  return out;
}

std::vector<uint8_t> resize_nearest(const uint8_t* src, int64_t h, int64_t w, int64_t oh, int64_t ow) {
  std::vector<uint8_t> out(static_cast<size_t>(oh * ow));
  kernels::resize_nearest(Device::CPU, h, w, oh, ow, src, out.data());
  return out;
}

namespace {

// numpy.percentile's default (linear interpolation between order statistics).
float percentile(std::vector<float> v, double q) {
  if (v.empty()) return 0.0f;
  const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  const float a = v[lo];
  float b = a;
  if (hi != lo) b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(lo) + 1, v.end());
  return static_cast<float>(a + (b - a) * (pos - static_cast<double>(lo)));
}

}  // namespace

Volume preprocess_volume(const std::string& patient, const std::vector<int>& numbers, const std::vector<Image>& images,
                         const std::vector<std::vector<uint8_t>>& masks, Preprocess mode, int64_t size,
                         VolumeGeometry* geometry) {
  UNET_CHECK(!images.empty() && images.size() == masks.size() && images.size() == numbers.size(), patient,
             tr("volume without slices"));
  const int64_t h = images[0].height, w = images[0].width;
  int64_t depth = static_cast<int64_t>(images.size());
  // The volume as float [D, H, W, 3] in its original units (grayscale replicated to 3).
  std::vector<float> vol(static_cast<size_t>(depth * h * w * 3));
  float vmax = 0.0f;
  for (int64_t d = 0; d < depth; ++d) {
    const Image& im = images[static_cast<size_t>(d)];
    for (int64_t i = 0; i < h * w; ++i)
      for (int64_t c = 0; c < 3; ++c) {
        const float v = im.pixels[static_cast<size_t>(i * im.channels + (im.channels == 3 ? c : 0))];
        vol[static_cast<size_t>((d * h * w + i) * 3 + c)] = v;
        vmax = std::max(vmax, v);
      }
  }
  std::vector<uint8_t> mvol(static_cast<size_t>(depth * h * w));
  for (int64_t d = 0; d < depth; ++d)
    std::copy(masks[static_cast<size_t>(d)].begin(), masks[static_cast<size_t>(d)].end(), mvol.begin() + d * h * w);

  std::vector<int> kept_numbers = numbers;
  int64_t z0 = 0, z1 = depth, y0 = 0, y1 = h, x0 = 0, x1 = w;
  if (mode == Preprocess::Reference && vmax > 0.0f) {
    // crop_sample: zero everything below 10% of the max, then the bounding box of the rest.
    const float thr = 0.1f * vmax;
    z0 = depth, z1 = -1, y0 = h, y1 = -1, x0 = w, x1 = -1;
    for (int64_t d = 0; d < depth; ++d)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          float* p = &vol[static_cast<size_t>(((d * h + y) * w + x) * 3)];
          bool any = false;
          for (int c = 0; c < 3; ++c) {
            if (p[c] < thr) p[c] = 0.0f;
            any |= p[c] > 0.0f;
          }
          if (any) {
            z0 = std::min(z0, d), z1 = std::max(z1, d);
            y0 = std::min(y0, y), y1 = std::max(y1, y);
            x0 = std::min(x0, x), x1 = std::max(x1, x);
          }
        }
    ++z1, ++y1, ++x1;
  }
  const int64_t ch = y1 - y0, cw = x1 - x0;
  // pad_sample: centre the crop in a square (floor before, ceil after).
  const int64_t side = mode == Preprocess::Reference ? std::max(ch, cw) : 0;
  const int64_t pad_y = mode == Preprocess::Reference ? (side - ch) / 2 : 0;
  const int64_t pad_x = mode == Preprocess::Reference ? (side - cw) / 2 : 0;
  const int64_t sh = mode == Preprocess::Reference ? side : h, sw = mode == Preprocess::Reference ? side : w;

  if (geometry != nullptr) *geometry = VolumeGeometry{h, w, z0, z1, y0, y1, x0, x1, pad_y, pad_x, sh, sw};
  Volume v;
  v.patient = patient;
  v.size = size;
  v.slice_numbers.assign(kept_numbers.begin() + z0, kept_numbers.begin() + z1);
  depth = z1 - z0;
  const int64_t plane = size * size;
  std::vector<float> resized(static_cast<size_t>(depth * 3 * plane));  // [D, 3, S, S]
  v.masks.resize(static_cast<size_t>(depth * plane));
  std::vector<float> src(static_cast<size_t>(sh * sw));
  std::vector<uint8_t> msrc(static_cast<size_t>(sh * sw));
  for (int64_t d = 0; d < depth; ++d) {
    const int64_t z = z0 + d;
    for (int64_t c = 0; c < 3; ++c) {
      std::fill(src.begin(), src.end(), 0.0f);
      for (int64_t y = 0; y < ch; ++y)
        for (int64_t x = 0; x < cw; ++x)
          src[static_cast<size_t>((y + pad_y) * sw + x + pad_x)] =
              vol[static_cast<size_t>(((z * h + y0 + y) * w + x0 + x) * 3 + c)];
      const auto r = resize_bilinear(src.data(), sh, sw, size, size);
      std::copy(r.begin(), r.end(), resized.begin() + (d * 3 + c) * plane);
    }
    std::fill(msrc.begin(), msrc.end(), 0);
    for (int64_t y = 0; y < ch; ++y)
      for (int64_t x = 0; x < cw; ++x)
        msrc[static_cast<size_t>((y + pad_y) * sw + x + pad_x)] = mvol[static_cast<size_t>((z * h + y0 + y) * w + x0 + x)];
    const auto m = resize_nearest(msrc.data(), sh, sw, size, size);
    std::copy(m.begin(), m.end(), v.masks.begin() + d * plane);
  }

  // Intensity scaling to [0, 1], then uint8.
  float lo = 0.0f, hi = vmax > 0.0f ? vmax : 1.0f;
  if (mode == Preprocess::Reference) {
    lo = percentile(resized, 10.0);
    hi = percentile(resized, 99.0);
  } else if (images[0].bits == 8) {
    hi = 255.0f;
  }
  const float range = hi > lo ? hi - lo : 1.0f;
  v.images.resize(resized.size());
  for (size_t i = 0; i < resized.size(); ++i) {
    const float u = std::clamp((resized[i] - lo) / range, 0.0f, 1.0f);
    v.images[i] = static_cast<uint8_t>(std::lround(u * 255.0f));
  }
  if (mode == Preprocess::Reference) {
    // normalize_volume: z-score per channel, from the stored (quantised) values.
    for (int64_t c = 0; c < 3; ++c) {
      double s = 0, s2 = 0;
      const double n = static_cast<double>(depth * plane);
      for (int64_t d = 0; d < depth; ++d)
        for (int64_t i = 0; i < plane; ++i) {
          const double u = v.images[static_cast<size_t>((d * 3 + c) * plane + i)] / 255.0;
          s += u, s2 += u * u;
        }
      const double mean = s / n, var = std::max(0.0, s2 / n - mean * mean);
      v.mean[c] = static_cast<float>(mean);
      v.stdev[c] = var > 1e-12 ? static_cast<float>(std::sqrt(var)) : 1.0f;
    }
  }
  return v;
}

std::vector<Volume> load_dataset(const ScanResult& scan, const LoadConfig& options, LoadReport& report) {
  UNET_CHECK(options.size >= 16, "--size", trf("image size must be at least 16, got {}", std::to_string(options.size)));
  std::vector<Volume> volumes(scan.patients.size());
  std::vector<bool> ok(scan.patients.size(), false);
  std::mutex mu;
  std::atomic<size_t> next{0};
  std::exception_ptr first_error;
  auto problem = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    report.problems.push_back(what);
    ++report.skipped_files;
  };
  auto worker = [&] {
    for (size_t p = next++; p < scan.patients.size(); p = next++) {
      const PatientFiles& patient = scan.patients[p];
      try {
        std::vector<Image> images;
        std::vector<std::vector<uint8_t>> masks;
        std::vector<int> numbers;
        for (const SliceFiles& s : patient.slices) {
          try {
            Image im = read_tiff(s.image);
            Image mk = read_tiff(s.mask);
            UNET_CHECK(im.height == mk.height && im.width == mk.width, s.mask,
                       trf("mask is {}x{} but its image {} is {}x{}", std::to_string(mk.width),
                           std::to_string(mk.height), s.image, std::to_string(im.width), std::to_string(im.height)));
            UNET_CHECK(im.channels == 1 || im.channels == 3, s.image, tr("expected 1 or 3 channels"));
            if (!images.empty())
              UNET_CHECK(im.height == images[0].height && im.width == images[0].width && im.bits == images[0].bits,
                         s.image, tr("slice size or bit depth differs from the rest of the volume"));
            masks.push_back(mask_to_binary(mk, s.mask));
            images.push_back(std::move(im));
            numbers.push_back(s.number);
          } catch (const Error& e) {
            if (options.strict) throw;
            problem(trf("skipped slice: {}", e.what()));
          }
        }
        if (images.empty()) {
          if (options.strict) UNET_THROW(patient.id, tr("no readable slices"));
          problem(trf("skipped patient {}: no readable slices", patient.id));
          continue;
        }
        volumes[p] = preprocess_volume(patient.id, numbers, images, masks, options.mode, options.size);
        ok[p] = true;
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!first_error) first_error = std::current_exception();
        next = scan.patients.size();  // stop the other workers early
      }
    }
  };
  const int n_threads = std::max(1, std::min<int>(options.threads, static_cast<int>(scan.patients.size())));
  std::vector<std::thread> pool;
  for (int t = 0; t < n_threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (first_error) std::rethrow_exception(first_error);

  std::vector<Volume> out;
  for (size_t p = 0; p < volumes.size(); ++p) {
    if (!ok[p]) continue;
    report.slices += volumes[p].depth();
    for (int64_t d = 0; d < volumes[p].depth(); ++d) report.tumour_slices += volumes[p].mask_area(d) > 0 ? 1 : 0;
    out.push_back(std::move(volumes[p]));
  }
  report.patients = static_cast<int64_t>(out.size());
  UNET_CHECK(!out.empty(), scan.root, tr("no usable volume (every patient was skipped; see the problems above)"));
  return out;
}

}  // namespace unet::data
