// Which of the two data sets a folder holds, from its files: the Kaggle LGG layout (TIFF
// slices, kaggle_3m) or the BraTS layout (NIfTI volumes).
#pragma once

#include <string>

namespace unet::data {

// "kaggle" or "brats". Looks up to four levels below `folder` (the files of either layout lie
// two or three levels below the folder a user gives). Errors name the folder: missing, holding
// neither kind of file, or holding both (then --dataset must say which).
std::string detect_dataset_kind(const std::string& folder);

}  // namespace unet::data
