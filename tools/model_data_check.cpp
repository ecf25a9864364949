#include "tools/model_data_check.hpp"

#include <CLI/CLI.hpp>
#include <filesystem>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "data/dataset_kind.hpp"
#include "data/nifti_io.hpp"
#include "data/kaggle_scan.hpp"

namespace unet::tools {

std::string model_data_kind(const UNetConfig& model) { return model.rank() == 3 ? "brats" : "kaggle"; }

std::string input_data_kind(const std::string& path, const std::string& dataset_flag) {
  if (dataset_flag != "auto") return dataset_flag;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    if (data::is_nifti_path(path)) return "brats";
    if (data::is_tiff_path(path)) return "kaggle";
    return "";
  }
  try {
    return data::detect_dataset_kind(path);
  } catch (const Error& e) {
    // "Both kinds" needs the user's choice; other problems (missing, empty) are reported by the
    // command itself with the names it knows.
    if (std::string(e.what()).find("--dataset") != std::string::npos) throw CLI::ValidationError(e.what());
    return "";
  }
}

void check_model_fits_data(const UNetConfig& model, const std::string& ckpt, const std::string& data_kind,
                           const std::string& option, const std::string& path) {
  if (data_kind.empty() || data_kind == model_data_kind(model)) return;
  const bool model_3d = model.rank() == 3;
  throw CLI::ValidationError(
      option,
      model_3d ? trf("{} holds Kaggle LGG TIFF slices, but {} holds a 3D U-Net (a BraTS model, 4 MRI modalities in, "
                     "4 classes out). Use a checkpoint of a 2D (kaggle_3m) training run, or data of the model's kind.",
                     path, ckpt)
               : trf("{} holds BraTS NIfTI volumes, but {} holds a 2D U-Net (a Kaggle LGG model, 3-channel slices "
                     "in, 1 mask out). Use a checkpoint of a BraTS training run, or data of the model's kind.",
                     path, ckpt));
}

}  // namespace unet::tools
