// `unet predict --input DICOM_FOLDER`: every series of the folder through the 2D model, its
// masks written as one NIfTI volume with the series' geometry, and an overlay per slice.
#pragma once

#include <string>

#include "tools/slice_prediction.hpp"

namespace unet::tools {

struct DicomPredictRequest {
  std::string input, out;
  std::string id;       // the outputs' name for a folder of one series ("" = series_<hash>)
  bool strict = false;  // stop at the first unreadable file or series
  bool gif = false;     // also OUT/<id>/<id>.gif
};

// Writes OUT/<id>/<id>_pred.nii.gz (uint8, 1 = tumour; voxel (column, row, slice) with the
// affine from ImagePositionPatient / ImageOrientationPatient / PixelSpacing in RAS) and
// OUT/<id>/<id>_<n>_overlay.png for slice n = 1.. along the normal. Returns the exit status.
int run_dicom_predict(UNet& model, const DicomPredictRequest& request, const SlicePredictionSettings& settings);

}  // namespace unet::tools
