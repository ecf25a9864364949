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
};

class OpProfiler {
 public:
  static OpProfiler& get();
  bool enabled() const { return enabled_; }
  void set_enabled(bool on) { enabled_ = on; }
  void reset();
  void add(const std::string& name, bool backward, double seconds);
  std::vector<OpTiming> results() const;  // in first-seen (forward) order

 private:
  bool enabled_ = false;
  mutable std::mutex mu_;
  std::vector<OpTiming> timings_;
  std::map<std::string, size_t> index_;
};

class ScopedOpTimer {
 public:
  ScopedOpTimer(Device device, const std::function<std::string()>& name, bool backward);
  ~ScopedOpTimer();
  ScopedOpTimer(const ScopedOpTimer&) = delete;
  ScopedOpTimer& operator=(const ScopedOpTimer&) = delete;

 private:
  bool active_;
  Device device_;
  bool backward_;
  std::string name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace unet
