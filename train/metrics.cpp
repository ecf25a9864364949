#include "train/metrics.hpp"

#include <algorithm>
#include <numeric>

namespace unet {

double dice(const uint8_t* pred, const uint8_t* truth, int64_t n) {
  int64_t inter = 0, p = 0, t = 0;
  for (int64_t i = 0; i < n; ++i) {
    inter += pred[i] & truth[i];
    p += pred[i];
    t += truth[i];
  }
  return p + t == 0 ? 1.0 : 2.0 * static_cast<double>(inter) / static_cast<double>(p + t);
}

double dice_volume(const std::vector<uint8_t>& pred, const std::vector<uint8_t>& truth) {
  return dice(pred.data(), truth.data(), static_cast<int64_t>(std::min(pred.size(), truth.size())));
}

double iou(const uint8_t* pred, const uint8_t* truth, int64_t n) {
  int64_t inter = 0, uni = 0;
  for (int64_t i = 0; i < n; ++i) {
    inter += pred[i] & truth[i];
    uni += pred[i] | truth[i];
  }
  return uni == 0 ? 1.0 : static_cast<double>(inter) / static_cast<double>(uni);
}

double iou_volume(const std::vector<uint8_t>& pred, const std::vector<uint8_t>& truth) {
  return iou(pred.data(), truth.data(), static_cast<int64_t>(std::min(pred.size(), truth.size())));
}

void keep_largest_component(std::vector<uint8_t>& mask, int64_t depth, int64_t size) {
  const int64_t n = depth * size * size;
  std::vector<int32_t> label(static_cast<size_t>(n), 0);
  std::vector<int64_t> stack, sizes{0};
  int32_t next = 0;
  for (int64_t start = 0; start < n; ++start) {
    if (!mask[static_cast<size_t>(start)] || label[static_cast<size_t>(start)]) continue;
    ++next;
    int64_t count = 0;
    stack.assign(1, start);
    label[static_cast<size_t>(start)] = next;
    while (!stack.empty()) {
      const int64_t i = stack.back();
      stack.pop_back();
      ++count;
      const int64_t z = i / (size * size), y = (i / size) % size, x = i % size;
      const int64_t nb[6][3] = {{z - 1, y, x}, {z + 1, y, x}, {z, y - 1, x}, {z, y + 1, x}, {z, y, x - 1}, {z, y, x + 1}};
      for (const auto& q : nb) {
        if (q[0] < 0 || q[0] >= depth || q[1] < 0 || q[1] >= size || q[2] < 0 || q[2] >= size) continue;
        const int64_t j = (q[0] * size + q[1]) * size + q[2];
        if (mask[static_cast<size_t>(j)] && !label[static_cast<size_t>(j)]) {
          label[static_cast<size_t>(j)] = next;
          stack.push_back(j);
        }
      }
    }
    sizes.push_back(count);
  }
  if (next <= 1) return;
  const auto best = static_cast<int32_t>(std::max_element(sizes.begin(), sizes.end()) - sizes.begin());
  for (int64_t i = 0; i < n; ++i) mask[static_cast<size_t>(i)] = label[static_cast<size_t>(i)] == best ? 1 : 0;
}

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace unet
