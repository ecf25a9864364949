// The BraTS data side: NIfTI read (files written by nibabel) and written (read back by
// nibabel in nifti_written_read_by_nibabel), the case scan, z-score and label mapping against
// numpy, each bad-case kind named and skipped, the patch sampler and the synthetic set.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "base/error.hpp"
#include "data/brats_labels.hpp"
#include "data/brats_scan.hpp"
#include "data/brats_volume.hpp"
#include "data/nifti_io.hpp"
#include "data/patch_sampler.hpp"
#include "data/synth_brats.hpp"
#include "tests/check_error.hpp"

using namespace unet;
using namespace unet::data;
using unet::test::check_error;
namespace fs = std::filesystem;

namespace {

fs::path fixtures() {
  const char* d = std::getenv("UNET_NIFTI_DIR");
  REQUIRE_MESSAGE(d != nullptr, "UNET_NIFTI_DIR is not set (run through ctest: nifti_fixtures_generate makes it)");
  return d;
}

template <class T>
std::vector<T> read_raw(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), p.string());
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<T> v(bytes.size() / sizeof(T));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
  return v;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int64_t at3(const std::array<int64_t, 3>& d, int64_t x, int64_t y, int64_t z) { return (x * d[1] + y) * d[2] + z; }

}  // namespace

TEST_CASE("NIfTI from nibabel: every type, .nii and .nii.gz, scaled, in [X][Y][Z] order") {
  const fs::path dir = fixtures();
  for (const char* name : {"coords_int16", "coords_float32", "coords_float64", "coords_int32", "coords_uint8",
                           "coords_scaled"})
    for (const char* ext : {".nii", ".nii.gz"}) {
      const std::string path = (dir / (std::string(name) + ext)).string();
      CAPTURE(path);
      const NiftiVolume v = read_nifti(path);
      REQUIRE(v.dims == std::array<int64_t, 3>{5, 7, 3});
      const auto want = read_raw<float>(path + ".f32");  // nibabel's get_fdata(), C order
      REQUIRE(want.size() == v.voxels.size());
      // Exact: every value here (integers up to 264000, x.25, x.5) is a float, and the
      // scaling 0.5 v - 3 is exact in float too.
      CHECK(v.voxels == want);
      const auto sp = v.header.spacing();
      CHECK(sp[0] == 1.5);
      CHECK(sp[1] == 2.0);
      CHECK(sp[2] == 2.5);
    }
  // The values encode their position: a transposition cannot match.
  const NiftiVolume c = read_nifti((dir / "coords_int16.nii.gz").string());
  const NiftiVolume s = read_nifti((dir / "coords_scaled.nii").string());
  for (int64_t x = 0; x < 5; ++x)
    for (int64_t y = 0; y < 7; ++y)
      for (int64_t z = 0; z < 3; ++z) {
        const float v = static_cast<float>(x + 10 * y + 100 * z);
        CHECK(c.voxels[static_cast<size_t>(at3(c.dims, x, y, z))] == v);
        CHECK(s.voxels[static_cast<size_t>(at3(s.dims, x, y, z))] == 0.5f * v - 3.0f);
      }
  // A 4th dimension of size 1 is still one volume.
  CHECK(read_nifti((dir / "four_d_one.nii").string()).voxels == c.voxels);
}

TEST_CASE("NIfTI refusals name the file and the defect") {
  const fs::path dir = fixtures();
  const std::string four = (dir / "four_d_two.nii.gz").string(), two = (dir / "two_d.nii").string();
  const std::string cut = (dir / "truncated.nii").string(), cut_gz = (dir / "truncated.nii.gz").string();
  const std::string junk = (dir / "not_nifti.nii").string(), missing = (dir / "absent_t1.nii").string();
  check_error([&] { read_nifti(four); }, {four, "more than 3 dimensions", "dim[4] = 2"});
  check_error([&] { read_nifti_header(four); }, {four, "more than 3 dimensions"});
  check_error([&] { read_nifti(two); }, {two, "2D image", "a 3D volume is needed"});
  check_error([&] { read_nifti(cut); }, {cut, "is truncated", "210 bytes of voxel data"});
  check_error([&] { read_nifti(cut_gz); }, {cut_gz, "truncated or its gzip stream is damaged"});
  check_error([&] { read_nifti(junk); }, {junk, "is not a readable NIfTI file"});
  check_error([&] { read_nifti(missing); }, {missing, "does not exist"});
}

TEST_CASE("labels written with the reference's header; classes 0..3 become 0, 1, 2, 4") {
  const fs::path dir = fixtures();
  const NiftiHeader ref = read_nifti_header((dir / "reference.nii.gz").string());
  const auto d = ref.dims();
  REQUIRE(d == std::array<int64_t, 3>{6, 8, 5});
  std::vector<uint8_t> classes(static_cast<size_t>(d[0] * d[1] * d[2]));
  for (int64_t x = 0; x < d[0]; ++x)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t z = 0; z < d[2]; ++z) classes[static_cast<size_t>(at3(d, x, y, z))] = (x + 2 * y + 3 * z) % 4;
  const fs::path ours = dir / "ours";
  const std::string u8 = (ours / "labels_u8.nii.gz").string(), i16 = (ours / "labels_i16.nii").string();
  write_brats_labels(u8, ref, std::vector<uint8_t>(classes.size(), 1));  // replaced below: atomic overwrite
  write_brats_labels(u8, ref, classes, NiftiDatatype::UInt8);
  write_brats_labels(i16, ref, classes, NiftiDatatype::Int16);
  for (const auto& e : fs::directory_iterator(ours)) CHECK_FALSE(contains(e.path().string(), ".tmp"));
  CHECK(read_bytes(u8).substr(0, 2) == "\x1f\x8b");  // gzip by the name's ending
  for (const std::string& p : {u8, i16}) {
    const NiftiVolume back = read_nifti(p);
    REQUIRE(back.dims == d);
    CHECK(brats_labels_to_classes(back.voxels, back.dims, p) == classes);
    CHECK(back.header.sform() == ref.sform());
    CHECK(back.header.sform_code() == 2);
    CHECK(back.header.qform_code() == 1);
    for (size_t i = 0; i < 16; ++i) CHECK(back.header.qform()[i] == doctest::Approx(ref.qform()[i]).epsilon(1e-6));
  }
  CHECK(read_nifti_header(u8).datatype_name() == "UINT8");
  CHECK(read_nifti_header(i16).datatype_name() == "INT16");
  std::vector<uint8_t> bad = classes;
  bad[7] = 4;
  check_error([&] { write_brats_labels(u8, ref, bad); }, {u8, "class 4 at index 7 is not 0..3"});
  check_error([&] { write_brats_labels(u8, ref, std::vector<uint8_t>(5, 0)); }, {u8, "has 5 voxels", "6x8x5"});
  check_error([&] { write_brats_labels((ours / "labels.img").string(), ref, classes); }, {"labels.img", ".nii or .nii.gz"});
  // The refused writes left the earlier file whole.
  CHECK(brats_labels_to_classes(read_nifti(u8).voxels, d, u8) == classes);
}

TEST_CASE("label mapping and its refusal") {
  CHECK(brats_label_to_class(0) == 0);
  CHECK(brats_label_to_class(1) == 1);
  CHECK(brats_label_to_class(2) == 2);
  CHECK(brats_label_to_class(4) == 3);
  CHECK(brats_label_to_class(3) == -1);
  CHECK(brats_label_to_class(1.5f) == -1);
  for (int c = 0; c < 4; ++c) CHECK(brats_label_to_class(static_cast<float>(brats_class_to_label(c))) == c);
  check_error([] { brats_labels_to_classes({0, 4, 5, 5}, {1, 2, 2}, "seg.nii"); },
              {"seg.nii", "label value 5", "voxel (0, 1, 0)", "2 voxel(s)"});
}

TEST_CASE("scan: a case folder, the training folder or its parent; file roles") {
  const fs::path parent = fixtures() / "parent";
  const fs::path root = parent / "MICCAI_BraTS2020_TrainingData";
  CHECK(scan_brats(parent.string()).cases.size() == 9);
  const BratsScan scan = scan_brats(root.string());
  REQUIRE(scan.cases.size() == 9);
  CHECK(scan.cases.front().id == "BraTS20_Training_001");
  CHECK(scan.cases.back().id == "BraTS20_Training_009");
  CHECK_FALSE(scan.cases.back().has_labels());
  const BratsScan one = scan_brats((root / "BraTS20_Training_002").string());
  REQUIRE(one.cases.size() == 1);
  CHECK(one.cases[0].images[2] == (root / "BraTS20_Training_002" / "BraTS20_Training_002_t1ce.nii.gz").string());
  CHECK(brats_file_role("BraTS2021_00000_T1CE.NII.GZ") == "t1ce");
  CHECK(brats_file_role("BraTS20_Training_001_t1.nii") == "t1");
  CHECK(brats_file_role("W39_1998.09.19_Segm.nii") == "seg");
  CHECK(brats_file_role("name_mapping.csv") == "");
  CHECK(brats_file_role("BraTS20_Training_001_t1.nii.bak") == "");
  check_error([&] { scan_brats((fixtures() / "expected").string()); }, {"expected", "no BraTS case folder found"});
}

TEST_CASE("load: z-score and classes match numpy; every bad case named and skipped; strict stops") {
  const fs::path dir = fixtures();
  const BratsScan scan = scan_brats((dir / "parent").string());
  BratsLoadReport report;
  const auto cases = load_brats_dataset(scan, BratsLoadConfig{}, report);
  REQUIRE(cases.size() == 2);
  CHECK(report.cases == 2);
  CHECK(report.skipped == 7);
  for (const BratsCase& c : cases) {
    CAPTURE(c.id);
    CHECK(c.dims == std::array<int64_t, 3>{12, 10, 8});
    CHECK(c.spacing == std::array<double, 3>{1, 1, 1});
    CHECK(c.has_labels);
    const auto norm = read_raw<float>(dir / "expected" / (c.id + "_norm.f32"));
    REQUIRE(norm.size() == c.image.size());
    double worst = 0;
    for (size_t i = 0; i < norm.size(); ++i) worst = std::max(worst, std::fabs(double(norm[i]) - c.image[i]));
    // Both sides compute in double and round to float once; values are within +-3, where a
    // float step is 2.4e-7, so 1e-6 allows the rounding of each side and nothing more.
    CHECK(worst < 1e-6);
    CHECK(c.classes == read_raw<uint8_t>(dir / "expected" / (c.id + "_classes.u8")));
  }
  CHECK(cases[0].id == "BraTS20_Training_001");
  CHECK(cases[1].id == "BraTS20_Training_002");  // its flair is scaled (scl_slope 0.25): z-score is invariant
  REQUIRE(report.problems.size() == 7);
  const std::vector<std::vector<std::string>> want = {
      {"BraTS20_Training_003", "modality t1ce is missing"},
      {"BraTS20_Training_004_t2.nii", "is truncated"},
      {"BraTS20_Training_005_seg.nii", "is 12x10x7", "segmentation must have the images' shape"},
      {"BraTS20_Training_006_t1.nii", "is 12x9x8", "all modalities of a case must have the same shape"},
      {"BraTS20_Training_007_seg.nii", "label value 3", "is not a BraTS label"},
      {"BraTS20_Training_008_flair.nii", "more than 3 dimensions"},
      {"BraTS20_Training_009", "has no segmentation"}};
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(report.problems[i]);
    CHECK(contains(report.problems[i], "skipped case BraTS20_Training_00" + std::to_string(i + 3)));
    for (const auto& part : want[i]) CHECK(contains(report.problems[i], part));
  }

  BratsLoadConfig predict;
  predict.require_labels = false;
  BratsLoadReport r2;
  const auto with_unlabelled = load_brats_dataset(scan, predict, r2);
  REQUIRE(with_unlabelled.size() == 3);
  CHECK(with_unlabelled[2].id == "BraTS20_Training_009");
  CHECK_FALSE(with_unlabelled[2].has_labels);
  CHECK(with_unlabelled[2].classes.empty());
  CHECK(r2.without_labels == 1);

  BratsLoadConfig first;
  first.max_data = 1;
  BratsLoadReport r3;
  const auto only_one = load_brats_dataset(scan, first, r3);
  REQUIRE(only_one.size() == 1);
  CHECK(only_one[0].id == "BraTS20_Training_001");

  for (int threads : {1, 2}) {
    BratsLoadConfig strict;
    strict.strict = true;
    strict.threads = threads;
    BratsLoadReport r4;
    check_error([&] { load_brats_dataset(scan, strict, r4); }, {"BraTS20_Training_003", "modality t1ce is missing"});
  }
}

TEST_CASE("z-score over nonzero voxels: zero stays zero, population std") {
  std::vector<float> v = {0, 1, 0, 3, 0, 5};  // nonzero mean 3, population std sqrt(8/3)
  normalize_nonzero(v.data(), static_cast<int64_t>(v.size()));
  const double s = std::sqrt(8.0 / 3.0) + 1e-8;
  CHECK(v[0] == 0.0f);
  CHECK(v[2] == 0.0f);
  CHECK(v[1] == doctest::Approx(-2.0 / s).epsilon(1e-7));  // float rounding of the result
  CHECK(v[3] == 0.0f);
  CHECK(v[5] == doctest::Approx(2.0 / s).epsilon(1e-7));
  std::vector<float> empty(4, 0.0f);
  normalize_nonzero(empty.data(), 4);
  CHECK(empty == std::vector<float>(4, 0.0f));
}

namespace {

// A case whose image values name their source voxel: channel m holds m * 100000 + index + 1.
BratsCase position_case(const std::array<int64_t, 3>& d, const std::vector<std::array<int64_t, 3>>& tumour) {
  BratsCase c;
  c.id = "position";
  c.dims = d;
  c.has_labels = true;
  const int64_t n = c.voxel_count();
  c.image.resize(static_cast<size_t>(4 * n));
  for (int64_t m = 0; m < 4; ++m)
    for (int64_t i = 0; i < n; ++i) c.image[static_cast<size_t>(m * n + i)] = static_cast<float>(m * 100000 + i + 1);
  c.classes.assign(static_cast<size_t>(n), 0);
  for (size_t t = 0; t < tumour.size(); ++t)
    c.classes[static_cast<size_t>(at3(d, tumour[t][0], tumour[t][1], tumour[t][2]))] = static_cast<uint8_t>(1 + t % 3);
  return c;
}

std::vector<std::array<int64_t, 3>> block(std::array<int64_t, 3> lo, std::array<int64_t, 3> hi) {
  std::vector<std::array<int64_t, 3>> v;
  for (int64_t x = lo[0]; x < hi[0]; ++x)
    for (int64_t y = lo[1]; y < hi[1]; ++y)
      for (int64_t z = lo[2]; z < hi[2]; ++z) v.push_back({x, y, z});
  return v;
}

}  // namespace

TEST_CASE("patches: enough tumour, image and label flipped together, deterministic") {
  const BratsCase c = position_case({20, 18, 16}, block({14, 1, 10}, {19, 6, 15}));  // 125 tumour voxels
  PatchConfig cfg;
  cfg.size = {8, 8, 8};
  cfg.min_tumor_voxels = 100;
  // Only 8 of the 1287 origins hold the whole block (> 100 needs all 125): a draw succeeds
  // with p = 0.0062, so 5000 tries fail with p = 3e-14 and the fallback is not what is tested.
  cfg.max_tries = 5000;
  const int64_t pv = 512, n = c.voxel_count();
  std::vector<float> img(4 * pv), lab(pv);
  std::array<int, 3> flips{0, 0, 0};
  std::set<std::array<int64_t, 3>> origins;
  for (int s = 0; s < 40; ++s) {
    const PatchInfo info = sample_patch(c, cfg, 2024, 0, 0, s, img.data(), lab.data());
    CAPTURE(s);
    CHECK(info.tumour_voxels > 100);
    CHECK(info.tries <= cfg.max_tries);
    origins.insert(info.origin);
    for (int a = 0; a < 3; ++a) flips[a] += info.flipped[a] ? 1 : 0;
    int64_t labelled = 0, wrong = 0;
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t j = 0; j < 8; ++j)
        for (int64_t k = 0; k < 8; ++k) {
          const int64_t dst = (i * 8 + j) * 8 + k;
          const int64_t x = info.origin[0] + (info.flipped[0] ? 7 - i : i);
          const int64_t y = info.origin[1] + (info.flipped[1] ? 7 - j : j);
          const int64_t z = info.origin[2] + (info.flipped[2] ? 7 - k : k);
          const int64_t src = at3(c.dims, x, y, z);
          for (int64_t m = 0; m < 4; ++m) wrong += img[static_cast<size_t>(m * pv + dst)] != c.image[static_cast<size_t>(m * n + src)];
          wrong += lab[static_cast<size_t>(dst)] != c.classes[static_cast<size_t>(src)];
          labelled += lab[static_cast<size_t>(dst)] != 0;
        }
    CHECK(wrong == 0);
    CHECK(labelled == info.tumour_voxels);
  }
  for (int a = 0; a < 3; ++a) {  // p = 0.5 each: 40 draws all alike would be a broken flip
    CHECK(flips[a] > 0);
    CHECK(flips[a] < 40);
  }
  CHECK(origins.size() > 1);

  std::vector<float> img2(4 * pv), lab2(pv);
  sample_patch(c, cfg, 2024, 3, 0, 1, img.data(), lab.data());
  sample_patch(c, cfg, 2024, 3, 0, 1, img2.data(), lab2.data());
  CHECK(img == img2);
  CHECK(lab == lab2);
  bool differs = false;
  for (uint64_t seed = 1; seed < 6; ++seed) {
    sample_patch(c, cfg, seed, 3, 0, 1, img2.data(), lab2.data());
    differs |= img != img2;
  }
  CHECK(differs);

  cfg.flip = false;
  for (int s = 0; s < 10; ++s) {
    const PatchInfo info = sample_patch(c, cfg, 7, 0, 0, s, img.data(), lab.data());
    CHECK(info.flipped == std::array<bool, 3>{false, false, false});
    CHECK(img[0] == c.image[static_cast<size_t>(at3(c.dims, info.origin[0], info.origin[1], info.origin[2]))]);
  }
}

TEST_CASE("patches: zero padding for small volumes, fallback onto the tumour") {
  // 6x5x4 volume in an 8x8x8 patch: every voxel once, the rest zero; 12 tumour voxels only.
  const BratsCase small = position_case({6, 5, 4}, block({1, 1, 0}, {3, 3, 3}));
  REQUIRE(small.tumour_voxels() == 12);
  PatchConfig cfg;
  cfg.size = {8, 8, 8};
  cfg.max_tries = 5;
  std::vector<float> img(4 * 512), lab(512);
  for (int s = 0; s < 10; ++s) {
    const PatchInfo info = sample_patch(small, cfg, 11, 0, 0, s, img.data(), lab.data());
    CHECK(info.tries == cfg.max_tries + 1);  // 12 tumour voxels can never exceed 100: fallback
    CHECK(info.tumour_voxels == 12);         // the whole volume is inside the patch
    for (int a = 0; a < 3; ++a) {
      CHECK(info.origin[a] <= 0);
      CHECK(info.origin[a] >= small.dims[a] - 8);
    }
    std::set<float> seen;
    int64_t zeros = 0;
    for (int64_t i = 0; i < 512; ++i) {
      if (img[static_cast<size_t>(512 + i)] == 0.0f) ++zeros;  // channel 1
      else seen.insert(img[static_cast<size_t>(512 + i)]);
    }
    CHECK(seen.size() == 120);  // each of the 6*5*4 voxels exactly once
    CHECK(zeros == 512 - 120);
  }
  // A large volume with 3 tumour voxels: the fallback centres the patch on one of them.
  const BratsCase sparse = position_case({40, 40, 40}, {{37, 2, 20}, {37, 3, 20}, {38, 2, 20}});
  PatchConfig many = cfg;
  many.max_tries = 3;
  for (int s = 0; s < 5; ++s) {
    const PatchInfo info = sample_patch(sparse, many, 5, 0, 0, s, img.data(), lab.data());
    CHECK(info.tries == 4);
    CHECK(info.tumour_voxels >= 1);
  }
  // An unlabelled case cannot give training patches.
  BratsCase unlabelled = small;
  unlabelled.has_labels = false;
  unlabelled.classes.clear();
  check_error([&] { sample_patch(unlabelled, cfg, 1, 0, 0, 0, img.data(), lab.data()); }, {"position", "no segmentation"});
}

TEST_CASE("epoch order and batches") {
  PatchConfig cfg;
  cfg.size = {8, 8, 8};
  cfg.sample_num = 3;
  const auto order = epoch_patch_order(5, cfg, 9, 0);
  REQUIRE(order.size() == 15);
  std::set<std::pair<int64_t, int>> all;
  for (const auto& r : order) all.insert({r.case_index, r.sample});
  CHECK(all.size() == 15);
  const auto again = epoch_patch_order(5, cfg, 9, 0), next = epoch_patch_order(5, cfg, 9, 1);
  bool same = true, differ = false;
  for (size_t i = 0; i < order.size(); ++i) {
    same &= order[i].case_index == again[i].case_index && order[i].sample == again[i].sample;
    differ |= order[i].case_index != next[i].case_index || order[i].sample != next[i].sample;
  }
  CHECK(same);
  CHECK(differ);

  std::vector<BratsCase> cases = {position_case({10, 10, 10}, block({2, 2, 2}, {8, 8, 8}))};
  cfg.min_tumor_voxels = 10;
  std::vector<PatchInfo> infos;
  const PatchBatch b = make_patch_batch(cases, {{0, 0}, {0, 1}}, cfg, 3, 0, &infos);
  CHECK(b.count == 2);
  CHECK(b.images.size() == 2 * 4 * 512);
  CHECK(b.labels.size() == 2 * 512);
  REQUIRE(infos.size() == 2);
  for (float v : b.labels) CHECK((v == 0 || v == 1 || v == 2 || v == 3));
  check_error([&] { make_patch_batch(cases, {{1, 0}}, cfg, 3, 0); }, {"case index 1", "1 loaded cases"});
}

TEST_CASE("synthetic BraTS: layout, both file kinds, nested tumour, deterministic") {
  const fs::path out = fixtures() / "ours" / "synth";
  fs::remove_all(out);
  SynthBratsConfig cfg;
  cfg.out = out.string();
  cfg.cases = 3;
  cfg.seed = 7;
  cfg.size = {40, 44, 36};
  const SynthBratsReport rep = synth_brats(cfg);
  CHECK(rep.cases == 3);
  CHECK(rep.files == 15);
  CHECK(rep.compressed_cases == 1);
  const fs::path root = out / "MICCAI_BraTS2020_TrainingData";
  for (int i = 0; i < 3; ++i) {
    const std::string id = synth_brats_case_id(i), ext = i % 2 ? ".nii.gz" : ".nii";
    for (const char* role : {"flair", "t1", "t1ce", "t2", "seg"})
      CHECK(fs::is_regular_file(root / id / (id + "_" + role + ext)));
  }
  CHECK(synth_brats_case_id(0) == "BraTS20_Training_001");

  BratsLoadReport report;
  const auto cases = load_brats_dataset(scan_brats(out.string()), BratsLoadConfig{}, report);
  REQUIRE(cases.size() == 3);
  CHECK(report.skipped == 0);
  for (const BratsCase& c : cases) {
    CAPTURE(c.id);
    CHECK(c.dims == cfg.size);
    std::array<int64_t, 4> count{0, 0, 0, 0};
    int64_t core_touches_edema = 0, rim_touches_background = 0, tumour_outside_brain = 0;
    const auto& d = c.dims;
    for (int64_t x = 0; x < d[0]; ++x)
      for (int64_t y = 0; y < d[1]; ++y)
        for (int64_t z = 0; z < d[2]; ++z) {
          const int k = c.classes[static_cast<size_t>(at3(d, x, y, z))];
          ++count[static_cast<size_t>(k)];
          if (k != 0 && c.image[static_cast<size_t>(at3(d, x, y, z))] == 0.0f) ++tumour_outside_brain;
          if (k != 1 && k != 3) continue;
          const int64_t nb[6][3] = {{x - 1, y, z}, {x + 1, y, z}, {x, y - 1, z}, {x, y + 1, z}, {x, y, z - 1}, {x, y, z + 1}};
          for (const auto& q : nb) {
            if (q[0] < 0 || q[1] < 0 || q[2] < 0 || q[0] >= d[0] || q[1] >= d[1] || q[2] >= d[2]) continue;
            const int o = c.classes[static_cast<size_t>(at3(d, q[0], q[1], q[2]))];
            core_touches_edema += k == 1 && (o == 2 || o == 0);  // the core sits inside the rim
            rim_touches_background += k == 3 && o == 0;          // the rim sits inside the edema
          }
        }
    for (int k = 0; k < 4; ++k) CHECK(count[static_cast<size_t>(k)] > 0);
    CHECK(core_touches_edema == 0);
    CHECK(rim_touches_background == 0);
    CHECK(tumour_outside_brain == 0);
  }
  // The same seed gives the same volumes; another seed other ones.
  const fs::path again = fixtures() / "synth_again";
  fs::remove_all(again);
  SynthBratsConfig cfg2 = cfg;
  cfg2.out = again.string();
  cfg2.cases = 2;
  synth_brats(cfg2);
  const std::string f1 = "BraTS20_Training_002/BraTS20_Training_002_t1ce.nii.gz";
  CHECK(read_nifti((root / f1).string()).voxels ==
        read_nifti((again / "MICCAI_BraTS2020_TrainingData" / f1).string()).voxels);
  cfg2.seed = 8;
  synth_brats(cfg2);
  CHECK(read_nifti((root / f1).string()).voxels !=
        read_nifti((again / "MICCAI_BraTS2020_TrainingData" / f1).string()).voxels);
  check_error([&] { SynthBratsConfig bad = cfg; bad.cases = 0; synth_brats(bad); }, {"--cases", "must be 1..999"});
}
