// Pictures of BraTS cases: one plane (axial, coronal or sagittal) of the flair volume in grey
// with the tumour labels in colour, as panels image | ground truth | prediction (or image |
// prediction when there is no ground truth), with a colour legend below.
//
// Colours (the usual BraTS display; blended half and half with the grey image):
//   label 1 (necrotic / non-enhancing core, engine class 1): red    (255, 0, 0)
//   label 2 (edema, engine class 2):                         green  (0, 200, 0)
//   label 4 (enhancing tumour, engine class 3):              yellow (255, 255, 0)
//
// Volumes are [X][Y][Z] (Z fastest). BraTS files store X from the patient's right to left,
// Y from front to back and Z from feet to head, so the planes are drawn as a radiologist
// reads them (the patient's right on the picture's left, front or head at the top):
//   axial    (Z fixed): row = y,         column = x
//   coronal  (Y fixed): row = Z - 1 - z, column = x
//   sagittal (X fixed): row = Z - 1 - z, column = y
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/canvas.hpp"

namespace unet::tools {

enum class BratsPlane { Axial, Coronal, Sagittal };
inline constexpr std::array<BratsPlane, 3> kBratsPlanes = {BratsPlane::Axial, BratsPlane::Coronal, BratsPlane::Sagittal};

// "axial", "coronal" or "sagittal".
const char* brats_plane_name(BratsPlane plane);

// The display colour of an engine class 1..3 (see above); class 0 has none.
Rgb brats_class_colour(int engine_class);

// An 8-bit grey volume ([X][Y][Z]) from one z-scored modality: 0 stays black (outside the
// brain), the brain's voxels are stretched from their minimum to their 99th percentile.
std::vector<uint8_t> brats_grey_volume(const float* modality, const std::array<int64_t, 3>& dims);

// The voxel at the centre of the tumour (the mean position of the voxels with a class other
// than 0), or the centre of the volume when there is none.
std::array<int64_t, 3> brats_tumour_centre(const std::vector<uint8_t>& classes, const std::array<int64_t, 3>& dims);

// One plane of a volume ([X][Y][Z]) through `centre`, as rows x columns (see above).
struct PlaneSlice {
  int64_t rows = 0, columns = 0;
  std::vector<uint8_t> values;  // [rows][columns]
};
PlaneSlice brats_plane_slice(const uint8_t* volume, const std::array<int64_t, 3>& dims, BratsPlane plane,
                             const std::array<int64_t, 3>& centre);

// The picture of one plane: panels image | ground truth | prediction (truth may be null: then
// image | prediction), each enlarged by a whole factor to at least `min_panel` pixels, titles
// above, the colour legend below. grey, truth and pred are [X][Y][Z]; truth and pred hold
// engine classes 0..3.
Canvas brats_plane_picture(const std::vector<uint8_t>& grey, const uint8_t* truth, const uint8_t* pred,
                           const std::array<int64_t, 3>& dims, BratsPlane plane, const std::array<int64_t, 3>& centre,
                           int min_panel = 192);

// Geometry of that picture, for tests: the top-left pixel of panel `k` and the enlargement.
struct BratsPictureLayout {
  int scale = 1, panel_width = 0, panel_height = 0, gap = 4, title_height = 20, legend_height = 24;
  int panel_x(int k) const { return k * (panel_width + gap); }
};
BratsPictureLayout brats_picture_layout(int64_t rows, int64_t columns, int min_panel = 192);

}  // namespace unet::tools
