#include "engine/autograd.hpp"

#include <unordered_set>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "kernels/kernels.hpp"

namespace unet {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool needs_graph(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(Tensor& out, const char* name, const std::vector<Tensor>& inputs, BackwardFn fn) {
  if (!needs_graph(inputs)) return;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) node->inputs.push_back(t.defined() ? t.impl()->autograd : nullptr);
  node->backward = std::move(fn);
  AutogradMeta& autograd = out.impl()->ensure_autograd();
  autograd.requires_grad = true;
  autograd.grad_fn = std::move(node);
}

Tensor detached(const Tensor& t) {
  if (!t.defined()) return t;
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl()->storage;
  impl->offset = t.impl()->offset;
  impl->shape = t.impl()->shape;
  impl->device = t.impl()->device;
  impl->channel_block = t.impl()->channel_block;
  return Tensor(impl);
}

void accumulate_grad(const Tensor& t, const Tensor& g) {
  UNET_CHECK(t.defined(), "accumulate_grad", tr("undefined tensor"));
  accumulate_grad(t.impl()->ensure_autograd(), g);
}

void accumulate_grad(AutogradMeta& t, const Tensor& g) {
  // The gradient has its tensor's shape and layout (every op's backward writes it so), and so
  // has the one accumulated here.
  UNET_CHECK(t.shape == g.shape(), "accumulate_grad",
             trf("shape mismatch: {} vs {}", shape_str(t.shape), shape_str(g.shape())));
  UNET_CHECK(t.channel_block == g.channel_block(), "accumulate_grad",
             trf("layout mismatch: {} vs {} channels per block", std::to_string(t.channel_block),
                 std::to_string(g.channel_block())));
  if (t.grad == nullptr) {
    // Adopt the gradient when nobody else can see its storage; otherwise copy, so that a
    // later += into this gradient cannot change another tensor's.
    if (g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1) {
      t.grad = detached(g).impl_ptr();
    } else {
      t.grad = g.clone().impl_ptr();
    }
    return;
  }
  const Tensor acc(t.grad);
  kernels::axpy(acc.device(), acc.numel(), 1.0f, g.raw_data(), acc.raw_data());
}

void run_backward(const Tensor& loss) {
  UNET_CHECK(
      loss.defined() && loss.numel() == 1, "backward",
      trf("needs a one-element loss, got shape {}", (loss.defined() ? shape_str(loss.shape()) : tr("<undefined>"))));
  run_backward(loss, Tensor::full(loss.shape(), 1.0f, loss.device()));
}

void run_backward(const Tensor& loss, const Tensor& grad_root) {
  UNET_CHECK(loss.defined() && loss.requires_grad(), "backward",
             tr("the tensor does not depend on any tensor that requires grad"));
  check_same_shape("backward", loss, grad_root);
  check_same_device("backward", loss, grad_root);

  // Topological order by iterative depth-first search (the graph of a U-Net is ~100 deep,
  // a general graph may be deeper than the stack allows for recursion). The order holds
  // owning pointers: running a node frees its saved inputs, which must not free a tensor's
  // state still waiting for its turn.
  std::vector<std::shared_ptr<AutogradMeta>> order;
  std::unordered_set<AutogradMeta*> seen;
  std::vector<std::pair<std::shared_ptr<AutogradMeta>, size_t>> stack{{loss.impl()->autograd, 0}};
  seen.insert(loss.impl()->autograd.get());
  while (!stack.empty()) {
    auto& [state, next] = stack.back();
    const Node* node = state->grad_fn.get();
    if (node != nullptr && next < node->inputs.size()) {
      const std::shared_ptr<AutogradMeta>& child = node->inputs[next++];
      if (child != nullptr && child->grad_fn != nullptr && seen.insert(child.get()).second) stack.push_back({child, 0});
      continue;
    }
    order.push_back(std::move(state));
    stack.pop_back();
  }

  accumulate_grad(*loss.impl()->autograd, grad_root);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    AutogradMeta& state = **it;
    std::shared_ptr<Node> node = std::move(state.grad_fn);  // releases the graph as we go
    if (node == nullptr || state.grad == nullptr) continue;
    Tensor grad_out(state.grad);
    state.grad.reset();  // a non-leaf's gradient is not kept (as in PyTorch)
    std::vector<Tensor> grads = node->backward(grad_out);
    UNET_CHECK(grads.size() == node->inputs.size(), node->name,
               trf("backward returned {} gradients for {} inputs", std::to_string(grads.size()),
                   std::to_string(node->inputs.size())));
    for (size_t i = 0; i < grads.size(); ++i) {
      const auto& input = node->inputs[i];
      if (input == nullptr || !input->requires_grad || !grads[i].defined()) continue;
      accumulate_grad(*input, grads[i]);
    }
  }
}

}  // namespace unet
