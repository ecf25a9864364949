// Where a tensor lives and which backend runs its ops.
#pragma once

#include <cstdint>
#include <string>

namespace unet {

enum class Device { CPU, CUDA };

const char* device_name(Device d);

// True when this binary was built with CUDA and a usable GPU is present. The first call
// probes the driver; any error there (e.g. no driver, error 35) means "no GPU".
bool cuda_available();

// Why cuda_available() is false, in one line a user can act on.
std::string cuda_unavailable_reason();

// How often the host has waited for the GPU's stream so far (0 without CUDA).
uint64_t cuda_synchronizations();

// Waits for all work queued on the device (a no-op on the CPU, where ops are synchronous).
void synchronize(Device d);

// One line describing the hardware a run used: CPU model and cores, or the GPU's name and memory.
std::string hardware_description(Device d);

// "auto" -> CUDA when available, else CPU (printing one line that says so, once);
// "cpu" / "cuda" -> that device, or an error naming the argument when CUDA is missing.
Device resolve_device(const std::string& choice);

}  // namespace unet
