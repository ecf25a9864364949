#include "data/dicom_file.hpp"

#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet::data {

namespace {

// DCMTK's decoders are global registrations; register them once, whoever reads first.
void register_decoders() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK would also print its own "E: ..." lines; every failure reaches the user as an
    // unet::Error naming the file, so only its fatal messages are kept.
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();      // JPEG baseline, extended, lossless
    DJLSDecoderRegistration::registerCodecs();    // JPEG-LS
    DcmRLEDecoderRegistration::registerCodecs();  // RLE lossless
  });
}

// Encapsulated syntaxes with a decoder registered above. JPEG 2000 has none in DCMTK's free
// toolkit (its decoder is a commercial add-on), nor have MPEG and HTJ2K.
bool has_decoder(E_TransferSyntax x) {
  switch (x) {
    case EXS_JPEGProcess1: case EXS_JPEGProcess2_4: case EXS_JPEGProcess3_5: case EXS_JPEGProcess6_8:
    case EXS_JPEGProcess7_9: case EXS_JPEGProcess10_12: case EXS_JPEGProcess11_13: case EXS_JPEGProcess14:
    case EXS_JPEGProcess15: case EXS_JPEGProcess16_18: case EXS_JPEGProcess17_19: case EXS_JPEGProcess20_22:
    case EXS_JPEGProcess21_23: case EXS_JPEGProcess24_26: case EXS_JPEGProcess25_27: case EXS_JPEGProcess28:
    case EXS_JPEGProcess29: case EXS_JPEGProcess14SV1: case EXS_JPEGLSLossless: case EXS_JPEGLSLossy:
    case EXS_RLELossless:
      return true;
    default:
      return false;
  }
}

// Loads the whole file (large values are read when first used). Files with and without the
// Part 10 header are accepted, as every viewer does.
DcmDataset& load(const std::string& path, DcmFileFormat& format) {
  register_decoders();
  const OFCondition c = format.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
  UNET_CHECK(c.good(), path, trf("is not a readable DICOM file (DCMTK: {})", c.text()));
  UNET_CHECK(format.getDataset() != nullptr, path, tr("is not a readable DICOM file (no data set)"));
  return *format.getDataset();
}

std::string get_string(DcmItem& item, const DcmTagKey& tag) {
  OFString s;
  return item.findAndGetOFString(tag, s).good() ? std::string(s.c_str()) : std::string();
}

int64_t get_int(DcmItem& item, const DcmTagKey& tag, int64_t fallback) {
  Uint16 u = 0;
  if (item.findAndGetUint16(tag, u).good()) return u;
  Sint32 s = 0;
  if (item.findAndGetSint32(tag, s).good()) return s;
  return fallback;
}

// n finite numbers of a multi-valued attribute (DS), or false. `item` may be null.
bool get_doubles(DcmItem* item, const DcmTagKey& tag, double* out, int n) {
  if (item == nullptr) return false;
  double v[16];
  for (int i = 0; i < n; ++i) {
    Float64 x = 0;
    if (item->findAndGetFloat64(tag, x, static_cast<unsigned long>(i)).bad() || !std::isfinite(x)) return false;
    v[i] = x;
  }
  std::memcpy(out, v, sizeof(double) * static_cast<size_t>(n));
  return true;
}

// The first item of a functional-group sequence (PlanePositionSequence, ...), or null.
DcmItem* group_item(DcmItem* parent, const DcmTagKey& sequence) {
  DcmItem* item = nullptr;
  if (parent == nullptr || parent->findAndGetSequenceItem(sequence, item, 0).bad()) return nullptr;
  return item;
}

// The geometry and rescale of one frame. Enhanced multi-frame files keep them in functional
// groups (per frame first, then shared); classic files at the top level.
bool frame_geometry(DcmDataset& ds, DcmItem* per_frame, DcmItem* shared, DicomFrameGeometry& g) {
  bool position = false, orientation = false, spacing = false, rescale = false;
  for (DcmItem* level : {per_frame, shared, static_cast<DcmItem*>(&ds)}) {
    const bool top = level == &ds;
    if (!position)
      position = get_doubles(top ? level : group_item(level, DCM_PlanePositionSequence), DCM_ImagePositionPatient,
                             g.position.data(), 3);
    if (!orientation)
      orientation = get_doubles(top ? level : group_item(level, DCM_PlaneOrientationSequence),
                                DCM_ImageOrientationPatient, g.orientation.data(), 6);
    if (!spacing)
      spacing = get_doubles(top ? level : group_item(level, DCM_PixelMeasuresSequence), DCM_PixelSpacing,
                            g.spacing.data(), 2);
    if (!rescale) {
      DcmItem* t = top ? level : group_item(level, DCM_PixelValueTransformationSequence);
      rescale = get_doubles(t, DCM_RescaleSlope, &g.slope, 1);
      get_doubles(t, DCM_RescaleIntercept, &g.intercept, 1);
    }
  }
  if (g.slope == 0.0) g.slope = 1.0;  // a zero slope is a writer's mistake, not a request to blank the image
  return position && orientation && spacing;
}

}  // namespace

std::string transfer_syntax_name(const std::string& uid) {
  const DcmXfer x(uid.c_str());
  const std::string name = x.getXfer() == EXS_Unknown ? tr("unknown transfer syntax") : x.getXferName();
  return name + " (" + uid + ")";
}

bool has_dicom_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[132] = {};
  return in.read(head, sizeof head) && std::memcmp(head + 128, "DICM", 4) == 0;
}

DicomFileInfo read_dicom_info(const std::string& path) {
  DcmFileFormat format;
  DcmDataset& ds = load(path, format);
  DicomFileInfo info;
  info.file = path;
  const DcmXfer xfer(ds.getOriginalXfer());
  info.transfer_syntax = xfer.getXferID();
  UNET_CHECK(ds.tagExists(DCM_PixelData), path,
             tr("holds no image (no PixelData; a DICOMDIR, report or other object)"));
  info.series_uid = get_string(ds, DCM_SeriesInstanceUID);
  UNET_CHECK(!info.series_uid.empty(), path, tr("has no SeriesInstanceUID, so its series cannot be told"));
  UNET_CHECK(
      xfer.isNotEncapsulated() || has_decoder(xfer.getXfer()), path,
      trf("uses the transfer syntax {}, which this build cannot decode (DCMTK decodes uncompressed, JPEG, JPEG-LS and "
          "RLE; JPEG 2000 needs a commercial DCMTK add-on). Convert it first, e.g. with gdcmconv --raw",
          transfer_syntax_name(info.transfer_syntax)));
  info.modality = get_string(ds, DCM_Modality);
  info.rows = get_int(ds, DCM_Rows, 0);
  info.cols = get_int(ds, DCM_Columns, 0);
  info.frames = get_int(ds, DCM_NumberOfFrames, 1);
  info.bits_allocated = static_cast<int>(get_int(ds, DCM_BitsAllocated, 0));
  info.bits_stored = static_cast<int>(get_int(ds, DCM_BitsStored, info.bits_allocated));
  info.high_bit = static_cast<int>(get_int(ds, DCM_HighBit, info.bits_stored - 1));
  info.is_signed = get_int(ds, DCM_PixelRepresentation, 0) == 1;
  const int64_t samples = get_int(ds, DCM_SamplesPerPixel, 1);
  const std::string photometric = get_string(ds, DCM_PhotometricInterpretation);
  info.monochrome1 = photometric == "MONOCHROME1";
  UNET_CHECK(info.rows > 0 && info.cols > 0, path, tr("has no Rows / Columns"));
  UNET_CHECK(info.frames >= 1, path, trf("has NumberOfFrames {}", std::to_string(info.frames)));
  UNET_CHECK(samples == 1 && (info.monochrome1 || photometric == "MONOCHROME2" || photometric.empty()), path,
             trf("is a colour image (SamplesPerPixel {}, PhotometricInterpretation '{}'); only greyscale "
                 "(MONOCHROME1/2) MR and CT images are read",
                 std::to_string(samples), photometric));
  UNET_CHECK(info.bits_allocated == 8 || info.bits_allocated == 16, path,
             trf("has BitsAllocated {}; only 8 and 16 are read", std::to_string(info.bits_allocated)));
  UNET_CHECK(info.bits_stored >= 1 && info.bits_stored <= info.bits_allocated &&
                 info.high_bit >= info.bits_stored - 1 && info.high_bit < info.bits_allocated,
             path,
             trf("has inconsistent BitsStored {} / HighBit {} for BitsAllocated {}", std::to_string(info.bits_stored),
                 std::to_string(info.high_bit), std::to_string(info.bits_allocated)));
  double between = 0.0;
  if (get_doubles(&ds, DCM_SpacingBetweenSlices, &between, 1) && between > 0) info.slice_spacing = between;
  else if (get_doubles(&ds, DCM_SliceThickness, &between, 1) && between > 0) info.slice_spacing = between;

  DcmItem* shared = group_item(&ds, DCM_SharedFunctionalGroupsSequence);
  info.frame_geometry.resize(static_cast<size_t>(info.frames));
  for (int64_t f = 0; f < info.frames; ++f) {
    DcmItem* per_frame = nullptr;
    if (ds.findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, per_frame, static_cast<long>(f)).bad())
      per_frame = nullptr;
    DicomFrameGeometry& g = info.frame_geometry[static_cast<size_t>(f)];
    UNET_CHECK(frame_geometry(ds, per_frame, shared, g), path,
               trf("has no complete geometry for frame {} (ImagePositionPatient, ImageOrientationPatient and "
                   "PixelSpacing are needed to order slices)",
                   std::to_string(f + 1)));
    // A classic multi-frame file gives one position: the frames follow along the normal.
    if (per_frame == nullptr && f > 0) {
      UNET_CHECK(info.slice_spacing > 0, path,
                 tr("is a multi-frame file without per-frame positions and without SpacingBetweenSlices"));
      const auto& o = g.orientation;
      const double n[3] = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
      for (int k = 0; k < 3; ++k)
        g.position[static_cast<size_t>(k)] += static_cast<double>(f) * info.slice_spacing * n[k];
    }
  }
  return info;
}

std::vector<float> read_dicom_pixels(const DicomFileInfo& info) {
  DcmFileFormat format;
  DcmDataset& ds = load(info.file, format);
  const OFCondition c = ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
  UNET_CHECK(
      c.good() && ds.canWriteXfer(EXS_LittleEndianExplicit), info.file,
      trf("pixel data could not be decoded from {} (DCMTK: {})", transfer_syntax_name(info.transfer_syntax), c.text()));
  DcmElement* element = nullptr;
  UNET_CHECK(ds.findAndGetElement(DCM_PixelData, element).good() && element != nullptr, info.file,
             tr("has no PixelData"));
  const int64_t count = info.rows * info.cols * info.frames;
  const size_t bytes_needed = static_cast<size_t>(count) * static_cast<size_t>(info.bits_allocated / 8);
  const size_t length = element->getLength();
  UNET_CHECK(length >= bytes_needed, info.file,
             trf("PixelData holds {} bytes; {} frame(s) of {} x {} at {} bits need {}", std::to_string(length),
                 std::to_string(info.frames), std::to_string(info.rows), std::to_string(info.cols),
                 std::to_string(info.bits_allocated), std::to_string(bytes_needed)));
  // The raw samples as unsigned words: OB holds bytes, OW holds 16-bit words in host order.
  std::vector<uint32_t> raw(static_cast<size_t>(count));
  if (element->getVR() == EVR_OB || info.bits_allocated == 8) {
    Uint8* bytes = nullptr;
    if (element->getVR() == EVR_OB) {
      UNET_CHECK(element->getUint8Array(bytes).good() && bytes != nullptr, info.file, tr("PixelData cannot be read"));
      for (int64_t i = 0; i < count; ++i)
        raw[static_cast<size_t>(i)] = info.bits_allocated == 8
                                          ? bytes[i]
                                          : static_cast<uint32_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8));
    } else {  // 8-bit samples in an OW element (implicit VR files): two samples per little-endian word
      Uint16* words = nullptr;
      UNET_CHECK(element->getUint16Array(words).good() && words != nullptr, info.file, tr("PixelData cannot be read"));
      for (int64_t i = 0; i < count; ++i) raw[static_cast<size_t>(i)] = (words[i / 2] >> (8 * (i % 2))) & 0xFFu;
    }
  } else {
    Uint16* words = nullptr;
    UNET_CHECK(element->getUint16Array(words).good() && words != nullptr, info.file, tr("PixelData cannot be read"));
    for (int64_t i = 0; i < count; ++i) raw[static_cast<size_t>(i)] = words[i];
  }
  // Stored bits sit at HighBit - BitsStored + 1 .. HighBit; the rest of the word is other data.
  const int shift = info.high_bit + 1 - info.bits_stored;
  const uint32_t mask = (1u << info.bits_stored) - 1u;
  const int64_t plane = info.rows * info.cols;
  std::vector<float> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const uint32_t bits = (raw[static_cast<size_t>(i)] >> shift) & mask;
    int64_t v = bits;
    if (info.is_signed && (bits >> (info.bits_stored - 1)) != 0) v -= int64_t{1} << info.bits_stored;
    if (info.monochrome1) v = info.is_signed ? -1 - v : static_cast<int64_t>(mask) - v;
    const DicomFrameGeometry& g = info.frame_geometry[static_cast<size_t>(i / plane)];
    out[static_cast<size_t>(i)] = static_cast<float>(static_cast<double>(v) * g.slope + g.intercept);
  }
  return out;
}

}  // namespace unet::data
