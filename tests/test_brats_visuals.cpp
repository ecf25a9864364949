// BraTS pictures (tools/brats_visuals.hpp): the documented label colours land on the voxels
// of each label, the planes are cut and oriented as documented, the tumour centre and the grey
// window are as specified.
#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "tools/brats_visuals.hpp"

using namespace unet::tools;

namespace {

constexpr std::array<int64_t, 3> kDims = {4, 3, 2};  // X, Y, Z
size_t at(int64_t x, int64_t y, int64_t z) { return static_cast<size_t>((x * kDims[1] + y) * kDims[2] + z); }

Rgb pixel(const Canvas& c, int x, int y) {
  const auto& p = c.pixels();
  const size_t i = static_cast<size_t>((y * c.width() + x) * 3);
  return Rgb{p[i], p[i + 1], p[i + 2]};
}

void check_rgb(Rgb got, Rgb want) {
  CHECK(static_cast<int>(got.r) == static_cast<int>(want.r));
  CHECK(static_cast<int>(got.g) == static_cast<int>(want.g));
  CHECK(static_cast<int>(got.b) == static_cast<int>(want.b));
}

}  // namespace

TEST_CASE("label colours: 1 red, 2 green, 4 (class 3) yellow, blended half and half with the grey image") {
  check_rgb(brats_class_colour(1), Rgb{255, 0, 0});
  check_rgb(brats_class_colour(2), Rgb{0, 200, 0});
  check_rgb(brats_class_colour(3), Rgb{255, 255, 0});

  const std::vector<uint8_t> grey(static_cast<size_t>(kDims[0] * kDims[1] * kDims[2]), 100);
  std::vector<uint8_t> pred(grey.size(), 0), truth(grey.size(), 0);
  pred[at(1, 2, 0)] = 1;
  pred[at(3, 0, 0)] = 2;
  pred[at(0, 0, 0)] = 3;
  truth[at(2, 1, 0)] = 2;
  const int min_panel = 8;  // 4 columns x 3 rows, enlarged by 2
  const Canvas c = brats_plane_picture(grey, truth.data(), pred.data(), kDims, BratsPlane::Axial, {0, 0, 0}, min_panel);
  const BratsPictureLayout l = brats_picture_layout(3, 4, min_panel);
  REQUIRE(l.scale == 2);
  // Axial: row = y, column = x. The pixel of voxel (x, y) in panel k, at the middle of its block.
  auto voxel = [&](int k, int x, int y) { return pixel(c, l.panel_x(k) + x * l.scale + 1, l.title_height + y * l.scale + 1); };
  // Panel 0: the image alone; panel 1: ground truth; panel 2: prediction.
  check_rgb(voxel(0, 1, 2), Rgb{100, 100, 100});
  check_rgb(voxel(1, 2, 1), Rgb{50, 150, 50});   // truth label 2: (100 + 0, 100 + 200, 100 + 0) / 2
  check_rgb(voxel(1, 1, 2), Rgb{100, 100, 100}); // predicted only, not in the truth
  check_rgb(voxel(2, 1, 2), Rgb{177, 50, 50});   // label 1: (100 + 255) / 2 = 177, 100 / 2 = 50
  check_rgb(voxel(2, 3, 0), Rgb{50, 150, 50});   // label 2
  check_rgb(voxel(2, 0, 0), Rgb{177, 177, 50});  // label 4
  check_rgb(voxel(2, 2, 1), Rgb{100, 100, 100}); // truth only, not predicted

  // Without ground truth: two panels, image | prediction.
  const Canvas two = brats_plane_picture(grey, nullptr, pred.data(), kDims, BratsPlane::Axial, {0, 0, 0}, min_panel);
  check_rgb(pixel(two, l.panel_x(1) + 1 * l.scale + 1, l.title_height + 2 * l.scale + 1), Rgb{177, 50, 50});
  CHECK(two.height() == c.height());
}

TEST_CASE("planes are cut through the centre and oriented as documented") {
  std::vector<uint8_t> v(static_cast<size_t>(kDims[0] * kDims[1] * kDims[2]));
  for (int64_t x = 0; x < kDims[0]; ++x)
    for (int64_t y = 0; y < kDims[1]; ++y)
      for (int64_t z = 0; z < kDims[2]; ++z) v[at(x, y, z)] = static_cast<uint8_t>(100 * z + 10 * y + x);
  const std::array<int64_t, 3> centre = {2, 1, 0};
  const PlaneSlice axial = brats_plane_slice(v.data(), kDims, BratsPlane::Axial, centre);
  CHECK(axial.rows == 3);
  CHECK(axial.columns == 4);
  CHECK(axial.values[1 * 4 + 3] == 13);  // row y = 1, column x = 3, z = 0
  const PlaneSlice coronal = brats_plane_slice(v.data(), kDims, BratsPlane::Coronal, centre);
  CHECK(coronal.rows == 2);
  CHECK(coronal.columns == 4);
  CHECK(coronal.values[0 * 4 + 3] == 113);  // the top row is the highest z (the head): z = 1, y = 1, x = 3
  CHECK(coronal.values[1 * 4 + 0] == 10);   // bottom row z = 0
  const PlaneSlice sagittal = brats_plane_slice(v.data(), kDims, BratsPlane::Sagittal, centre);
  CHECK(sagittal.rows == 2);
  CHECK(sagittal.columns == 3);
  CHECK(sagittal.values[0 * 3 + 2] == 122);  // z = 1, y = 2, x = 2
  CHECK_THROWS(brats_plane_slice(v.data(), kDims, BratsPlane::Axial, {0, 0, 2}));
}

TEST_CASE("tumour centre: the mean position of labelled voxels, else the volume centre") {
  std::vector<uint8_t> classes(static_cast<size_t>(kDims[0] * kDims[1] * kDims[2]), 0);
  CHECK(brats_tumour_centre(classes, kDims) == std::array<int64_t, 3>{2, 1, 1});
  classes[at(3, 2, 1)] = 1;
  classes[at(1, 2, 1)] = 3;
  CHECK(brats_tumour_centre(classes, kDims) == std::array<int64_t, 3>{2, 2, 1});
}

TEST_CASE("grey volume: outside the brain black, the brain from 40 (its minimum) to 255 (its 99th percentile)") {
  std::vector<float> flair(static_cast<size_t>(kDims[0] * kDims[1] * kDims[2]), 0.0f);
  flair[1] = -2.0f;
  flair[2] = 1.0f;
  flair[3] = 4.0f;
  const auto grey = brats_grey_volume(flair.data(), kDims);
  CHECK(static_cast<int>(grey[0]) == 0);
  CHECK(static_cast<int>(grey[1]) == 40);
  // Three brain voxels: the 99th percentile is the element at index floor(2 * 0.99) = 1 of the
  // sorted values, 1.0; so 1.0 and everything above it is white.
  CHECK(static_cast<int>(grey[2]) == 255);
  CHECK(static_cast<int>(grey[3]) == 255);
}
