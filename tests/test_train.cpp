// Training runs end to end on a tiny synthetic dataset (CPU): determinism, exact resume
// after a stop, and the failure modes of the run folder and the loss.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "data/synth.hpp"
#include "base/error.hpp"
#include "engine/safetensors.hpp"
#include "train/trainer.hpp"

using namespace unet;
namespace fs = std::filesystem;

namespace {

const std::string& tiny_dataset() {
  static const std::string dir = [] {
    const fs::path d = fs::temp_directory_path() / "unet_test_train" / "data";
    fs::remove_all(d);
    data::SynthConfig c;
    c.out = d.string();
    c.patients = 5;
    c.seed = 11;
    c.min_slices = 8;
    c.max_slices = 12;
    data::generate_synthetic(c);
    return d.string();
  }();
  return dir;
}

TrainConfig tiny_config(const std::string& run) {
  TrainConfig c;
  c.data = tiny_dataset();
  c.out = (fs::temp_directory_path() / "unet_test_train" / run).string();
  fs::remove_all(c.out);
  c.epochs = 2;
  c.batch = 4;
  c.size = 32;
  c.base = 4;
  c.device = "cpu";
  c.loss = "bce+dice";
  c.max_steps_per_epoch = 3;
  c.seed = 5;
  return c;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> weights(Trainer& t) { return t.model().parameters().flat().to_vector(); }

}  // namespace

TEST_CASE("same seed, device and data: identical metrics.csv and weights") {
  Trainer a(tiny_config("det_a")), b(tiny_config("det_b"));
  CHECK(a.run());
  CHECK(b.run());
  const std::string ma = read(fs::path(a.config().out) / "metrics.csv");
  CHECK(ma.find("epoch,train_loss") == 0);
  CHECK(std::count(ma.begin(), ma.end(), '\n') == 3);
  CHECK(ma == read(fs::path(b.config().out) / "metrics.csv"));
  CHECK(weights(a) == weights(b));
  for (const char* f : {"best.safetensors", "last.safetensors", "config.json", "validation_patients.txt"})
    CHECK(fs::exists(fs::path(a.config().out) / f));
}

TEST_CASE("a run stopped mid-epoch and resumed ends exactly like an uninterrupted one") {
  Trainer whole(tiny_config("whole"));
  CHECK(whole.run());

  TrainConfig c = tiny_config("resumed");
  {
    Trainer first(c);
    first.on_step = [&](const StepInfo& s) {
      if (s.epoch == 1 && s.step == 2) first.request_stop();  // as Ctrl-C does
    };
    CHECK_FALSE(first.run());
    CHECK(first.state().epoch == 0);
    CHECK(first.state().next_batch == 2);
  }
  TrainConfig again;
  again.out = c.out;
  again.device = "cpu";
  again.epochs = 0;  // keep the run's own
  Trainer second(again, /*resume=*/true);
  CHECK(second.state().next_batch == 2);
  CHECK(second.run());
  CHECK(weights(second) == weights(whole));
  CHECK(read(fs::path(c.out) / "metrics.csv") == read(fs::path(whole.config().out) / "metrics.csv"));
}

TEST_CASE("an output folder that cannot be written fails before training") {
  const fs::path file = fs::temp_directory_path() / "unet_test_train" / "a_file";
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "x";
  TrainConfig c = tiny_config("unused");
  c.out = (file / "run").string();
  try {
    Trainer t(c);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("cannot create the output folder") != std::string::npos);
  }
}

TEST_CASE("a failed checkpoint write stops with an error and keeps the previous checkpoint") {
  TrainConfig c = tiny_config("failwrite");
  c.epochs = 1;
  {
    Trainer t(c);
    CHECK(t.run());
  }
  const fs::path last = fs::path(c.out) / "last.safetensors";
  const std::string before = read(last);
  fs::create_directories(fs::path(c.out) / "last.safetensors.tmp");  // the write cannot create its temp file
  TrainConfig again;
  again.out = c.out;
  again.device = "cpu";
  again.epochs = 2;
  Trainer t(again, true);
  try {
    t.run();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("last.safetensors") != std::string::npos);
  }
  CHECK(read(last) == before);  // untouched and still loadable
  const auto f = read_safetensors(last.string());
  CHECK(TrainState::from_json(f.metadata.at("train_state"), "x").epoch == 1);
  fs::remove_all(fs::path(c.out) / "last.safetensors.tmp");
}

TEST_CASE("a NaN or Inf loss stops the run naming epoch and step") {
  TrainConfig c = tiny_config("nan");
  c.lr = 1e30;  // diverges within a few steps
  c.epochs = 3;
  c.max_steps_per_epoch = 0;
  Trainer t(c);
  try {
    t.run();
    FAIL("no error");
  } catch (const Error& e) {
    const std::string w = e.what();
    CHECK(w.find("at epoch") != std::string::npos);
    CHECK(w.find("step") != std::string::npos);
  }
}

TEST_CASE("bad configuration values are named") {
  TrainConfig c = tiny_config("badcfg");
  c.size = 40;
  try {
    Trainer t(c);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("--size") != std::string::npos);
  }
}

TEST_CASE("an epoch is marked best exactly when best.safetensors is written, ties included") {
  TrainConfig c = tiny_config("best_flag");
  c.epochs = 3;
  c.val_fraction = 0.0;  // no validation patients: DSC 0 every epoch, so epochs 2 and 3 tie with 1
  Trainer t(c);
  std::vector<int64_t> written;  // the epoch stored in best.safetensors after each epoch
  t.on_epoch = [&](const EpochMetrics& m, const EvalResult&) {
    const SafetensorsFile best = read_safetensors((fs::path(c.out) / "best.safetensors").string());
    const int64_t saved_at = TrainState::from_json(best.metadata.at("train_state"), "best").best_epoch;
    CAPTURE(m.epoch);
    CHECK(m.best == (saved_at == m.epoch));
    written.push_back(saved_at);
  };
  CHECK(t.run());
  CHECK(written == std::vector<int64_t>{1, 1, 1});
  REQUIRE(t.state().history.size() == 3);
  CHECK(t.state().history[0].best);
  CHECK_FALSE(t.state().history[1].best);
  CHECK_FALSE(t.state().history[2].best);
}
