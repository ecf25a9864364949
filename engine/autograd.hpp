// Reverse-mode autograd in the micrograd style: every recorded op leaves a Node on its
// output with its inputs' autograd state and a closure that maps the output's gradient to the
// inputs' gradients. backward() walks the graph from a scalar loss in reverse topological
// order; gradients accumulate with +=, and each node's saved tensors are freed as soon as
// it has run. A node keeps an input's values only where its closure captured them
// (detached(x)): the edge itself holds no storage.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "engine/tensor.hpp"

namespace unet {

// Returns one gradient per input (undefined where an input needs none).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;

struct Node {
  const char* name;
  std::vector<std::shared_ptr<AutogradMeta>> inputs;  // null where an input has no autograd state
  BackwardFn backward;
};

bool grad_enabled();

// Evaluation mode: ops record nothing while one of these lives.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and any of the inputs requires a gradient.
bool needs_graph(const std::vector<Tensor>& inputs);

// Attaches a node to `out` when needs_graph(inputs). Closures must not capture `out`
// itself (that would be a cycle); capture out.detach()-style aliases instead. Edges are taken
// now: an input without autograd state at this point gets no gradient (as in PyTorch,
// requires_grad is set before the op).
void record(Tensor& out, const char* name, const std::vector<Tensor>& inputs, BackwardFn fn);

// A tensor sharing `t`'s storage but with no autograd state: safe to save in a closure.
Tensor detached(const Tensor& t);

// t.grad += g (allocating t.grad on first use). Shapes and layouts must match.
void accumulate_grad(const Tensor& t, const Tensor& g);
void accumulate_grad(AutogradMeta& t, const Tensor& g);

void run_backward(const Tensor& loss);
// Backward from any tensor with an explicit upstream gradient of the same shape (for
// gradient checks and for chaining graphs).
void run_backward(const Tensor& root, const Tensor& grad_root);

}  // namespace unet
