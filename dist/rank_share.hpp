// A rank's contiguous share [begin, end) of a global batch of n samples: equal shares of a batch
// that divides, near-equal ones of a smaller last batch. The loader and the BraTS trainer cut
// their batches with it, so every process agrees on who holds which sample.
#pragma once

#include <cstdint>

namespace unet::dist {

struct RankShare {
  int64_t begin, end;
};

inline RankShare rank_share(int64_t n, int rank, int ranks) {
  return RankShare{n * rank / ranks, n * (rank + 1) / ranks};
}

}  // namespace unet::dist
