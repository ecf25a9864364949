#include "tools/dicom_predict.hpp"

#include <cstdio>
#include <filesystem>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "data/dicom_series.hpp"
#include "data/nifti_io.hpp"
#include "data/volume_to_rgb.hpp"
#include "tools/mask_gif.hpp"
#include "tools/visuals.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

int run_dicom_predict(UNet& model, const DicomPredictRequest& request, const SlicePredictionSettings& settings) {
  const data::DicomScan scan = data::scan_dicom_folder(request.input, request.strict);
  for (const std::string& p : scan.problems) std::printf(tr("warning: %s\n").c_str(), p.c_str());
  UNET_CHECK(request.id.empty() || scan.series.size() == 1, "--id",
             trf("names the outputs of one series, but {} holds {} series; leave --id out (each series is then named "
                 "series_<hash>) or give one series' folder",
                 request.input, std::to_string(scan.series.size())));
  int64_t slices_written = 0;
  for (const data::DicomSeries& series : scan.series) {
    const std::string id = request.id.empty() ? series.id : request.id;
    const int64_t depth = series.slice_count(), rows = series.rows, cols = series.cols, plane = rows * cols;
    const std::vector<data::Image> images =
        data::volume_to_rgb_slices({data::read_series_voxels(series)}, depth, rows, cols);
    std::vector<int> numbers;
    for (int64_t k = 0; k < depth; ++k) numbers.push_back(static_cast<int>(k + 1));
    const std::vector<std::vector<uint8_t>> no_truth(images.size(), std::vector<uint8_t>(static_cast<size_t>(plane), 0));
    const auto masks = predict_slice_masks(model, id, numbers, images, no_truth, settings);

    const fs::path folder = fs::path(request.out) / id;
    std::error_code ec;
    fs::create_directories(folder, ec);
    UNET_CHECK(!ec, folder.string(), trf("cannot create the output folder: {}", ec.message()));
    // NIfTI voxel (i, j, k) = (column, row, slice), held [X][Y][Z] with Z fastest.
    std::vector<float> voxels(static_cast<size_t>(depth * plane));
    int64_t tumour = 0;
    for (int64_t k = 0; k < depth; ++k)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          const uint8_t m = masks[static_cast<size_t>(k)][static_cast<size_t>(r * cols + c)];
          voxels[static_cast<size_t>((c * rows + r) * depth + k)] = m;
          tumour += m;
        }
    const data::NiftiHeader header = data::NiftiHeader::make(
        {cols, rows, depth}, {series.spacing[1], series.spacing[0], series.slice_spacing}, series.affine_ras());
    data::write_nifti((folder / (id + "_pred.nii.gz")).string(), header, voxels, data::NiftiDatatype::UInt8);
    std::vector<std::vector<uint8_t>> gif_grey;
    for (int64_t k = 0; k < depth; ++k) {
      const auto rgb = display_rgb(images[static_cast<size_t>(k)], 255.0f);
      overlay(rgb, static_cast<int>(rows), static_cast<int>(cols), nullptr, masks[static_cast<size_t>(k)].data())
          .save_png((folder / (id + "_" + std::to_string(k + 1) + "_overlay.png")).string());
      if (request.gif) gif_grey.push_back(grey_of_rgb(rgb));
    }
    if (request.gif)
      write_mask_gif((folder / (id + ".gif")).string(), static_cast<int>(rows), static_cast<int>(cols), gif_grey, masks);
    slices_written += depth;
    std::printf(tr("%-24s %s %4lld slices of %lld x %lld, %.3g x %.3g x %.3g mm: %lld tumour voxels\n").c_str(),
                id.c_str(), series.modality.empty() ? "?" : series.modality.c_str(), static_cast<long long>(depth),
                static_cast<long long>(rows), static_cast<long long>(cols), series.spacing[1], series.spacing[0],
                series.slice_spacing, static_cast<long long>(tumour));
  }
  std::printf(
      tr("unet predict: %zu DICOM series, %lld slices -> %s (<id>/<id>_pred.nii.gz, <id>/<id>_<n>_overlay.png)%s\n")
          .c_str(),
      scan.series.size(), static_cast<long long>(slices_written), request.out.c_str(),
      scan.problems.empty() ? "" : trf(", {} problem(s) above", scan.problems.size()).c_str());
  return 0;
}

}  // namespace unet::tools
