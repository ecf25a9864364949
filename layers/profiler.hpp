// Per-op timing for `unet bench`: when enabled, every layer op records its forward and
// backward wall time under a name that includes its shapes. Disabled (the default) it
// costs one branch per op. On a GPU the timer synchronises the stream around each op, so
// the numbers are per op, not overlapped.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/device.hpp"

namespace unet {

struct OpTiming {
  std::string name;
  double forward_seconds = 0.0, backward_seconds = 0.0;
  int64_t forward_calls = 0, backward_calls = 0;
  // The work done, for achieved rates: floating-point operations (convolutions) or bytes
  // read and written at least once (memory-bound ops). 0 when not given.
  double forward_flops = 0.0, backward_flops = 0.0, forward_bytes = 0.0, backward_bytes = 0.0;
};

class OpProfiler {
 public:
  static OpProfiler& get();
  bool enabled() const { return enabled_; }
  void set_enabled(bool on) { enabled_ = on; }
  void reset();
  void add(const std::string& name, bool backward, double seconds, double flops = 0.0, double bytes = 0.0);
  std::vector<OpTiming> results() const;  // in first-seen (forward) order

 private:
  bool enabled_ = false;
  mutable std::mutex mu_;
  std::vector<OpTiming> timings_;
  std::map<std::string, size_t> index_;
};

class ScopedOpTimer {
 public:
  // flops / bytes: the work of this call (see OpTiming), for the table's achieved rates.
  ScopedOpTimer(Device device, const std::function<std::string()>& name, bool backward, double flops = 0.0,
                double bytes = 0.0);
  ~ScopedOpTimer();
  ScopedOpTimer(const ScopedOpTimer&) = delete;
  ScopedOpTimer& operator=(const ScopedOpTimer&) = delete;

 private:
  bool active_;
  Device device_;
  bool backward_;
  double flops_, bytes_;
  std::string name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace unet
