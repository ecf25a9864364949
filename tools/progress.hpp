// Console progress for training: a redrawn bar on a terminal, plain lines otherwise (logs,
// CI, pipes), so the output stays readable in both.
#pragma once

#include <chrono>
#include <string>

#include "train/trainer.hpp"

namespace unet::tools {

class Progress {
 public:
  Progress();
  void step(const StepInfo& s);
  void epoch(const EpochMetrics& m);  // "(best)" when the epoch wrote best.safetensors
  void message(const std::string& line);

 private:
  bool tty_;
  std::chrono::steady_clock::time_point last_plain_;
  int64_t last_percent_ = -1;
  bool bar_open_ = false;
};

std::string format_duration(double seconds);

}  // namespace unet::tools
