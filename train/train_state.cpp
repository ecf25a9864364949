#include "train/train_state.hpp"

#include "base/error.hpp"

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
  try {
    return nlohmann::json::parse(text).get<TrainState>();
  } catch (const nlohmann::json::exception& e) {
    UNET_THROW(where, std::string("bad training state: ") + e.what());
  }
}

}  // namespace unet
