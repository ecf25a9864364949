// The data pipeline: TIFF I/O, the kaggle_3m scanner, preprocessing, split, augmentation,
// loader and the synthetic generator, with their failure modes.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/augment.hpp"
#include "data/dataset.hpp"
#include "data/kaggle_scan.hpp"
#include "data/loader.hpp"
#include "data/split.hpp"
#include "data/synth.hpp"
#include "data/tiff_io.hpp"
#include "base/error.hpp"

using namespace unet;
using namespace unet::data;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / "unet_test_data" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

Image8 pattern(int64_t h, int64_t w, int64_t c, int seed) {
  Image8 im{h, w, c, std::vector<uint8_t>(static_cast<size_t>(h * w * c))};
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = static_cast<uint8_t>((i * 7 + static_cast<size_t>(seed) * 13 + i / 97) & 0xFF);
  return im;
}

Image8 disc_mask(int64_t s, float cx, float cy, float r) {
  Image8 m{s, s, 1, std::vector<uint8_t>(static_cast<size_t>(s * s))};
  for (int64_t y = 0; y < s; ++y)
    for (int64_t x = 0; x < s; ++x)
      m.pixels[static_cast<size_t>(y * s + x)] = std::hypot(x - cx, y - cy) < r ? 255 : 0;
  return m;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("TIFF round trip: gray and RGB, every compression, from file and from memory") {
  const fs::path dir = fresh_dir("roundtrip");
  for (auto comp : {TiffCompression::None, TiffCompression::Lzw, TiffCompression::Deflate, TiffCompression::PackBits})
    for (int64_t c : {1, 3}) {
      const Image8 src = pattern(37, 53, c, static_cast<int>(c));
      const std::string path = (dir / ("img" + std::to_string(static_cast<int>(comp)) + "_" + std::to_string(c) + ".tif")).string();
      write_tiff(path, src, comp);
      CHECK_FALSE(fs::exists(path + ".tmp"));
      for (const Image& back : {read_tiff(path), read_tiff_memory(read_bytes(path), path)}) {
        REQUIRE(back.height == 37);
        REQUIRE(back.width == 53);
        REQUIRE(back.channels == c);
        CHECK(back.bits == 8);
        CHECK(std::equal(src.pixels.begin(), src.pixels.end(), back.pixels.begin()));
      }
    }
}

TEST_CASE("masks: 0/255 and 0/1 become {0,1}; anything else is an error naming the file") {
  Image m{2, 2, 1, 8, {0, 255, 255, 0}};
  CHECK(mask_to_binary(m, "a.tif") == std::vector<uint8_t>{0, 1, 1, 0});
  m.pixels = {0, 1, 1, 1};
  CHECK(mask_to_binary(m, "a.tif") == std::vector<uint8_t>{0, 1, 1, 1});
  m.pixels = {0, 128, 255, 0};
  CHECK(contains(error_of([&] { mask_to_binary(m, "bad_mask.tif"); }), "bad_mask.tif"));
  CHECK(contains(error_of([&] { mask_to_binary(m, "bad_mask.tif"); }), "value 128"));
  m.pixels = {0, 1, 255, 0};
  CHECK(contains(error_of([&] { mask_to_binary(m, "mixed.tif"); }), "mixes"));
}

TEST_CASE("bad TIFF files: truncated, not a TIFF, empty, missing, broken link: each names the file") {
  const fs::path dir = fresh_dir("bad");
  const std::string good = (dir / "good.tif").string();
  write_tiff(good, pattern(64, 64, 3, 1));
  const std::string bytes = read_bytes(good);
  const fs::path truncated = dir / "truncated.tif";
  std::ofstream(truncated, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  const fs::path text = dir / "text.tif";
  std::ofstream(text) << "this is a text file that pretends to be a TIFF";
  const fs::path empty = dir / "empty.tif";
  std::ofstream(empty).flush();
  const fs::path link = dir / "dangling.tif";
  fs::create_symlink(dir / "nowhere.tif", link);
  for (const fs::path& p : {truncated, text, empty, dir / "missing.tif", link}) {
    CAPTURE(p);
    const std::string e = error_of([&] { read_tiff(p.string()); });
    CHECK(contains(e, p.filename().string()));
  }
}

TEST_CASE("scanner: pairs, numeric order, unpaired warnings, ignored extras, both folder levels") {
  const fs::path top = fresh_dir("scan");
  const fs::path k = top / "kaggle_3m";
  const Image8 img = pattern(16, 16, 3, 2), msk = disc_mask(16, 8, 8, 3);
  fs::create_directories(k / "CASE_A");
  for (int n : {1, 2, 9, 10, 11}) {
    write_tiff((k / "CASE_A" / ("CASE_A_" + std::to_string(n) + ".tif")).string(), img);
    write_tiff((k / "CASE_A" / ("CASE_A_" + std::to_string(n) + "_mask.tif")).string(), msk);
  }
  write_tiff((k / "CASE_A" / "CASE_A_12.tif").string(), img);            // image without mask
  write_tiff((k / "CASE_A" / "CASE_A_13_mask.tif").string(), msk);       // mask without image
  fs::create_directories(k / "CASE_B");
  write_tiff((k / "CASE_B" / "CASE_B_1.tif").string(), img);
  write_tiff((k / "CASE_B" / "CASE_B_1_mask.tif").string(), msk);
  std::ofstream(top / "data.csv") << "Patient,RNASeqCluster\n";
  std::ofstream(k / "README.md") << "readme";
  fs::create_directories(top / "lgg-mri-segmentation" / "kaggle_3m" / "CASE_Z");  // the duplicate copy

  for (const fs::path& root : {top, k}) {
    const ScanResult r = scan_kaggle(root.string());
    CHECK(fs::path(r.root) == k);
    REQUIRE(r.patients.size() == 2);
    CHECK(r.patients[0].id == "CASE_A");
    std::vector<int> numbers;
    for (const auto& s : r.patients[0].slices) numbers.push_back(s.number);
    CHECK(numbers == std::vector<int>{1, 2, 9, 10, 11});
    CHECK(r.slice_count() == 6);
    REQUIRE(r.warnings.size() == 1);
    CHECK(contains(r.warnings[0], "CASE_A_12.tif (image without mask)"));
    CHECK(contains(r.warnings[0], "CASE_A_13_mask.tif (mask without image)"));
  }
  const fs::path empty = fresh_dir("scan_empty");
  CHECK(contains(error_of([&] { scan_kaggle(empty.string()); }), "no case folders"));
  CHECK(contains(error_of([&] { scan_kaggle((empty / "nope").string()); }), "does not exist"));
}

namespace {
// A small dataset on disk: `patients` cases of `slices` slices, 32x32, a disc tumour on half.
fs::path make_small_dataset(const std::string& name, int patients, int slices) {
  const fs::path k = fresh_dir(name) / "kaggle_3m";
  for (int p = 0; p < patients; ++p) {
    const std::string id = "P" + std::to_string(p);
    fs::create_directories(k / id);
    for (int n = 1; n <= slices; ++n) {
      Image8 img{32, 32, 3, std::vector<uint8_t>(32 * 32 * 3)};
      const Image8 m = disc_mask(32, 16 + p, 14, n % 2 ? 6.0f : 0.0f);
      for (int i = 0; i < 32 * 32; ++i)
        for (int c = 0; c < 3; ++c)
          img.pixels[static_cast<size_t>(i * 3 + c)] = static_cast<uint8_t>(60 + 40 * c + (m.pixels[static_cast<size_t>(i)] ? 100 : 0) + (i % 7));
      write_tiff((k / id / (id + "_" + std::to_string(n) + ".tif")).string(), img);
      write_tiff((k / id / (id + "_" + std::to_string(n) + "_mask.tif")).string(), m);
    }
  }
  return k;
}
}  // namespace

TEST_CASE("loading: counts, simple and reference preprocessing") {
  const fs::path k = make_small_dataset("load", 3, 6);
  const ScanResult scan = scan_kaggle(k.string());
  LoadReport rep;
  LoadConfig opt;
  opt.size = 64;
  opt.mode = Preprocess::Simple;
  auto vols = load_dataset(scan, opt, rep);
  CHECK(rep.patients == 3);
  CHECK(rep.slices == 18);
  CHECK(rep.tumour_slices == 9);
  CHECK(rep.skipped_files == 0);
  REQUIRE(vols[0].size == 64);
  CHECK(vols[0].images.size() == 6u * 3 * 64 * 64);
  CHECK(vols[0].mean[0] == 0.0f);  // simple: input is v / 255

  opt.mode = Preprocess::Reference;
  LoadReport rep2;
  vols = load_dataset(scan, opt, rep2);
  // z-scored input: mean 0 and std 1 per channel over the volume
  const Volume& v = vols[1];
  for (int c = 0; c < 3; ++c) {
    double s = 0, s2 = 0;
    const int64_t plane = v.size * v.size;
    for (int64_t d = 0; d < v.depth(); ++d)
      for (int64_t i = 0; i < plane; ++i) {
        const double x = (v.images[static_cast<size_t>((d * 3 + c) * plane + i)] / 255.0 - v.mean[c]) / v.stdev[c];
        s += x, s2 += x * x;
      }
    const double n = static_cast<double>(v.depth() * plane);
    CHECK(std::abs(s / n) < 1e-4);
    CHECK(std::abs(s2 / n - 1.0) < 1e-3);
  }
}

TEST_CASE("loading skips bad files with a count, or stops on --strict") {
  const fs::path k = make_small_dataset("load_bad", 2, 4);
  std::ofstream(k / "P0" / "P0_2.tif") << "corrupt";                       // not a TIFF
  write_tiff((k / "P0" / "P0_3_mask.tif").string(), disc_mask(16, 8, 8, 3));  // size mismatch
  Image8 odd = disc_mask(32, 16, 16, 5);
  odd.pixels[0] = 77;
  write_tiff((k / "P1" / "P1_1_mask.tif").string(), odd);                    // mask value 77
  const ScanResult scan = scan_kaggle(k.string());
  LoadConfig opt;
  opt.size = 32;
  LoadReport rep;
  const auto vols = load_dataset(scan, opt, rep);
  CHECK(rep.skipped_files == 3);
  CHECK(rep.slices == 5);
  std::string all;
  for (const auto& p : rep.problems) all += p + "\n";
  CHECK(contains(all, "P0_2.tif"));
  CHECK(contains(all, "P0_3_mask.tif"));
  CHECK(contains(all, "value 77"));
  opt.strict = true;
  LoadReport rep2;
  CHECK(contains(error_of([&] { load_dataset(scan, opt, rep2); }), ".tif"));
}

TEST_CASE("patient split: 80:20, seeded, identical everywhere, or from a list") {
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back("P" + std::to_string(i));
  const Split a = split_patients(ids, 0.2, 42), b = split_patients({ids.rbegin(), ids.rend()}, 0.2, 42);
  CHECK(a.validation.size() == 2);
  CHECK(a.train.size() == 8);
  CHECK(a.validation == b.validation);  // input order does not matter
  // Pinned expectation: a change here means splits differ from earlier runs and machines.
  CHECK(a.validation == std::vector<std::string>{"P3", "P7"});
  CHECK(split_patients(ids, 0.2, 43).validation != a.validation);
  std::set<std::string> all(a.train.begin(), a.train.end());
  for (const auto& v : a.validation) CHECK(all.insert(v).second);  // disjoint
  const fs::path dir = fresh_dir("split");
  std::ofstream(dir / "val.txt") << "# validation\nP3\n\nP5\n";
  const Split f = split_from_file(ids, (dir / "val.txt").string());
  CHECK(f.validation == std::vector<std::string>{"P3", "P5"});
  std::ofstream(dir / "bad.txt") << "P3\nNOPE\n";
  CHECK(contains(error_of([&] { split_from_file(ids, (dir / "bad.txt").string()); }), "'NOPE'"));
}

namespace {
Volume synthetic_volume(int64_t s, int64_t depth) {
  Volume v;
  v.patient = "V";
  v.size = s;
  for (int64_t d = 0; d < depth; ++d) v.slice_numbers.push_back(static_cast<int>(d + 1));
  v.images.assign(static_cast<size_t>(depth * 3 * s * s), 0);
  v.masks.assign(static_cast<size_t>(depth * s * s), 0);
  for (int64_t d = 0; d < depth; ++d)
    for (int64_t y = 0; y < s; ++y)
      for (int64_t x = 0; x < s; ++x) {
        const bool in = std::hypot(x - s * 0.6, y - s * 0.4) < s * 0.2;
        v.masks[static_cast<size_t>((d * s + y) * s + x)] = in ? 1 : 0;
        for (int c = 0; c < 3; ++c) v.images[static_cast<size_t>(((d * 3 + c) * s + y) * s + x)] = in ? 255 : static_cast<uint8_t>(x % 50);
      }
  return v;
}
}  // namespace

TEST_CASE("augmentation moves image and mask together") {
  const Volume v = synthetic_volume(64, 1);
  std::vector<float> img(3 * 64 * 64), msk(64 * 64);
  render_sample(v, 0, Affine::identity(), img.data(), msk.data());
  for (int64_t i = 0; i < 64 * 64; ++i) CHECK(msk[static_cast<size_t>(i)] == v.masks[static_cast<size_t>(i)]);
  Affine flip;
  flip.flip = true;
  std::vector<float> fimg(3 * 64 * 64), fmsk(64 * 64);
  render_sample(v, 0, flip, fimg.data(), fmsk.data());
  for (int64_t y = 0; y < 64; ++y)
    for (int64_t x = 0; x < 64; ++x) CHECK(fmsk[static_cast<size_t>(y * 64 + x)] == msk[static_cast<size_t>(y * 64 + 63 - x)]);
  Rng rng(5);
  for (int trial = 0; trial < 5; ++trial) {
    const Affine a = Affine::draw(rng, AugmentConfig{});
    CHECK(a.scale >= 0.95f);
    CHECK(a.scale <= 1.05f);
    CHECK(std::abs(a.degrees) <= 15.0f);
    render_sample(v, 0, a, img.data(), msk.data());
    // Where the image is the bright disc the mask must be set, and vice versa (bilinear
    // blurs one pixel at the border, so compare away from it: value > 0.9 or < 0.3 of max).
    int agree = 0, total = 0;
    const float bright = (1.0f - v.mean[0]) / v.stdev[0];
    for (int64_t i = 0; i < 64 * 64; ++i) {
      const float u = img[static_cast<size_t>(i)] / bright;
      if (u > 0.9f || u < 0.3f) {
        ++total;
        agree += (u > 0.9f) == (msk[static_cast<size_t>(i)] > 0.5f);
      }
    }
    CHECK(agree >= total - 2);
  }
}

TEST_CASE("loader: shapes, empty-slice filter, determinism across worker counts") {
  std::vector<Volume> vols{synthetic_volume(32, 5), synthetic_volume(32, 3)};
  for (int64_t d : {1, 3}) std::fill_n(vols[0].masks.begin() + d * 32 * 32, 32 * 32, 0);  // two empty slices
  const auto all = select_slices(vols, {0, 1}, false), kept = select_slices(vols, {0, 1}, true);
  CHECK(all.size() == 8);
  CHECK(kept.size() == 6);
  auto run = [&](int workers, int64_t epoch) {
    LoaderConfig cfg;
    cfg.batch_size = 4;
    cfg.workers = workers;
    cfg.augment = true;
    cfg.shuffle = true;
    cfg.seed = 9;
    Loader loader(vols, kept, cfg);
    loader.start_epoch(epoch);
    std::vector<float> seen;
    Batch b;
    int64_t batches = 0;
    while (loader.next(b)) {
      CHECK(b.index == batches);
      CHECK(b.image_size == 32);
      seen.insert(seen.end(), b.images.data(), b.images.data() + b.size * 3 * 32 * 32);
      seen.insert(seen.end(), b.masks.data(), b.masks.data() + b.size * 32 * 32);
      ++batches;
    }
    CHECK(batches == 2);
    return seen;
  };
  const auto one = run(1, 0), three = run(3, 0), other_epoch = run(2, 1);
  CHECK(one.size() == 6u * 4 * 32 * 32);
  CHECK(one == three);
  CHECK(one != other_epoch);
}

TEST_CASE("synthetic generator: layout, determinism, about a third positive") {
  const fs::path a = fresh_dir("synth_a"), b = fresh_dir("synth_b"), c = fresh_dir("synth_c");
  SynthConfig cfg;
  cfg.patients = 6;
  cfg.seed = 3;
  cfg.out = a.string();
  const SynthReport r = generate_synthetic(cfg);
  cfg.out = b.string();
  generate_synthetic(cfg);
  cfg.out = c.string();
  cfg.seed = 4;
  generate_synthetic(cfg);
  CHECK(r.patients == 6);
  const double positive = static_cast<double>(r.positive_slices) / static_cast<double>(r.slices);
  CHECK(positive > 0.2);
  CHECK(positive < 0.5);
  const ScanResult scan = scan_kaggle(a.string());
  CHECK(scan.patients.size() == 6);
  CHECK(scan.slice_count() == r.slices);
  CHECK(scan.warnings.empty());
  const auto& s0 = scan.patients[0].slices[0];
  const Image im = read_tiff(s0.image), mk = read_tiff(s0.mask);
  CHECK(im.channels == 3);
  CHECK(im.height == 256);
  CHECK(mk.channels == 1);
  const std::string rel = fs::relative(s0.image, a).string();
  CHECK(read_bytes(a / rel) == read_bytes(b / rel));  // same seed, same bytes
  CHECK(scan_kaggle(c.string()).patients[0].id != scan.patients[0].id);
}

TEST_CASE("loader: the ranks' shares of a global batch are, together, the batch of one process") {
  std::vector<Volume> vols{synthetic_volume(32, 6), synthetic_volume(32, 5)};
  const auto items = select_slices(vols, {0, 1}, false);  // 11 samples: batches of 4, 4 and 3
  // Images and masks of every batch of epoch 2, for `rank` of `ranks`.
  auto batches = [&](int rank, int ranks) {
    LoaderConfig cfg;
    cfg.batch_size = 4;
    cfg.augment = true;
    cfg.shuffle = true;
    cfg.seed = 5;
    cfg.rank = rank;
    cfg.ranks = ranks;
    Loader loader(vols, items, cfg);
    loader.start_epoch(2);
    std::vector<std::vector<float>> out;
    Batch b;
    while (loader.next(b)) {
      CHECK(b.global_size == (b.index < 2 ? 4 : 3));
      std::vector<float> v(b.images.data(), b.images.data() + b.size * 3 * 32 * 32);
      v.insert(v.end(), b.masks.data(), b.masks.data() + b.size * 32 * 32);
      out.push_back(v);
    }
    return out;
  };
  const auto one = batches(0, 1), r0 = batches(0, 2), r1 = batches(1, 2);
  REQUIRE(one.size() == 3);
  REQUIRE(r0.size() == 3);
  REQUIRE(r1.size() == 3);
  for (size_t b = 0; b < 3; ++b) {
    // Rank 0 holds the first half of the batch (samples [0, n/2)), rank 1 the rest; images then masks.
    const size_t n = b < 2 ? 4 : 3, n0 = n / 2, plane = 32 * 32;
    std::vector<float> joined(r0[b].begin(), r0[b].begin() + static_cast<long>(n0 * 3 * plane));
    joined.insert(joined.end(), r1[b].begin(), r1[b].begin() + static_cast<long>((n - n0) * 3 * plane));
    joined.insert(joined.end(), r0[b].begin() + static_cast<long>(n0 * 3 * plane), r0[b].end());
    joined.insert(joined.end(), r1[b].begin() + static_cast<long>((n - n0) * 3 * plane), r1[b].end());
    CHECK(joined == one[b]);
  }
  // A last batch smaller than the rank count is dropped: 11 samples on 4 ranks give 2 batches of 4.
  LoaderConfig four;
  four.batch_size = 4;
  four.ranks = 4;
  CHECK(Loader(vols, items, four).batches_per_epoch() == 2);
  four.batch_size = 6;  // 6 does not divide among 4 ranks
  CHECK_THROWS_WITH_AS(Loader(vols, items, four), doctest::Contains("--batch"), unet::Error);
}
