// Test helper: the logits of a checkpoint's model (evaluation mode, CPU) for the tensor
// "input" [N, C, H, W] of a safetensors file, written as "logits" to another. The PyTorch
// side of tests/weights/ compares them with PyTorch's.
// Usage: forward_logits CHECKPOINT INPUT.safetensors OUTPUT.safetensors
#include <cstdio>

#include "engine/autograd.hpp"
#include "engine/safetensors.hpp"
#include "train/checkpoint.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: forward_logits CHECKPOINT INPUT.safetensors OUTPUT.safetensors\n");
    return 2;
  }
  try {
    unet::LoadedModel loaded = unet::load_model_checkpoint(argv[1], unet::Device::CPU);
    loaded.model->train(false);
    const unet::SafetensorsFile in = unet::read_safetensors(argv[2]);
    const unet::RawTensor& x = in.tensors.at("input");
    unet::NoGradGuard no_grad;
    const unet::Tensor logits = loaded.model->forward(unet::Tensor::from_vector(x.shape, x.as_f32("input")));
    unet::SafetensorsFile out;
    out.tensors["logits"] = unet::RawTensor::f32(logits.shape(), logits.to_vector());
    unet::write_safetensors(argv[3], out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forward_logits: %s\n", e.what());
    return 1;
  }
  return 0;
}
