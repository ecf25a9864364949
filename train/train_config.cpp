#include "train/train_config.hpp"

#include <cmath>

#include "base/error.hpp"
#include "data/dataset.hpp"
#include "unet/losses.hpp"

namespace unet {

void TrainConfig::validate() const {
  const auto got = [](auto v) { return ", got " + std::to_string(v); };
  UNET_CHECK(!data.empty(), "--data", "is required");
  UNET_CHECK(!out.empty(), "--out", "is required");
  UNET_CHECK(epochs >= 1, "--epochs", "must be at least 1" + got(epochs));
  UNET_CHECK(batch >= 1, "--batch", "must be at least 1" + got(batch));
  UNET_CHECK(size >= 16 && size % 16 == 0, "--size", "must be a multiple of 16 (the U-Net pools 4 times)" + got(size));
  UNET_CHECK(base >= 1 && base <= 256, "--base", "must be from 1 to 256" + got(base));
  UNET_CHECK(lr > 0.0 && std::isfinite(lr), "--lr", "must be greater than 0" + got(lr));
  UNET_CHECK(weight_decay >= 0.0 && std::isfinite(weight_decay), "--weight-decay", "must be 0 or more" + got(weight_decay));
  UNET_CHECK(bce_weight >= 0.0 && dice_weight >= 0.0, "--bce-weight/--dice-weight", "must be 0 or more");
  UNET_CHECK(lr_schedule == "none" || lr_schedule == "plateau", "--lr-schedule",
             "'" + lr_schedule + "' is not a schedule; use none or plateau");
  UNET_CHECK(plateau_patience >= 0, "--plateau-patience", "must be 0 or more" + got(plateau_patience));
  UNET_CHECK(plateau_factor > 0.0 && plateau_factor < 1.0, "--plateau-factor", "must be between 0 and 1" + got(plateau_factor));
  UNET_CHECK(workers >= 1, "--workers", "must be at least 1" + got(workers));
  UNET_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "--val-fraction", "must be from 0 to 1 (1 excluded)" + got(val_fraction));
  UNET_CHECK(max_steps_per_epoch >= 0, "--max-steps-per-epoch", "must be 0 or more" + got(max_steps_per_epoch));
  LossConfig::parse(loss);
  data::parse_preprocess(preprocess);
}

std::string TrainConfig::to_json() const { return nlohmann::json(*this).dump(2); }

TrainConfig TrainConfig::from_json(const std::string& text, const std::string& where) {
  try {
    return nlohmann::json::parse(text).get<TrainConfig>();
  } catch (const nlohmann::json::exception& e) {
    UNET_THROW(where, std::string("bad training configuration: ") + e.what());
  }
}

}  // namespace unet
