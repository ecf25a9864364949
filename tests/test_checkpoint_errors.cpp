// Hostile or broken checkpoints: every defect ends in an unet::Error that names the file and
// what is wrong, before anything large is allocated. Files are built byte by byte here, so
// each case holds exactly one defect.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/check_error.hpp"
#include "data/synth.hpp"
#include "base/error.hpp"
#include "engine/safetensors.hpp"
#include "unet/state_dict.hpp"
#include "train/trainer.hpp"

using namespace unet;
namespace fs = std::filesystem;

namespace {

// One folder per process (other test runs may share /tmp), removed at exit.
fs::path temp_dir() {
  struct Folder {
    fs::path path = fs::temp_directory_path() / ("unet_test_ckpt_errors_" + std::to_string(::getpid()));
    Folder() {
      fs::remove_all(path);
      fs::create_directories(path);
    }
    ~Folder() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static const Folder folder;
  return folder.path;
}

std::string temp_path(const std::string& name) {
  return (temp_dir() / name).string();
}

using unet::test::check_error;

// The 8-byte little-endian length, the header text as given (it may hold what a JSON
// writer never would, e.g. a duplicate key), then the data.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  return out + header + data;
}

std::string write_bytes(const std::string& name, const std::string& bytes) {
  const std::string p = temp_path(name);
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p;
}

// One tensor entry of a header.
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

std::string write_header(const std::string& name, const std::string& header, size_t data_bytes = 16) {
  return write_bytes(name, safetensors_bytes(header, std::string(data_bytes, '\x01')));
}

UNetConfig small() {
  UNetConfig c;
  c.base = 4;
  return c;
}

}  // namespace

TEST_CASE("a folder, a device and a path that cannot be opened are refused, naming the path") {
  const std::string folder = temp_path("a_folder.safetensors");
  fs::create_directories(folder);
  check_error([&] { read_safetensors(folder); }, {folder, "is a folder, not a checkpoint file"});
  check_error([&] { read_safetensors("/dev/null"); }, {"/dev/null", "not a regular file"});
  // chmod 000 does not stop root, so the unreadable case is a path below a regular file.
  const std::string file = write_bytes("plain_file", "x");
  check_error([&] { read_safetensors(file + "/child.safetensors"); }, {file + "/child.safetensors", "cannot open"});
  if (::geteuid() != 0) {
    const std::string locked = write_bytes("locked.safetensors", safetensors_bytes("{}", ""));
    fs::permissions(locked, fs::perms::none);
    check_error([&] { read_safetensors(locked); }, {locked, "cannot open for reading"});
    fs::permissions(locked, fs::perms::owner_all);
  }
}

TEST_CASE("tensors whose bytes overlap are refused; holes between tensors are accepted") {
  const std::string same = write_header(
      "alias.safetensors", "{" + entry("a", "F32", "[4]", "[0,16]") + "," + entry("b", "F32", "[4]", "[0,16]") + "}");
  check_error([&] { read_safetensors(same); }, {"alias.safetensors", "'a'", "'b'", "overlap"});
  const std::string partial = write_header(
      "partial.safetensors", "{" + entry("a", "F32", "[3]", "[0,12]") + "," + entry("b", "F32", "[2]", "[8,16]") + "}");
  check_error([&] { read_safetensors(partial); }, {"partial.safetensors", "overlap"});
  // Many entries aliasing the whole data: a small file must not ask for N times its size.
  std::string many = "{";
  for (int i = 0; i < 3000; ++i) many += (i ? "," : "") + entry("t" + std::to_string(i), "U8", "[4096]", "[0,4096]");
  const std::string aliasing = write_header("many_aliases.safetensors", many + "}", 4096);
  check_error([&] { read_safetensors(aliasing); }, {"many_aliases.safetensors", "overlap"});

  // Decided: holes are read past (see read_safetensors), and empty tensors overlap nothing.
  const std::string holes = write_header("holes.safetensors", "{" + entry("a", "F32", "[1]", "[4,8]") + "," +
                                                                  entry("e", "F32", "[0]", "[6,6]") + "," +
                                                                  entry("b", "U8", "[2]", "[12,14]") + "}");
  const SafetensorsFile f = read_safetensors(holes);
  CHECK(f.tensors.at("a").bytes.size() == 4);
  CHECK(f.tensors.at("e").bytes.empty());
  CHECK(f.tensors.at("b").bytes == std::vector<unsigned char>{1, 1});
}

TEST_CASE("shapes and offsets: 64-bit overflow, negative or fractional entries, malformed data_offsets") {
  struct Case {
    std::string shape, offsets, expected;
  };
  const std::vector<Case> cases = {
      // 2^32 * 2^32 elements wrap to 0 in 64 bits, which matched the empty range before.
      {"[4294967296,4294967296]", "[0,0]", "more bytes than 64 bits can count"},
      {"[2305843009213693952,8]", "[0,0]", "more bytes than 64 bits can count"},
      {"[-4]", "[0,16]", "dimensions are whole numbers >= 0"},
      {"[2.5]", "[0,8]", "dimensions are whole numbers >= 0"},
      {"[\"4\"]", "[0,16]", "dimensions are whole numbers >= 0"},
      {"4", "[0,16]", "shape is 4, not a list"},
      {"[4]", "[0.0,16.5]", "it must be two whole numbers [begin, end]"},
      {"[4]", "[0]", "it must be two whole numbers [begin, end]"},
      {"[4]", "[0,16,32]", "it must be two whole numbers [begin, end]"},
      {"[4]", "[-16,0]", "it must be two whole numbers [begin, end]"},
      {"[4]", "[16,0]", "the end is before the begin"},
      {"[4]", "[0,32]", "data ends at byte 32"},
      {"[3]", "[0,16]", "needs 12 bytes, but data_offsets give 16"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.shape);
    CAPTURE(c.offsets);
    const std::string p = write_header("shape.safetensors", "{" + entry("w", "F32", c.shape, c.offsets) + "}");
    check_error([&] { read_safetensors(p); }, {"shape.safetensors", "tensor 'w'", c.expected});
  }
  const std::string no_dtype = write_header("no_dtype.safetensors", R"({"w":{"shape":[4],"data_offsets":[0,16]}})");
  check_error([&] { read_safetensors(no_dtype); }, {"no_dtype.safetensors", "tensor 'w'", "has no 'dtype'"});
  const std::string odd_dtype = write_header("odd_dtype.safetensors", "{" + entry("w", "F31", "[4]", "[0,16]") + "}");
  check_error([&] { read_safetensors(odd_dtype); }, {"odd_dtype.safetensors", "unknown dtype 'F31'"});
  const std::string not_object = write_header("not_object.safetensors", R"({"w":[1,2]})");
  check_error([&] { read_safetensors(not_object); }, {"not_object.safetensors", "tensor 'w'", "not an object"});
}

TEST_CASE("a header longer than the cap is refused before it is parsed") {
  // A valid JSON header padded with spaces to one byte over the cap.
  const std::string header = "{}" + std::string(kSafetensorsMaxHeaderBytes - 1, ' ');
  const std::string big = write_bytes("big_header.safetensors", safetensors_bytes(header, ""));
  check_error([&] { read_safetensors(big); }, {"big_header.safetensors", "header length 16777217", "over the limit"});
  fs::remove(big);
  // A length field far beyond the file (the first 8 bytes of a file that is not a checkpoint).
  const std::string huge = write_bytes("huge_length.safetensors", std::string(8, '\x7f') + "{}");
  check_error([&] { read_safetensors(huge); }, {"huge_length.safetensors", "exceeds the file size"});
}

TEST_CASE("duplicate names or keys, unknown entry fields and non-string metadata are refused") {
  const std::string dup = write_header(
      "dup.safetensors", "{" + entry("w", "F32", "[2]", "[0,8]") + "," + entry("w", "F32", "[2]", "[8,16]") + "}");
  check_error([&] { read_safetensors(dup); }, {"dup.safetensors", "lists 'w' twice"});
  const std::string dup_key =
      write_header("dup_key.safetensors", R"({"w":{"dtype":"F32","shape":[2],"shape":[4],"data_offsets":[0,16]}})");
  check_error([&] { read_safetensors(dup_key); }, {"dup_key.safetensors", "the key 'shape' appears twice"});
  const std::string extra =
      write_header("extra_field.safetensors", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"x":1}})");
  check_error([&] { read_safetensors(extra); }, {"extra_field.safetensors", "tensor 'w': unknown field 'x'"});
  const std::string number = write_header("meta_number.safetensors", R"({"__metadata__":{"adam_steps":12}})");
  check_error([&] { read_safetensors(number); }, {"meta_number.safetensors", "'adam_steps'", "not a string"});
  const std::string list = write_header("meta_list.safetensors", R"({"__metadata__":["a"]})");
  check_error([&] { read_safetensors(list); }, {"meta_list.safetensors", "__metadata__", "not an object"});
}

TEST_CASE("bytes that do not hold the shape never reach memcpy") {
  const RawTensor odd{"F32", {4}, std::vector<unsigned char>(15)};
  check_error([&] { odd.as_f32("odd.safetensors: tensor 'w'"); },
              {"odd.safetensors", "15 bytes do not hold shape [4]"});
  const RawTensor short_i64{"I64", {2}, std::vector<unsigned char>(8)};
  check_error([&] { short_i64.as_i64("i.safetensors: tensor 'n'"); },
              {"i.safetensors", "8 bytes do not hold shape [2]"});
  CHECK(RawTensor::f32({2}, {1.0f, 2.0f}).as_f32("ok") == std::vector<float>{1.0f, 2.0f});

  // A file assembled in memory (not through the reader) with too few bytes for its shape:
  // refused naming the file and the tensor, and the model is left as it was.
  UNet model(small(), Device::CPU, 1);
  SafetensorsFile file = model_state(UNet(small(), Device::CPU, 2));
  file.tensors.at("conv.weight").bytes.resize(12);  // shape [1, 4, 1, 1] needs 16
  const auto before = model.parameters().flat().to_vector();
  check_error([&] { load_model_state(model, file, "memory.safetensors"); },
              {"memory.safetensors", "tensor 'conv.weight' has 12 bytes"});
  CHECK(model.parameters().flat().to_vector() == before);
  file = model_state(UNet(small(), Device::CPU, 2));
  file.tensors.at("encoder1.enc1norm1.num_batches_tracked").shape = {1, 1, 2};
  check_error([&] { load_model_state(model, file, "memory.safetensors"); },
              {"memory.safetensors", "must be a scalar I64"});
}

TEST_CASE("a model config out of range is refused before allocation, with the allowed range") {
  // The small config's JSON with some fields replaced by JSON texts.
  const auto config = [](std::initializer_list<std::pair<const char*, const char*>> fields) {
    nlohmann::json j = nlohmann::json::parse(config_to_json(small()));
    for (const auto& [k, v] : fields) j[k] = nlohmann::json::parse(v);
    return j.dump();
  };
  struct Case {
    std::string json, expected;
  };
  const std::vector<Case> cases = {
      {config({{"depth", "40"}}), "depth 40 is out of range; this U-Net supports depth 1 to 10"},
      {config({{"depth", "0"}}), "depth 0 is out of range; this U-Net supports depth 1 to 10"},
      {config({{"base", "1000000"}}), "base 1000000 is out of range; this U-Net supports base 1 to 1024"},
      {config({{"in_channels", "0"}}), "in_channels 0 is out of range; this U-Net supports in_channels 1 to 1024"},
      {config({{"in_channels", "1000000000"}}), "in_channels 1000000000 is out of range"},
      {config({{"out_channels", "0"}}), "out_channels 0 is out of range; this U-Net supports out_channels 1 to 1024"},
      {config({{"out_channels", "18446744073709551615"}}), "config.out_channels is 18446744073709551615, out of range"},
      {config({{"depth", "4.5"}}), "config.depth is 4.5, not a whole number"},
      {config({{"depth", "\"4\""}}), "config.depth is \"4\", not a whole number"},
      {config({{"layout", "\"spiral\""}}), "config.layout 'spiral' is not a U-Net layout"},
      {config({{"layout", "7"}}), "config.layout is 7, not a string"},
      // Each field in range, together about 10^13 parameters.
      {config({{"base", "1024"}, {"depth", "10"}}), "parameters; this U-Net supports at most 1073741824"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    check_error([&] { config_from_json(c.json, "cfg.safetensors"); }, {"cfg.safetensors", c.expected});
  }
  check_error(
      [&] {
        config_from_json(R"({"in_channels":3,"out_channels":1,"base":4,"layout":"reference"})", "cfg.safetensors");
      },
      {"cfg.safetensors", "config.depth is missing"});
  check_error([&] { config_from_json("[3, 1, 4, 4]", "cfg.safetensors"); }, {"cfg.safetensors", "not a JSON object"});
  // The model refuses the same configs when built directly.
  UNetConfig wide = small();
  wide.in_channels = 1025;
  check_error([&] { UNet m(wide); }, {"in_channels 1025 is out of range"});
}

TEST_CASE("the parameter count of a config is the built model's") {
  for (const UNetConfig& c : {UNetConfig::for_base(32), UNetConfig::for_base(64), small()}) {
    CAPTURE(c.base);
    CHECK(c.parameter_count() == UNet(c).parameter_count());
  }
  UNetConfig odd = small();
  odd.depth = 2;
  odd.in_channels = 5;
  odd.out_channels = 3;
  odd.layout = UNetLayout::Classic;
  CHECK(odd.parameter_count() == UNet(odd).parameter_count());
  CHECK(UNetConfig::for_base(32).parameter_count() == 7763041);   // the reference program's model
  CHECK(UNetConfig::for_base(64).parameter_count() == 31043521);  // the notebook's model
}

TEST_CASE("train_config and train_state: wrong types, missing keys, values out of range") {
  TrainConfig good;
  good.data = "data";
  good.out = "run";
  const auto train_config = [&](const std::string& field, const std::string& value) {
    nlohmann::json j = nlohmann::json::parse(good.to_json());
    j[field] = nlohmann::json::parse(value);
    return j.dump();
  };
  CHECK(TrainConfig::from_json(good.to_json(), "x").base == good.base);
  check_error([&] { TrainConfig::from_json(train_config("epochs", "\"ten\""), "last.safetensors"); },
              {"last.safetensors", "train_config.epochs is \"ten\", not a whole number"});
  check_error([&] { TrainConfig::from_json(train_config("size", "2.5"), "last.safetensors"); },
              {"last.safetensors", "train_config.size is 2.5"});
  check_error([&] { TrainConfig::from_json(train_config("workers", "4294967296"), "last.safetensors"); },
              {"last.safetensors", "train_config.workers is 4294967296, out of range"});
  check_error([&] { TrainConfig::from_json(train_config("augment", "\"yes\""), "last.safetensors"); },
              {"last.safetensors", "train_config.augment", "not true or false"});
  check_error([&] { TrainConfig::from_json(train_config("epochs", "0"), "last.safetensors"); },
              {"last.safetensors", "train_config: --epochs: must be at least 1"});
  check_error([&] { TrainConfig::from_json(train_config("size", "1048576"), "last.safetensors"); },
              {"last.safetensors", "--size", "at most 16384"});
  check_error([&] { TrainConfig::from_json(train_config("base", "1000000"), "last.safetensors"); },
              {"last.safetensors", "base 1000000 is out of range"});
  check_error([&] { TrainConfig::from_json(train_config("loss", "\"hinge\""), "last.safetensors"); },
              {"last.safetensors", "train_config", "hinge"});
  check_error([&] { TrainConfig::from_json("[1, 2]", "last.safetensors"); }, {"last.safetensors", "not a JSON object"});

  TrainState st;
  st.history.push_back(EpochMetrics{1, 0.5, 0.4, 0.6, 0.3, 0.2, 1e-3, 2.0});
  const auto train_state = [&](const std::string& field, const std::string& value) {
    nlohmann::json j = nlohmann::json::parse(st.to_json());
    if (value.empty())
      j.erase(field);
    else
      j[field] = nlohmann::json::parse(value);
    return j.dump();
  };
  CHECK(TrainState::from_json(st.to_json(), "x").history.size() == 1);
  check_error([&] { TrainState::from_json(train_state("epoch", ""), "last.safetensors"); },
              {"last.safetensors", "train_state.epoch is missing"});
  check_error([&] { TrainState::from_json(train_state("epoch", "\"one\""), "last.safetensors"); },
              {"last.safetensors", "train_state.epoch is \"one\", not a whole number"});
  check_error([&] { TrainState::from_json(train_state("next_batch", "-3"), "last.safetensors"); },
              {"last.safetensors", "train_state.next_batch is -3, must be >= 0"});
  check_error([&] { TrainState::from_json(train_state("best_dsc", "null"), "last.safetensors"); },
              {"last.safetensors", "train_state.best_dsc is null, not a number"});
  check_error([&] { TrainState::from_json(train_state("history", "{}"), "last.safetensors"); },
              {"last.safetensors", "train_state.history is not a list"});
  // Before: h[3..7] of a 3-element list read past the end of the array.
  check_error([&] { TrainState::from_json(train_state("history", "[[1, 0.5, 0.4]]"), "last.safetensors"); },
              {"last.safetensors", "train_state.history[0] is not a list of 8 numbers"});
  check_error([&] { TrainState::from_json(train_state("history", "[[1,\"x\",0,0,0,0,0,0]]"), "last.safetensors"); },
              {"last.safetensors", "train_state.history[0][1] is \"x\", not a number"});
}

TEST_CASE("resume: missing or malformed adam_steps and optimizer moments name the file") {
  TrainConfig c;
  c.data = (temp_dir() / "data").string();
  data::SynthConfig sc;
  sc.out = c.data;
  sc.patients = 4;
  sc.seed = 3;
  sc.min_slices = 6;
  sc.max_slices = 8;
  data::generate_synthetic(sc);
  c.out = (temp_dir() / "run").string();
  c.epochs = 1;
  c.batch = 2;
  c.size = 32;
  c.base = 4;
  c.device = "cpu";
  c.max_steps_per_epoch = 1;
  { Trainer(c).run(); }
  const std::string last = (fs::path(c.out) / "last.safetensors").string();
  const SafetensorsFile good = read_safetensors(last);
  TrainConfig again;
  again.out = c.out;
  again.device = "cpu";
  again.epochs = 0;  // keep the run's own
  const auto resume_with = [&](auto&& mutate) {
    SafetensorsFile f = good;
    mutate(f);
    write_safetensors(last, f);
    Trainer t(again, /*resume=*/true);
  };
  check_error([&] { resume_with([](SafetensorsFile& f) { f.metadata.erase("adam_steps"); }); },
              {last, "the metadata has no 'adam_steps'"});
  check_error([&] { resume_with([](SafetensorsFile& f) { f.metadata["adam_steps"] = "abc"; }); },
              {last, "'adam_steps' is 'abc', not a whole number"});
  check_error([&] { resume_with([](SafetensorsFile& f) { f.metadata["adam_steps"] = "12abc"; }); },
              {last, "'adam_steps' is '12abc', not a whole number"});
  check_error([&] { resume_with([](SafetensorsFile& f) { f.metadata["adam_steps"] = "-1"; }); },
              {last, "'adam_steps' is '-1', not a whole number"});
  check_error(
      [&] {
        resume_with([](SafetensorsFile& f) {
          RawTensor& m = f.tensors.at("optimizer.exp_avg");
          m.dtype = "I32";  // same size, wrong type
        });
      },
      {last, "tensor 'optimizer.exp_avg'", "dtype is I32, expected F32"});
  // The first missing field in alphabetical order is named.
  check_error([&] { resume_with([](SafetensorsFile& f) { f.metadata["train_state"] = "{\"epoch\": 1}"; }); },
              {last, "train_state.best_dsc is missing"});
  resume_with([](SafetensorsFile&) {});  // the untouched checkpoint still resumes
}
