#include "tools/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "base/i18n.hpp"

namespace unet::tools {

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char b[32];
  if (s >= 3600) std::snprintf(b, sizeof b, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(b, sizeof b, "%ld:%02ld", s / 60, s % 60);
  return b;
}

Progress::Progress() : tty_(isatty(STDOUT_FILENO) != 0), last_plain_(std::chrono::steady_clock::now()) {}

void Progress::step(const StepInfo& s) {
  const int64_t percent = s.samples_in_epoch ? 100 * s.samples_done / s.samples_in_epoch : 100;
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * percent / 100);
    std::fputs("\r", stdout);  // redraw the bar in place
    std::printf(tr("epoch %lld [%s%s] %3lld%%  %lld/%lld  %.1f samples/s  ETA %s  loss %.4f   ").c_str(),
                static_cast<long long>(s.epoch), std::string(static_cast<size_t>(filled), '#').c_str(),
                std::string(static_cast<size_t>(kWidth - filled), '.').c_str(), static_cast<long long>(percent),
                static_cast<long long>(s.samples_done), static_cast<long long>(s.samples_in_epoch),
                s.samples_per_second, format_duration(s.eta_seconds).c_str(), s.loss);
    bar_open_ = true;
  } else {
    // Plain lines: every 25% of an epoch or every 30 s, whichever comes first.
    const auto now = std::chrono::steady_clock::now();
    if (percent / 25 != last_percent_ / 25 || now - last_plain_ > std::chrono::seconds(30) || s.step == s.steps_in_epoch) {
      std::printf(tr("epoch %lld: %lld/%lld samples (%lld%%), %.1f samples/s, ETA %s, loss %.4f\n").c_str(),
                  static_cast<long long>(s.epoch), static_cast<long long>(s.samples_done),
                  static_cast<long long>(s.samples_in_epoch), static_cast<long long>(percent), s.samples_per_second,
                  format_duration(s.eta_seconds).c_str(), s.loss);
      last_plain_ = now;
    }
    last_percent_ = percent;
  }
  std::fflush(stdout);
}

void Progress::epoch(const EpochMetrics& m) {
  if (bar_open_) std::printf("\n");
  bar_open_ = false;
  last_percent_ = -1;
  std::printf(tr("epoch %lld: train loss %.4f Dice %.4f | val loss %.4f Dice/slice %.4f DSC/volume %.4f%s IoU/slice "
                 "%.4f IoU/volume %.4f | lr %.2e | %s\n")
                  .c_str(),
              static_cast<long long>(m.epoch), m.train_loss, m.train_dice, m.val_loss, m.val_dice_slice,
              m.val_dsc_volume, m.best ? tr(" (best)").c_str() : "", m.val_iou_slice, m.val_iou_volume, m.lr,
              format_duration(m.seconds).c_str());
  std::fflush(stdout);
}

void Progress::message(const std::string& line) {
  if (bar_open_) std::printf("\n");
  bar_open_ = false;
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace unet::tools
