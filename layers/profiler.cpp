#include "layers/profiler.hpp"

namespace unet {

OpProfiler& OpProfiler::get() {
  static OpProfiler p;
  return p;
}

void OpProfiler::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  timings_.clear();
  index_.clear();
}

void OpProfiler::add(const std::string& name, bool backward, double seconds, double flops, double bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(name);
  if (it == index_.end()) {
    it = index_.emplace(name, timings_.size()).first;
    timings_.push_back(OpTiming{name});
  }
  OpTiming& t = timings_[it->second];
  (backward ? t.backward_seconds : t.forward_seconds) += seconds;
  (backward ? t.backward_flops : t.forward_flops) += flops;
  (backward ? t.backward_bytes : t.forward_bytes) += bytes;
  ++(backward ? t.backward_calls : t.forward_calls);
}

std::vector<OpTiming> OpProfiler::results() const {
  std::lock_guard<std::mutex> lock(mu_);
  return timings_;
}

ScopedOpTimer::ScopedOpTimer(Device device, const std::function<std::string()>& name, bool backward, double flops,
                             double bytes)
    : active_(OpProfiler::get().enabled()), device_(device), backward_(backward), flops_(flops), bytes_(bytes) {
  if (!active_) return;
  name_ = name();
  synchronize(device_);
  start_ = std::chrono::steady_clock::now();
}

ScopedOpTimer::~ScopedOpTimer() {
  if (!active_) return;
  synchronize(device_);
  OpProfiler::get().add(name_, backward_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(),
                        flops_, bytes_);
}

}  // namespace unet
