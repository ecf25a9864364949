// `unet eval` and `unet predict` take the model from the checkpoint and the data from a folder:
// a 2D U-Net reads Kaggle LGG TIFF slices, the 3D U-Net reads BraTS NIfTI volumes. These checks
// say plainly, before any data is loaded, when the two do not belong together.
#pragma once

#include <string>

#include "unet/unet_model.hpp"

namespace unet::tools {

// "brats" for the 3D U-Net, "kaggle" for a 2D one.
std::string model_data_kind(const UNetConfig& model);

// The kind of data at `path`: `dataset_flag` when it is not "auto"; else, for one file, from its
// ending (.tif/.tiff or .nii/.nii.gz); else from the folder's files. "" when it cannot be told
// (the command then reports its own, more precise error).
std::string input_data_kind(const std::string& path, const std::string& dataset_flag);

// A usage error (exit status 2) naming `option`, `path` and `ckpt` when the model and the data
// are of different kinds; nothing when `data_kind` is "".
void check_model_fits_data(const UNetConfig& model, const std::string& ckpt, const std::string& data_kind,
                           const std::string& option, const std::string& path);

}  // namespace unet::tools
