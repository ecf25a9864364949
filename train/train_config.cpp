#include "train/train_config.hpp"

#include <cmath>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "train/json_fields.hpp"
#include "data/dataset.hpp"
#include "unet/losses.hpp"
#include "unet/unet_model.hpp"

namespace unet {

TrainConfig TrainConfig::brats_defaults() {
  TrainConfig c;
  c.dataset = "brats";
  c.lr = 1e-4;
  c.batch = 1;
  c.epochs = 10;
  c.seed = 2024;
  c.loss = "dice";
  return c;
}

UNetConfig TrainConfig::model_config() const {
  UNetConfig m = UNetConfig::for_base(base);
  if (is_brats()) {
    m = UNetConfig::brats3d();
    m.base = base;
  }
  if (depth > 0) m.depth = depth;
  return m;
}

void TrainConfig::validate() const {
  const auto got = [](auto v) {
    return trf(", got {}", v);
  };
  UNET_CHECK(!data.empty(), "--data", tr("is required"));
  UNET_CHECK(!out.empty(), "--out", tr("is required"));
  UNET_CHECK(dataset == "auto" || dataset == "kaggle" || dataset == "brats", "--dataset",
             trf("'{}' is not a dataset kind; use auto, kaggle or brats", dataset));
  UNET_CHECK(epochs >= 1, "--epochs", trf("must be at least 1{}", got(epochs)));
  UNET_CHECK(batch >= 1, "--batch", trf("must be at least 1{}", got(batch)));
  UNET_CHECK(depth >= 0 && depth <= 6, "--depth", trf("must be from 1 to 6 (0 = the model's own){}", got(depth)));
  const int64_t multiple = int64_t{1} << model_config().depth;
  if (is_brats()) {
    UNET_CHECK(patch >= multiple && patch % multiple == 0 && patch <= 512, "--patch",
               trf("must be a multiple of {} (the U-Net pools {} times), at most 512{}", std::to_string(multiple),
                   std::to_string(model_config().depth), got(patch)));
    UNET_CHECK(sample_num >= 1, "--sample-num", trf("must be at least 1{}", got(sample_num)));
    UNET_CHECK(min_tumor_voxels >= 0, "--min-tumor-voxels", trf("must be 0 or more{}", got(min_tumor_voxels)));
    UNET_CHECK(max_data >= 0, "--max-data", trf("must be 0 (all cases) or more{}", got(max_data)));
    UNET_CHECK(overlap >= 0.0 && overlap < 1.0, "--overlap", trf("must be from 0 to 1 (1 excluded){}", got(overlap)));
    UNET_CHECK(log_every >= 1, "--log-every", trf("must be at least 1{}", got(log_every)));
    UNET_CHECK(cache_gb >= 0 && std::isfinite(cache_gb), "--cache-gb",
               trf("must be 0 (half of this machine's memory) or more{}", got(cache_gb)));
    MulticlassLossConfig::parse(loss);
  } else {
    UNET_CHECK(size >= multiple && size % multiple == 0, "--size",
               trf("must be a multiple of {} (the U-Net pools {} times){}", std::to_string(multiple),
                   std::to_string(model_config().depth), got(size)));
    LossConfig::parse(loss);
  }
  UNET_CHECK(base >= 1 && base <= 256, "--base", trf("must be from 1 to 256{}", got(base)));
  UNET_CHECK(lr > 0.0 && std::isfinite(lr), "--lr", trf("must be greater than 0{}", got(lr)));
  UNET_CHECK(weight_decay >= 0.0 && std::isfinite(weight_decay), "--weight-decay",
             trf("must be 0 or more{}", got(weight_decay)));
  UNET_CHECK(bce_weight >= 0.0 && dice_weight >= 0.0, "--bce-weight/--dice-weight", tr("must be 0 or more"));
  UNET_CHECK(lr_schedule == "none" || lr_schedule == "plateau", "--lr-schedule",
             trf("'{}' is not a schedule; use none or plateau", lr_schedule));
  UNET_CHECK(plateau_patience >= 0, "--plateau-patience", trf("must be 0 or more{}", got(plateau_patience)));
  UNET_CHECK(plateau_factor > 0.0 && plateau_factor < 1.0, "--plateau-factor",
             trf("must be between 0 and 1{}", got(plateau_factor)));
  UNET_CHECK(workers >= 1, "--workers", trf("must be at least 1{}", got(workers)));
  UNET_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "--val-fraction",
             trf("must be from 0 to 1 (1 excluded){}", got(val_fraction)));
  UNET_CHECK(max_steps_per_epoch >= 0, "--max-steps-per-epoch", trf("must be 0 or more{}", got(max_steps_per_epoch)));
  data::parse_preprocess(preprocess);
}

std::string TrainConfig::to_json() const { return nlohmann::json(*this).dump(2); }

TrainConfig TrainConfig::from_json(const std::string& text, const std::string& where) {
  TrainConfig c = read_fields<TrainConfig>(text, where, "train_config", /*strict=*/false);  // older files lack new fields
  // The values must pass the command line's checks, plus an upper bound on the image size
  // (eval and predict allocate size x size planes; a 16384^2 slice is already 34 GB per
  // activation at base 32) and the model's ranges, so a damaged file stops here, named.
  try {
    c.model_config().validate("--base");
    c.validate();
    UNET_CHECK(c.size <= 16384, "--size", trf("must be at most 16384, got {}", std::to_string(c.size)));
  } catch (const Error& e) {
    UNET_THROW(where, trf("train_config: {}: {}", e.call(), e.message()));
  }
  return c;
}

}  // namespace unet
