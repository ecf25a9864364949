// `unet convert --dicom DIR --out DIR`: DICOM series as kaggle_3m-style TIFF slices
// (OUT/<id>/<id>_<n>.tif, n = 1.. along the slice normal), so that scanner data can be
// labelled, trained on and evaluated like the Kaggle LGG set. One series gives grey replicated
// to 3 channels; three --dicom folders (one series each, the same geometry) give one channel
// each. A mask folder or a NIfTI label volume on the series' grid becomes <id>_<n>_mask.tif.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "data/dicom_series.hpp"
#include "data/kaggle_scan.hpp"
#include "data/nifti_io.hpp"
#include "data/tiff_io.hpp"
#include "data/volume_to_rgb.hpp"
#include "tools/commands.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

namespace {

struct ConvertOptions {
  std::vector<std::string> dicom;
  std::string out, id, mask_folder, labels;
  bool strict = false;
};

// Series of several --dicom folders must describe the same voxels to be stacked as channels.
void check_same_grid(const data::DicomSeries& a, const std::string& a_dir, const data::DicomSeries& b,
                     const std::string& b_dir) {
  const std::string both = b_dir + " and " + a_dir;
  UNET_CHECK(a.rows == b.rows && a.cols == b.cols && a.slice_count() == b.slice_count(), "--dicom",
             trf("{} differ in size ({} x {} x {} against {} x {} x {}); channels must be series of one grid (register "
                 "them first)",
                 both, std::to_string(b.cols), std::to_string(b.rows), std::to_string(b.slice_count()),
                 std::to_string(a.cols), std::to_string(a.rows), std::to_string(a.slice_count())));
  const auto fa = a.affine_ras(), fb = b.affine_ras();
  for (size_t i = 0; i < 12; ++i)
    UNET_CHECK(
        std::abs(fa[i] - fb[i]) < 0.01, "--dicom",
        trf("{} lie on different voxel grids (position, orientation or spacing); channels must share one",  // mm: well
                                                                                                            // below any
                                                                                                            // voxel
                                                                                                            // size
            both));
}

// The slice number of a mask file: the last run of digits in its name (x_12_mask.tif -> 12).
int slice_number(const fs::path& p) {
  const std::string s = p.stem().string();
  size_t end = s.size();
  while (end > 0 && !std::isdigit(static_cast<unsigned char>(s[end - 1]))) --end;
  size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(s[begin - 1]))) --begin;
  UNET_CHECK(begin < end && end - begin < 9, p.string(),
             tr("has no slice number in its name (expected e.g. case_12_mask.tif)"));
  return std::stoi(s.substr(begin, end - begin));
}

// Masks [slices][rows * cols] {0,1} from a folder of TIFFs numbered 1..slices.
std::vector<std::vector<uint8_t>> masks_from_folder(const std::string& folder, const data::DicomSeries& s) {
  std::map<int, fs::path> by_number;
  std::error_code ec;
  UNET_CHECK(fs::is_directory(folder, ec), "--mask", trf("{} is not a folder", folder));
  for (const auto& e : fs::directory_iterator(folder))
    if (e.is_regular_file() && data::is_tiff_path(e.path().string())) {
      const int n = slice_number(e.path());
      const auto [it, fresh] = by_number.emplace(n, e.path());
      UNET_CHECK(fresh, e.path().string(),
                 trf("has the slice number {} of {}", std::to_string(n), it->second.string()));
    }
  std::vector<std::vector<uint8_t>> masks;
  for (int n = 1; n <= s.slice_count(); ++n) {
    const auto it = by_number.find(n);
    UNET_CHECK(it != by_number.end(), "--mask",
               trf("{} has no mask for slice {} of {} (slices are numbered 1.. along the slice normal, as `unet "
                   "convert` numbers the images)",
                   folder, std::to_string(n), std::to_string(s.slice_count())));
    const data::Image m = data::read_tiff(it->second.string());
    UNET_CHECK(m.height == s.rows && m.width == s.cols, it->second.string(),
               trf("is {} x {}; the series' slices are {} x {}", std::to_string(m.width), std::to_string(m.height),
                   std::to_string(s.cols), std::to_string(s.rows)));
    masks.push_back(data::mask_to_binary(m, it->second.string()));
  }
  UNET_CHECK(static_cast<int64_t>(by_number.size()) == s.slice_count(), "--mask",
             trf("{} holds {} masks for {} slices", folder, std::to_string(by_number.size()),
                 std::to_string(s.slice_count())));
  return masks;
}

// Masks from a NIfTI label volume on the series' grid (voxel (column, row, slice), as
// `unet predict` writes it); any label > 0 is tumour.
std::vector<std::vector<uint8_t>> masks_from_labels(const std::string& path, const data::DicomSeries& s) {
  const data::NiftiVolume v = data::read_nifti(path);
  UNET_CHECK(v.dims[0] == s.cols && v.dims[1] == s.rows && v.dims[2] == s.slice_count(), path,
             trf("is {} x {} x {}; the series is {} x {} x {} (columns x rows x slices)", std::to_string(v.dims[0]),
                 std::to_string(v.dims[1]), std::to_string(v.dims[2]), std::to_string(s.cols), std::to_string(s.rows),
                 std::to_string(s.slice_count())));
  const auto want = s.affine_ras();
  const auto have = v.header.sform_code() > 0 ? v.header.sform() : v.header.qform();
  for (size_t i = 0; i < 12; ++i)
    UNET_CHECK(std::abs(want[i] - have[i]) < 0.01, path,  // mm, as for channels
               tr("has another affine than the series (its voxels are not the series' voxels; resample the labels onto "
                  "the series' grid first)"));
  const int64_t plane = s.rows * s.cols;
  std::vector<std::vector<uint8_t>> masks(static_cast<size_t>(s.slice_count()), std::vector<uint8_t>(static_cast<size_t>(plane)));
  for (int64_t c = 0; c < s.cols; ++c)
    for (int64_t r = 0; r < s.rows; ++r)
      for (int64_t k = 0; k < s.slice_count(); ++k)
        masks[static_cast<size_t>(k)][static_cast<size_t>(r * s.cols + c)] =
            v.voxels[static_cast<size_t>((c * s.rows + r) * s.slice_count() + k)] > 0.5f;
  return masks;
}

void write_case(const std::string& out, const std::string& id, const std::vector<data::Image>& images,
                const std::vector<std::vector<uint8_t>>& masks) {
  const fs::path folder = fs::path(out) / id;
  std::error_code ec;
  fs::create_directories(folder, ec);
  UNET_CHECK(!ec, folder.string(), trf("cannot create the output folder: {}", ec.message()));
  for (size_t k = 0; k < images.size(); ++k) {
    const data::Image& im = images[k];
    data::Image8 rgb{im.height, im.width, 3, std::vector<uint8_t>(im.pixels.begin(), im.pixels.end())};
    const std::string stem = (folder / (id + "_" + std::to_string(k + 1))).string();
    data::write_tiff(stem + ".tif", rgb);
    if (masks.empty()) continue;
    data::Image8 m{im.height, im.width, 1, std::vector<uint8_t>(masks[k].size())};
    for (size_t i = 0; i < m.pixels.size(); ++i) m.pixels[i] = masks[k][i] ? 255 : 0;
    data::write_tiff(stem + "_mask.tif", m);
  }
}

}  // namespace

Runner add_convert_command(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* sub = app.add_subcommand(
      "convert",
      tr("DICOM series -> kaggle_3m-style TIFF slices OUT/<id>/<id>_<n>.tif (n = 1.. along the slice normal; "
         "each\nchannel windowed to its 0.5-99.5 percentiles), to label, train and evaluate on. Outputs are named by a "
         "hash\nof the series UID or by --id; nothing that identifies the patient is written."));
  sub->add_option("--dicom", o->dicom,
                  tr("a folder of DICOM files (any names and order; several series are converted one by one). Given "
                     "3\ntimes (one series each, one voxel grid): the 3 series become the 3 channels, in that order"))
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--out", o->out, tr("output folder (a kaggle_3m-style root: one <id>/ folder per series)"))
      ->required();
  sub->add_option("--id", o->id, tr("name of the case (one series or one stack only; default series_<hash>)"));
  sub->add_option("--mask", o->mask_folder,
                  tr("a folder of mask TIFFs numbered like the slices (<...>_<n>[_mask].tif)"))
      ->check(CLI::ExistingDirectory);
  sub->add_option("--labels", o->labels,
                  tr("a NIfTI label volume on the series' grid (e.g. from `unet predict`); > 0 = tumour"))
      ->check(CLI::ExistingFile);
  sub->add_flag("--strict", o->strict,
                tr("stop at the first unreadable file or unusable series instead of skipping it"));
  return [o, sub]() {
    UNET_CHECK(
        o->dicom.size() == 1 || o->dicom.size() == 3, "--dicom",
        trf("is given {} times; give it once (grey, replicated to 3 channels) or 3 times (one series per channel)",
            std::to_string(o->dicom.size())));
    UNET_CHECK(o->mask_folder.empty() || o->labels.empty(), "--mask", tr("and --labels both given; give one of them"));
    std::vector<data::DicomScan> scans;
    for (const std::string& dir : o->dicom) {
      scans.push_back(data::scan_dicom_folder(dir, o->strict));
      for (const std::string& p : scans.back().problems) std::printf(tr("warning: %s\n").c_str(), p.c_str());
    }
    const bool stacked = scans.size() == 3;
    const bool one_case = stacked || scans[0].series.size() == 1;
    if (stacked)
      for (size_t i = 0; i < 3; ++i)
        UNET_CHECK(scans[i].series.size() == 1, "--dicom",
                   trf("{} holds {} series; for channels, give each series' own folder", o->dicom[i],
                       std::to_string(scans[i].series.size())));
    for (const char* flag : {"--id", "--mask", "--labels"})
      UNET_CHECK(one_case || sub->count(flag) == 0, flag,
                 trf("applies to one series, but {} holds {} series; give one series' folder", o->dicom[0],
                     std::to_string(scans[0].series.size())));
    int64_t slices = 0;
    if (stacked) {
      const data::DicomSeries& first = scans[0].series[0];
      for (size_t i = 1; i < 3; ++i) check_same_grid(first, o->dicom[0], scans[i].series[0], o->dicom[i]);
    }
    const std::vector<data::DicomSeries> cases = stacked ? std::vector<data::DicomSeries>{scans[0].series[0]}
                                                         : scans[0].series;
    for (const data::DicomSeries& s : cases) {
      std::vector<std::vector<float>> channels{data::read_series_voxels(s)};
      std::string id = s.id;
      if (stacked) {
        channels.push_back(data::read_series_voxels(scans[1].series[0]));
        channels.push_back(data::read_series_voxels(scans[2].series[0]));
        id = data::series_output_id(s.uid + "\\" + scans[1].series[0].uid + "\\" + scans[2].series[0].uid);
      }
      if (!o->id.empty()) id = o->id;
      const auto images = data::volume_to_rgb_slices(channels, s.slice_count(), s.rows, s.cols);
      std::vector<std::vector<uint8_t>> masks;
      if (!o->mask_folder.empty()) masks = masks_from_folder(o->mask_folder, s);
      if (!o->labels.empty()) masks = masks_from_labels(o->labels, s);
      write_case(o->out, id, images, masks);
      slices += s.slice_count();
      std::printf(tr("%-24s %4lld slices of %lld x %lld%s\n").c_str(), id.c_str(),
                  static_cast<long long>(s.slice_count()), static_cast<long long>(s.rows),
                  static_cast<long long>(s.cols), masks.empty() ? "" : tr(" with masks").c_str());
    }
    std::printf(tr("unet convert: %zu case(s), %lld slices -> %s\n").c_str(), cases.size(),
                static_cast<long long>(slices), o->out.c_str());
    return 0;
  };
}

}  // namespace unet::tools
