// cuDNN descriptor set-up for every layer shape of the spec's U-Nets (base 32 and 64 at
// 256x256, batch 16). Descriptors need no GPU and no handle, so this runs in CI: a wrong
// dimension, stride or filter layout fails here rather than on a user's GPU.
#include <doctest/doctest.h>

#include "layers/cuda/cudnn_descriptors.hpp"

using namespace unet;

TEST_CASE("cuDNN accepts and agrees on every U-Net conv, transposed conv and pool shape") {
  for (int64_t base : {32, 64}) {
    const bool bias = base == 64;
    const int64_t n = 16, size = 256;
    int checked = 0;
    for (int64_t level = 0; level <= 4; ++level) {
      const int64_t s = size >> level, c = base << level;
      const int64_t c_in = level == 0 ? 3 : c / 2;
      CAPTURE(base);
      CAPTURE(level);
      // encoder / bottleneck DoubleConv
      cuda::ConvDescriptors a(ConvSpec{n, c_in, s, s, c, 3, 1, 1, bias, false});
      cuda::ConvDescriptors b(ConvSpec{n, c, s, s, c, 3, 1, 1, bias, false});
      CHECK(a.forward_output_dims() == std::array<int, 4>{int(n), int(c), int(s), int(s)});
      CHECK(b.forward_output_dims() == std::array<int, 4>{int(n), int(c), int(s), int(s)});
      checked += 2;
      if (level < 4) {
        cuda::PoolDescriptors p(PoolSpec{n, c, s, s, 2});
        CHECK(p.output_dims() == std::array<int, 4>{int(n), int(c), int(s / 2), int(s / 2)});
        // decoder: transposed conv from level+1, then DoubleConv on the concatenation
        cuda::ConvDescriptors up(ConvSpec{n, 2 * c, s / 2, s / 2, c, 2, 2, 0, true, true});
        // for a transposed conv cuDNN's forward maps the layer's output back to its input
        CHECK(up.forward_output_dims() == std::array<int, 4>{int(n), int(2 * c), int(s / 2), int(s / 2)});
        cuda::ConvDescriptors d1(ConvSpec{n, 2 * c, s, s, c, 3, 1, 1, bias, false});
        CHECK(d1.forward_output_dims()[1] == c);
        checked += 3;
      }
    }
    cuda::ConvDescriptors out(ConvSpec{n, base, size, size, 1, 1, 1, 0, true, false});
    CHECK(out.forward_output_dims() == std::array<int, 4>{16, 1, 256, 256});
    CHECK(checked == 2 * 5 + 3 * 4);
  }
}

TEST_CASE("the documented no-GPU behaviour of this machine holds: handles fail cleanly") {
  // cudnnCreate needs a driver; without one it must surface as unet::Error, not a crash.
  if (cuda_available()) return;
  cudnnHandle_t h = nullptr;
  CHECK(cudnnCreate(&h) != CUDNN_STATUS_SUCCESS);
}
