#include "tools/bench_scaling.hpp"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/file_io.hpp"
#include "base/i18n.hpp"
#include "dist/communicator.hpp"
#include "tools/bench_measure.hpp"
#include "unet/train_step.hpp"

namespace unet::tools {

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

struct ScalingRow {
  int processes = 0;
  double step_s = 0, allreduce_s = 0;
};

// Training steps of `comm`'s processes, each on its own batch; then the gradient sum alone, timed
// the same way, for its share of the step. Every process of `comm` returns the same row.
ScalingRow measure(dist::Communicator& comm, const ScalingOptions& o) {
  const Device d = o.device;
  UNet model(UNetConfig::for_base(o.base), d, 0);
  Adam adam(model.parameters(), AdamConfig{});
  const int64_t n = o.batch, s = o.size;
  const Tensor x = random_input({n, 3, s, s}, 1 + static_cast<uint64_t>(comm.rank()), d);
  std::vector<float> tv(static_cast<size_t>(n * s * s));
  for (size_t i = 0; i < tv.size(); ++i) tv[i] = (i / 97) % 3 == 0 ? 1.0f : 0.0f;
  const Tensor t = Tensor::from_vector({n, 1, s, s}, tv, d);
  const DataParallel dp{&comm, 1.0 / comm.size(), false};
  auto step = [&] { train_step(model, adam, x, t, LossConfig{}, nullptr, &dp); };
  for (int i = 0; i < o.warmup; ++i) step();
  synchronize(d);
  comm.barrier();
  std::vector<double> steps;
  for (int i = 0; i < o.steps; ++i) {
    const auto t0 = clock_type::now();
    step();
    synchronize(d);
    steps.push_back(seconds_since(t0));
  }
  std::vector<double> sums;
  FlatTensorSet& params = model.parameters();
  for (int i = 0; i < o.steps; ++i) {
    comm.barrier();
    const auto t0 = clock_type::now();
    comm.allreduce_sum(params.flat_grad().data(), params.numel(), d);
    synchronize(d);
    sums.push_back(seconds_since(t0));
  }
  // The slowest process sets the pace: the medians' maxima over the processes.
  double row[2] = {median_seconds(steps), median_seconds(sums)};
  std::vector<double> all(2 * static_cast<size_t>(comm.size()), 0.0);
  all[2 * static_cast<size_t>(comm.rank())] = row[0];
  all[2 * static_cast<size_t>(comm.rank()) + 1] = row[1];
  comm.allreduce_sum_host(all.data(), static_cast<int64_t>(all.size()));
  ScalingRow r{comm.size(), 0, 0};
  for (int k = 0; k < comm.size(); ++k) {
    r.step_s = std::max(r.step_s, all[2 * static_cast<size_t>(k)]);
    r.allreduce_s = std::max(r.allreduce_s, all[2 * static_cast<size_t>(k) + 1]);
  }
  return r;
}

}  // namespace

int run_bench_scaling(const ScalingOptions& o) {
  dist::Communicator& world = dist::world();
  if (o.device == Device::CUDA) dist::use_nccl_for_device_data();
  const bool root = world.is_root();
  if (root)
    std::printf(tr("data-parallel scaling: U-Net base %lld, %lldx%lld, batch %lld per process, on %s, collectives over "
                   "%s\n(each process %s; %d warm-up and %d timed steps, medians; the slowest process sets each row)\n")
                    .c_str(),
                static_cast<long long>(o.base), static_cast<long long>(o.size), static_cast<long long>(o.size),
                static_cast<long long>(o.batch), device_name(o.device), world.backend().c_str(),
                (o.device == Device::CPU ? tr("on the cores mpirun bound it to") : tr("on its own GPU")).c_str(),
                o.warmup, o.steps);
  std::vector<ScalingRow> rows;
  for (int k = 1; k <= world.size(); ++k) {
    std::unique_ptr<dist::Communicator> sub = world.first(k);
    ScalingRow r;
    if (sub) r = measure(*sub, o);
    world.broadcast_host(&r, sizeof r, 0);  // rank 0 is in every group
    rows.push_back(r);
  }
  if (!root) return 0;
  // Headings padded by terminal columns: a translated heading may hold double-width characters.
  std::printf("%s %s %s %s %s %s %s\n", pad_columns(tr("processes"), 10, true).c_str(),
              pad_columns(tr("global batch"), 13, true).c_str(), pad_columns(tr("samples/s"), 11, true).c_str(),
              pad_columns(tr("speed-up"), 9, true).c_str(), pad_columns(tr("efficiency"), 11, true).c_str(),
              pad_columns(tr("allreduce ms"), 13, true).c_str(), pad_columns(tr("share of step"), 14, true).c_str());
  nlohmann::json j = nlohmann::json::array();
  const double base_rate = static_cast<double>(o.batch) / rows[0].step_s;
  for (const ScalingRow& r : rows) {
    const double rate = static_cast<double>(o.batch * r.processes) / r.step_s;
    const double share = r.processes > 1 ? r.allreduce_s / r.step_s : 0.0;
    std::printf("%10d %13lld %11.2f %9.2f %10.0f%% %13.1f %13.1f%%\n", r.processes,
                static_cast<long long>(o.batch * r.processes), rate, rate / base_rate,
                100.0 * rate / base_rate / r.processes, r.processes > 1 ? 1e3 * r.allreduce_s : 0.0, 100.0 * share);
    j.push_back({{"processes", r.processes},
                 {"global_batch", o.batch * r.processes},
                 {"samples_per_s", rate},
                 {"step_ms", 1e3 * r.step_s},
                 {"allreduce_ms", r.processes > 1 ? 1e3 * r.allreduce_s : 0.0},
                 {"allreduce_share", share}});
  }
  if (!o.json_path.empty()) write_file_atomic(o.json_path, nlohmann::json{{"scaling", j}}.dump(2) + "\n");
  return 0;
}

}  // namespace unet::tools
