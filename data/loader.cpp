#include "data/loader.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "dist/rank_share.hpp"

namespace unet::data {

std::vector<SliceRef> select_slices(const std::vector<Volume>& volumes, const std::vector<size_t>& volume_indices,
                                    bool drop_empty) {
  std::vector<SliceRef> out;
  for (size_t v : volume_indices)
    for (int64_t d = 0; d < volumes[v].depth(); ++d)
      if (!drop_empty || volumes[v].mask_area(d) > 0) out.push_back({static_cast<int32_t>(v), static_cast<int32_t>(d)});
  return out;
}

namespace {
// Distinct Philox streams per purpose: seeds are mixed so that (seed, epoch) pairs never
// collide for any realistic number of epochs.
uint64_t stream(uint64_t seed, int64_t epoch, uint64_t purpose) {
  return seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) * 0xBF58476D1CE4E5B9ull + purpose;
}
constexpr uint64_t kDrawsPerSample = uint64_t{1} << 16;
}  // namespace

Loader::Loader(const std::vector<Volume>& volumes, std::vector<SliceRef> items, LoaderConfig config)
    : volumes_(volumes), items_(std::move(items)), config_(config) {
  UNET_CHECK(config_.batch_size >= 1, "--batch", tr("batch size must be at least 1"));
  UNET_CHECK(config_.ranks >= 1 && config_.rank >= 0 && config_.rank < config_.ranks, "loader",
             trf("rank {} of {}", config_.rank, config_.ranks));
  UNET_CHECK(config_.batch_size % config_.ranks == 0, "--batch",
             trf("the global batch of {} does not divide among {} ranks; --batch is the global batch, so give a "
                 "multiple of {}",
                 config_.batch_size, config_.ranks, config_.ranks));
  UNET_CHECK(!items_.empty(), "loader", tr("no slices to load (after filtering)"));
  config_.workers = std::max(1, config_.workers);
  config_.prefetch = std::max(1, config_.prefetch);
}

Loader::~Loader() { stop(); }

int64_t Loader::batches_per_epoch() const {
  const int64_t n = samples_per_epoch(), b = config_.batch_size;
  const int64_t tail = n % b;
  return n / b + (tail > 0 && tail >= config_.ranks ? 1 : 0);  // the last batch may be smaller
}

void Loader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop();
  epoch_ = epoch;
  order_ = items_;
  Rng rng(stream(config_.seed, epoch, 1));
  if (config_.weighted_sampling) {
    // As the reference's random sampling: a volume uniformly, then a slice with probability
    // proportional to its tumour area plus 10% of the volume's mean area.
    std::map<int32_t, std::vector<SliceRef>> by_volume;
    for (const auto& r : items_) by_volume[r.volume].push_back(r);
    std::vector<std::pair<std::vector<SliceRef>, std::vector<double>>> vols;
    for (auto& [v, refs] : by_volume) {
      std::vector<double> w;
      double total = 0;
      for (const auto& r : refs) total += static_cast<double>(volumes_[static_cast<size_t>(v)].mask_area(r.slice));
      const double floor = total > 0 ? 0.1 * total / static_cast<double>(refs.size()) : 1.0;
      for (const auto& r : refs) w.push_back(static_cast<double>(volumes_[static_cast<size_t>(v)].mask_area(r.slice)) + floor);
      vols.emplace_back(refs, w);
    }
    for (auto& slot : order_) {
      const auto& [refs, w] = vols[rng.below(static_cast<uint32_t>(vols.size()))];
      double total = 0;
      for (double x : w) total += x;
      double u = rng.uniform() * total;
      size_t k = 0;
      while (k + 1 < w.size() && u >= w[k]) u -= w[k++];
      slot = refs[k];
    }
  } else if (config_.shuffle) {
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng.below(static_cast<uint32_t>(i))]);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.clear();
    next_to_build_ = next_to_deliver_ = std::clamp<int64_t>(first_batch, 0, batches_per_epoch());
    stopping_ = false;
    error_ = nullptr;
  }
  for (int i = 0; i < config_.workers; ++i) workers_.emplace_back([this] { work(); });
}

void Loader::build(int64_t b, Batch& out) const {
  const int64_t n_total = static_cast<int64_t>(order_.size());
  const int64_t global_begin = b * config_.batch_size;
  const int64_t global_n = std::min(config_.batch_size, n_total - global_begin);
  const dist::RankShare share = dist::rank_share(global_n, config_.rank, config_.ranks);
  const int64_t begin = global_begin + share.begin, n = share.end - share.begin;
  const int64_t s = volumes_[static_cast<size_t>(order_[0].volume)].size, plane = s * s;
  out.index = b;
  out.size = n;
  out.global_size = global_n;
  out.image_size = s;
  if (out.images.size() != static_cast<size_t>(n * 3 * plane)) out.images = HostBuffer(static_cast<size_t>(n * 3 * plane));
  if (out.masks.size() != static_cast<size_t>(n * plane)) out.masks = HostBuffer(static_cast<size_t>(n * plane));
  out.refs.assign(order_.begin() + begin, order_.begin() + begin + n);
  for (int64_t i = 0; i < n; ++i) {
    const SliceRef r = out.refs[static_cast<size_t>(i)];
    Rng rng(stream(config_.seed, epoch_, 2), static_cast<uint64_t>(begin + i) * kDrawsPerSample);
    const Affine a = config_.augment ? Affine::draw(rng, config_.augment_config) : Affine::identity();
    render_sample(volumes_[static_cast<size_t>(r.volume)], r.slice, a, out.images.data() + i * 3 * plane,
                  out.masks.data() + i * plane);
  }
}

void Loader::work() {
  const int64_t total = batches_per_epoch();
  for (;;) {
    int64_t b;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || next_to_build_ < std::min(total, next_to_deliver_ + config_.prefetch); });
      if (stopping_) return;
      b = next_to_build_++;
    }
    Batch batch;
    try {
      build(b, batch);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_[b] = std::move(batch);
    }
    cv_.notify_all();
  }
}

bool Loader::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_to_deliver_ >= batches_per_epoch()) return false;
  cv_.wait(lock, [&] { return error_ != nullptr || ready_.count(next_to_deliver_) > 0; });
  if (error_) std::rethrow_exception(error_);
  out = std::move(ready_[next_to_deliver_]);
  ready_.erase(next_to_deliver_);
  ++next_to_deliver_;
  lock.unlock();
  cv_.notify_all();
  return true;
}

}  // namespace unet::data
