// Surface distances between two binary 3D masks, measured the way the BraTS evaluation does
// it (medpy.metric.binary.hd95): surface voxels of each mask, the distance in mm from each
// surface voxel of one mask to the nearest surface voxel of the other, both ways, and the
// 95th percentile of all those distances.
#pragma once

#include <cstdint>
#include <vector>

namespace unet {

// A volume's size and voxel spacing. Memory order [X][Y][Z] (Z fastest), as nibabel's
// get_fdata() returns a NIfTI volume with dims (X, Y, Z); sx, sy, sz are its pixdim in mm.
struct VoxelGrid {
  int64_t nx = 0, ny = 0, nz = 0;
  double sx = 1.0, sy = 1.0, sz = 1.0;
  int64_t voxels() const { return nx * ny * nz; }
};

// Throws an unet::Error naming `what` when a size is not positive or a spacing not a
// positive finite number.
void check_voxel_grid(const VoxelGrid& grid, const char* what);

// The voxels of `mask` (nonzero = inside) with at least one of their 6 face neighbours
// outside it; a neighbour beyond the volume counts as outside. This is medpy's
// mask XOR binary_erosion(mask, generate_binary_structure(3, 1)) (erosion's border_value 0).
std::vector<uint8_t> surface_voxels(const uint8_t* mask, const VoxelGrid& grid);

// For every voxel, the squared Euclidean distance in mm^2 (spacing applied per axis) to the
// nearest nonzero voxel of `features`; +infinity everywhere when there is none. Exact: the
// separable lower-envelope algorithm of Felzenszwalb & Huttenlocher (2012), one pass per axis.
std::vector<double> squared_distance_transform(const uint8_t* features, const VoxelGrid& grid);

// numpy.percentile(values, q) with its default ("linear") interpolation, q in [0, 100].
// Throws when `values` is empty.
double percentile_linear(std::vector<double> values, double q);

// The 95th-percentile Hausdorff distance in mm between the nonzero voxels of `a` and `b`
// (medpy's hd95). Empty masks, where medpy raises an error, follow the BraTS convention
// chosen for this project: both empty -> 0 (a correct "nothing there"); exactly one empty ->
// NaN (there is no surface to measure to; the mean over cases leaves it out and counts it).
double hd95(const uint8_t* a, const uint8_t* b, const VoxelGrid& grid);

}  // namespace unet
