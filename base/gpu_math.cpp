#include "base/gpu_math.hpp"

#include <atomic>

namespace unet {

namespace {
std::atomic<bool> deterministic{true};
std::atomic<bool> allow_tf32{true};
}  // namespace

bool gpu_deterministic() { return deterministic.load(); }
void set_gpu_deterministic(bool on) { deterministic.store(on); }

bool gpu_allow_tf32() { return allow_tf32.load(); }
void set_gpu_allow_tf32(bool on) { allow_tf32.store(on); }

}  // namespace unet
