// One DICOM file read through DCMTK (Debian's libdcmtk-dev): the header fields that grouping,
// ordering and geometry need, and its pixels as real values. Nothing that identifies a patient
// (name, ID, birth date, accession number) is read, so nothing of it can reach an output.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace unet::data {

// One 2D image of a file: the file itself, or one frame of a multi-frame file.
struct DicomFrameGeometry {
  std::array<double, 3> position{};     // ImagePositionPatient: centre of the first pixel, LPS, mm
  std::array<double, 6> orientation{};  // ImageOrientationPatient: row direction, then column direction
  std::array<double, 2> spacing{};      // PixelSpacing: between rows, then between columns, mm
  double slope = 1.0, intercept = 0.0;  // RescaleSlope / RescaleIntercept
};

struct DicomFileInfo {
  std::string file;
  std::string series_uid;                // SeriesInstanceUID
  std::string modality;                  // MR, CT, ...
  std::string transfer_syntax;           // the UID, e.g. 1.2.840.10008.1.2.5 (RLE)
  int64_t rows = 0, cols = 0, frames = 1;
  int bits_allocated = 0, bits_stored = 0, high_bit = 0;
  bool is_signed = false;                // PixelRepresentation 1
  bool monochrome1 = false;              // PhotometricInterpretation MONOCHROME1: low values shown white
  double slice_spacing = 0.0;            // SpacingBetweenSlices, else SliceThickness; 0 when absent
  std::vector<DicomFrameGeometry> frame_geometry;  // [frames]
};

// Reads the header and checks that the file holds greyscale images this reader can decode.
// Errors name the file: not DICOM, no pixel data, colour, a transfer syntax no registered
// decoder handles (JPEG 2000 among them), bit depths outside 1..16, missing geometry.
DicomFileInfo read_dicom_info(const std::string& path);

// The pixels of every frame, [frames][rows][cols], decoded (JPEG, JPEG-LS, RLE), MONOCHROME1
// turned into MONOCHROME2 (the stored value's complement within BitsStored, so bright means
// high as in every other image here) and then rescaled (value * slope + intercept).
std::vector<float> read_dicom_pixels(const DicomFileInfo& info);

// True when `path` starts like a DICOM Part 10 file ("DICM" after the 128-byte preamble).
bool has_dicom_magic(const std::string& path);

// Human name of a transfer syntax UID for messages, e.g. "JPEG 2000 (1.2.840.10008.1.2.4.90)".
std::string transfer_syntax_name(const std::string& uid);

}  // namespace unet::data
