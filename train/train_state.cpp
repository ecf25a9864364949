#include "train/train_state.hpp"

#include "base/error.hpp"
#include "train/json_fields.hpp"

namespace unet {

void to_json(nlohmann::json& j, const EpochMetrics& m) {
  j = {{"epoch", m.epoch},     {"train_loss", m.train_loss},         {"train_dice", m.train_dice},
       {"val_loss", m.val_loss}, {"val_dice_slice", m.val_dice_slice}, {"val_dsc_volume", m.val_dsc_volume},
       {"lr", m.lr},           {"seconds", m.seconds},               {"best", m.best}};
}

void from_json(const nlohmann::json& j, EpochMetrics& m) {
  if (j.is_array()) {  // runs saved before the named form: [epoch, train_loss, ..., seconds]
    j.at(0).get_to(m.epoch), j.at(1).get_to(m.train_loss), j.at(2).get_to(m.train_dice), j.at(3).get_to(m.val_loss);
    j.at(4).get_to(m.val_dice_slice), j.at(5).get_to(m.val_dsc_volume), j.at(6).get_to(m.lr), j.at(7).get_to(m.seconds);
    return;
  }
  j.at("epoch").get_to(m.epoch), j.at("train_loss").get_to(m.train_loss), j.at("train_dice").get_to(m.train_dice);
  j.at("val_loss").get_to(m.val_loss), j.at("val_dice_slice").get_to(m.val_dice_slice);
  j.at("val_dsc_volume").get_to(m.val_dsc_volume), j.at("lr").get_to(m.lr), j.at("seconds").get_to(m.seconds);
  m.best = j.value("best", false);
}

std::string TrainState::to_json() const { return nlohmann::json(*this).dump(); }

TrainState TrainState::from_json(const std::string& text, const std::string& where) {
  // History rows are checked here, so that a bad one is named by its place.
  const nlohmann::json j = parse_stored_json(text, where, "train_state");
  if (j.is_object() && j.contains("history") && j.at("history").is_array()) {
    const auto& history = j.at("history");
    for (size_t i = 0; i < history.size(); ++i) {
      const std::string row = "train_state.history[" + std::to_string(i) + "]";
      const auto& h = history[i];
      if (h.is_object()) {
        (void)read_fields<EpochMetrics>(h, where, row, /*strict=*/true);
        continue;
      }
      UNET_CHECK(h.is_array() && h.size() == 8, where, row + " is not a list of 8 numbers");
      for (size_t k = 0; k < 8; ++k)
        UNET_CHECK(h[k].is_number(), where, row + "[" + std::to_string(k) + "] is " + h[k].dump() + ", not a number");
    }
  }
  const TrainState s = read_fields<TrainState>(j, where, "train_state", /*strict=*/true);
  for (const auto& [name, count] : {std::pair<const char*, int64_t>{"epoch", s.epoch}, {"next_batch", s.next_batch},
                                    {"partial_samples", s.partial_samples}, {"best_epoch", s.best_epoch},
                                    {"plateau_bad", s.plateau_bad}})
    UNET_CHECK(count >= 0, where, std::string("train_state.") + name + " is " + std::to_string(count) + ", must be >= 0");
  return s;
}

}  // namespace unet
