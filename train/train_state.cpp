#include "train/train_state.hpp"

#include <utility>
#include <vector>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "train/json_fields.hpp"

namespace unet {

namespace {
// The BraTS fields by name; runs saved before them (and 2D runs of older versions) lack them.
template <class Metrics>  // EpochMetrics or const EpochMetrics
auto brats_fields(Metrics& m) {
  using Field = std::pair<const char*, decltype(&m.train_dice_l1)>;
  return std::vector<Field>{{"train_dice_l1", &m.train_dice_l1}, {"train_dice_l2", &m.train_dice_l2}, {"train_dice_l4", &m.train_dice_l4},
          {"val_dice_l1", &m.val_dice_l1},     {"val_dice_l2", &m.val_dice_l2},     {"val_dice_l4", &m.val_dice_l4},
          {"val_dice_wt", &m.val_dice_wt},     {"val_dice_tc", &m.val_dice_tc},     {"val_dice_et", &m.val_dice_et},
          {"val_hd95_wt", &m.val_hd95_wt},     {"val_hd95_tc", &m.val_hd95_tc},     {"val_hd95_et", &m.val_hd95_et},
          {"val_iou_wt", &m.val_iou_wt},       {"val_iou_tc", &m.val_iou_tc},       {"val_iou_et", &m.val_iou_et}};
}
}  // namespace

void to_json(nlohmann::json& j, const EpochMetrics& m) {
  j = {{"epoch", m.epoch},     {"train_loss", m.train_loss},         {"train_dice", m.train_dice},
       {"val_loss", m.val_loss}, {"val_dice_slice", m.val_dice_slice}, {"val_dsc_volume", m.val_dsc_volume},
       {"lr", m.lr},           {"seconds", m.seconds},               {"best", m.best}};
  for (const auto& [name, v] : brats_fields(m)) j[name] = *v;
  j["val_iou_slice"] = m.val_iou_slice;
  j["val_iou_volume"] = m.val_iou_volume;
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
  m.val_iou_slice = j.value("val_iou_slice", 0.0);  // absent in runs saved before IoU
  m.val_iou_volume = j.value("val_iou_volume", 0.0);
  for (const auto& [name, v] : brats_fields(m))
    if (j.contains(name)) j.at(name).get_to(*v);
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
        // Not strict: the BraTS fields are optional (older runs lack them); the fields every
        // run has are required by from_json itself.
        (void)read_fields<EpochMetrics>(h, where, row, /*strict=*/false);
        continue;
      }
      UNET_CHECK(h.is_array() && h.size() == 8, where, trf("{} is not a list of 8 numbers", row));
      for (size_t k = 0; k < 8; ++k)
        UNET_CHECK(h[k].is_number(), where, trf("{}[{}] is {}, not a number", row, std::to_string(k), h[k].dump()));
    }
  }
  const TrainState s = read_fields<TrainState>(j, where, "train_state", /*strict=*/true);
  for (const auto& [name, count] : {std::pair<const char*, int64_t>{"epoch", s.epoch}, {"next_batch", s.next_batch},
                                    {"partial_samples", s.partial_samples}, {"best_epoch", s.best_epoch},
                                    {"plateau_bad", s.plateau_bad}})
    UNET_CHECK(count >= 0, where, trf("train_state.{} is {}, must be >= 0", name, std::to_string(count)));
  return s;
}

}  // namespace unet
