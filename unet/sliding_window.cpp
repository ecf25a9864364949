#include "unet/sliding_window.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet {

namespace {

// Sizes with a leading 1 prepended so that 2D and 3D share one loop.
using Dims3 = std::array<int64_t, 3>;

Dims3 as_3d(const std::vector<int64_t>& spatial) {
  return spatial.size() == 3 ? Dims3{spatial[0], spatial[1], spatial[2]} : Dims3{1, spatial[0], spatial[1]};
}

int64_t volume_of(const Dims3& d) {
  return d[0] * d[1] * d[2];
}

// Visits the rows (runs along the last axis) of a box inside a bigger grid, both channel-major
// [C][a][b][c], the box starting at `origin`: visit(index in the grid, index in the box, length).
template <typename Visit>
void for_each_row(int64_t channels, const Dims3& big, const Dims3& box, const Dims3& origin, Visit visit) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t x = 0; x < box[0]; ++x)
      for (int64_t y = 0; y < box[1]; ++y) {
        const int64_t big_at = ((c * big[0] + origin[0] + x) * big[1] + origin[1] + y) * big[2] + origin[2];
        const int64_t box_at = ((c * box[0] + x) * box[1] + y) * box[2];
        visit(big_at, box_at, box[2]);
      }
}

}  // namespace

std::vector<int64_t> sliding_window_steps(int64_t size, int64_t patch, double overlap) {
  UNET_CHECK(patch > 0, "sliding_window_steps", trf("the patch size must be positive; got {}", std::to_string(patch)));
  UNET_CHECK(size >= patch, "sliding_window_steps",
             trf("the axis ({} voxels) is shorter than the patch ({}); pad it first", std::to_string(size),
                 std::to_string(patch)));
  UNET_CHECK(overlap >= 0.0 && overlap < 1.0, "sliding_window_steps",
             trf("the overlap must lie in [0, 1); got {}", std::to_string(overlap)));
  const double step = static_cast<double>(patch) * (1.0 - overlap);
  const int64_t last = size - patch;
  const auto count = static_cast<int64_t>(std::ceil(static_cast<double>(last) / step)) + 1;
  std::vector<int64_t> steps(static_cast<size_t>(count), 0);
  if (count == 1) return steps;
  const double spread = static_cast<double>(last) / static_cast<double>(count - 1);
  // nearbyint in the default rounding mode rounds ties to even, as numpy.round does.
  for (int64_t i = 0; i < count; ++i)
    steps[static_cast<size_t>(i)] = static_cast<int64_t>(std::nearbyint(spread * static_cast<double>(i)));
  return steps;
}

std::vector<float> gaussian_importance_map(const std::vector<int64_t>& patch, double sigma_scale) {
  UNET_CHECK(!patch.empty(), "gaussian_importance_map", tr("the patch has no axes"));
  UNET_CHECK(sigma_scale > 0.0 && std::isfinite(sigma_scale), "gaussian_importance_map",
             trf("sigma_scale must be a positive number; got {}", std::to_string(sigma_scale)));
  // One factor per axis; the map is their outer product.
  std::vector<std::vector<double>> factors;
  for (const int64_t p : patch) {
    UNET_CHECK(p > 0, "gaussian_importance_map", trf("every patch size must be positive; got {}", std::to_string(p)));
    const double sigma = static_cast<double>(p) * sigma_scale, centre = static_cast<double>(p / 2);
    std::vector<double> f(static_cast<size_t>(p));
    for (int64_t i = 0; i < p; ++i) {
      const double d = static_cast<double>(i) - centre;
      f[static_cast<size_t>(i)] = std::exp(-d * d / (2.0 * sigma * sigma));
    }
    factors.push_back(std::move(f));
  }
  std::vector<float> map{1.0f};
  for (const auto& f : factors) {
    std::vector<float> next;
    next.reserve(map.size() * f.size());
    for (const float m : map)
      for (const double v : f) next.push_back(static_cast<float>(m * v));
    map = std::move(next);
  }
  const float peak = *std::max_element(map.begin(), map.end());  // 1 already; kept exact if not
  float smallest = std::numeric_limits<float>::infinity();
  for (float& v : map) {
    v /= peak;
    if (v > 0.0f) smallest = std::min(smallest, v);
  }
  // A voxel of weight 0 covered by one tile only would divide 0 by 0.
  for (float& v : map)
    if (v == 0.0f) v = smallest;
  return map;
}

Tensor sliding_window_predict(const Tensor& image, const PatchPredictor& predict, const SlidingWindowOptions& options) {
  const char* op = "sliding_window_predict";
  UNET_CHECK(image.defined(), op, tr("the image is undefined"));
  const auto spatial_dims = static_cast<int64_t>(options.patch.size());
  UNET_CHECK(spatial_dims == 2 || spatial_dims == 3, op,
             trf("the patch must have 2 or 3 sizes (2D or 3D); got {}", std::to_string(spatial_dims)));
  UNET_CHECK(
      image.ndim() == spatial_dims + 1, op,
      trf("the image must be [C, {}] for a {}D patch; got {}", std::string(spatial_dims == 3 ? "X, Y, Z" : "X, Y"),
          std::to_string(spatial_dims), shape_str(image.shape())));
  UNET_CHECK(static_cast<bool>(predict), op, tr("the patch predictor is empty"));
  const int64_t channels = image.dim(0);
  const Shape spatial_shape(image.shape().begin() + 1, image.shape().end());
  const Dims3 size = as_3d(spatial_shape), patch = as_3d(options.patch);

  // Zero-pad each axis shorter than the patch, centred as nnU-Net pads.
  Dims3 padded{}, pad_before{};
  for (int a = 0; a < 3; ++a) {
    padded[a] = std::max(size[a], patch[a]);
    pad_before[a] = (padded[a] - size[a]) / 2;
  }
  const std::vector<float> original = image.to_vector();
  std::vector<float> input(static_cast<size_t>(channels * volume_of(padded)), 0.0f);
  for_each_row(channels, padded, size, pad_before, [&](int64_t big_at, int64_t box_at, int64_t n) {
    std::copy_n(original.data() + box_at, n, input.data() + big_at);
  });

  std::vector<std::vector<int64_t>> steps(3);
  for (int a = 0; a < 3; ++a)
    steps[static_cast<size_t>(a)] = sliding_window_steps(padded[a], patch[a], options.overlap);
  const std::vector<float> gaussian = gaussian_importance_map(options.patch, options.sigma_scale);

  Shape patch_shape{1, channels};
  patch_shape.insert(patch_shape.end(), options.patch.begin(), options.patch.end());
  const int64_t patch_voxels = volume_of(patch);
  std::vector<float> patch_input(static_cast<size_t>(channels * patch_voxels));
  std::vector<float> weighted_sum, weight_sum(static_cast<size_t>(volume_of(padded)), 0.0f);
  int64_t classes = 0;

  for (const int64_t x0 : steps[0])
    for (const int64_t y0 : steps[1])
      for (const int64_t z0 : steps[2]) {
        const Dims3 origin{x0, y0, z0};
        for_each_row(channels, padded, patch, origin, [&](int64_t big_at, int64_t box_at, int64_t n) {
          std::copy_n(input.data() + big_at, n, patch_input.data() + box_at);
        });
        const Tensor out = predict(Tensor::from_host(patch_shape, patch_input.data(), options.patch_device));
        UNET_CHECK(out.defined() && out.ndim() == spatial_dims + 2 && out.dim(0) == 1 &&
                       std::equal(options.patch.begin(), options.patch.end(), out.shape().begin() + 2),
                   op,
                   trf("the predictor must return [1, K, patch...] = [1, K, {}] for input {}; got {}",
                       shape_str(options.patch), shape_str(patch_shape),
                       (out.defined() ? shape_str(out.shape()) : tr("nothing"))));
        if (classes == 0) {
          classes = out.dim(1);
          weighted_sum.assign(static_cast<size_t>(classes * volume_of(padded)), 0.0f);
        }
        UNET_CHECK(out.dim(1) == classes, op,
                   trf("the predictor returned {} classes for one patch and {} for an earlier one",
                       std::to_string(out.dim(1)), std::to_string(classes)));
        const std::vector<float> scores = out.to_vector();
        for_each_row(classes, padded, patch, origin, [&](int64_t big_at, int64_t box_at, int64_t n) {
          const float* g = gaussian.data() + box_at % patch_voxels;
          for (int64_t i = 0; i < n; ++i) weighted_sum[static_cast<size_t>(big_at + i)] += scores[box_at + i] * g[i];
        });
        for_each_row(1, padded, patch, origin, [&](int64_t big_at, int64_t box_at, int64_t n) {
          for (int64_t i = 0; i < n; ++i) weight_sum[static_cast<size_t>(big_at + i)] += gaussian[box_at + i];
        });
      }

  // Divide and crop the padding away.
  Shape result_shape{classes};
  result_shape.insert(result_shape.end(), spatial_shape.begin(), spatial_shape.end());
  std::vector<float> result(static_cast<size_t>(classes * volume_of(size)));
  const int64_t padded_voxels = volume_of(padded);
  for_each_row(classes, padded, size, pad_before, [&](int64_t big_at, int64_t box_at, int64_t n) {
    const float* w = weight_sum.data() + big_at % padded_voxels;
    for (int64_t i = 0; i < n; ++i) result[static_cast<size_t>(box_at + i)] = weighted_sum[big_at + i] / w[i];
  });
  return Tensor::from_vector(result_shape, result);
}

Tensor softmax_over_classes(const Tensor& scores) {
  UNET_CHECK(scores.defined() && scores.ndim() >= 1 && scores.dim(0) > 0, "softmax_over_classes",
             tr("the scores must be [K, ...] with K >= 1"));
  std::vector<float> v = scores.to_vector();
  const int64_t classes = scores.dim(0), voxels = scores.numel() / classes;
  for (int64_t i = 0; i < voxels; ++i) {
    float top = -std::numeric_limits<float>::infinity();
    for (int64_t k = 0; k < classes; ++k) top = std::max(top, v[static_cast<size_t>(k * voxels + i)]);
    double sum = 0.0;  // subtracting the maximum keeps exp() from overflowing
    for (int64_t k = 0; k < classes; ++k) {
      float& s = v[static_cast<size_t>(k * voxels + i)];
      s = std::exp(s - top);
      sum += s;
    }
    for (int64_t k = 0; k < classes; ++k) v[static_cast<size_t>(k * voxels + i)] /= static_cast<float>(sum);
  }
  return Tensor::from_vector(scores.shape(), v);
}

std::vector<uint8_t> argmax_classes(const Tensor& scores) {
  UNET_CHECK(scores.defined() && scores.ndim() >= 1 && scores.dim(0) > 0 && scores.dim(0) <= 256, "argmax_classes",
             tr("the scores must be [K, ...] with 1 <= K <= 256"));
  const std::vector<float> v = scores.to_vector();
  const int64_t classes = scores.dim(0), voxels = scores.numel() / classes;
  std::vector<uint8_t> out(static_cast<size_t>(voxels), 0);
  for (int64_t i = 0; i < voxels; ++i) {
    float best = v[static_cast<size_t>(i)];
    for (int64_t k = 1; k < classes; ++k) {
      const float s = v[static_cast<size_t>(k * voxels + i)];
      if (s > best) best = s, out[static_cast<size_t>(i)] = static_cast<uint8_t>(k);
    }
  }
  return out;
}

}  // namespace unet
