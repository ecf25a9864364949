// DICOM series from a folder: files in any order and under any names, other series mixed in.
// Images are grouped by SeriesInstanceUID and ordered by their position along the slice normal
// (ImagePositionPatient . (row direction x column direction)), never by file name or
// InstanceNumber. Each series is checked: same rows / columns / pixel spacing / orientation,
// no duplicated positions, no gaps (a missing slice), slices stacked along the normal.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dicom_file.hpp"

namespace unet::data {

struct DicomSlice {
  size_t file = 0;   // index into DicomSeries::files
  int64_t frame = 0; // frame within that file
};

struct DicomSeries {
  std::string uid;                       // SeriesInstanceUID (stays in memory; never written out)
  std::string id;                        // output name: "series_" + 12 hex digits of a hash of the UID
  std::string modality;
  int64_t rows = 0, cols = 0;
  std::array<double, 6> orientation{};   // row direction, column direction (LPS)
  std::array<double, 2> spacing{};       // between rows, between columns (mm)
  double slice_spacing = 1.0;            // between consecutive slices along the normal (mm)
  std::array<double, 3> origin{};        // ImagePositionPatient of the first slice (LPS, mm)
  std::vector<DicomFileInfo> files;
  std::vector<DicomSlice> slices;        // [slices], ascending along the normal

  int64_t slice_count() const { return static_cast<int64_t>(slices.size()); }
  // Voxel (i = column, j = row, k = slice) to NIfTI world (RAS, mm): row-major 4x4.
  std::array<double, 16> affine_ras() const;
};

// What a folder held: the usable series, and a line for each file or series left out.
struct DicomScan {
  std::vector<DicomSeries> series;      // ordered by id
  std::vector<std::string> problems;    // "<file or series>: <what is wrong>"
  int64_t files_seen = 0;
};

// Reads every regular file below `folder` (recursively). With `strict` the first problem
// throws instead of being listed. Errors name the folder when nothing usable is found.
DicomScan scan_dicom_folder(const std::string& folder, bool strict);

// Orders and checks one series' images (the work of scan_dicom_folder for one UID). Throws a
// message naming the series and the files involved when the series cannot be used.
DicomSeries assemble_series(std::vector<DicomFileInfo> files);

// The series' voxels, [slices][rows][cols], rescaled as read_dicom_pixels does.
std::vector<float> read_series_voxels(const DicomSeries& series);

// "series_" + 12 hex digits of a 64-bit FNV-1a hash of the UID: stable across runs and
// machines, and free of anything that identifies the patient.
std::string series_output_id(const std::string& series_uid);

// True when a folder holds at least one file with the DICOM Part 10 signature (looked for
// among the first 256 files, up to four levels deep).
bool folder_has_dicom(const std::string& folder);

}  // namespace unet::data
