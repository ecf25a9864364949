// What every training run does with its folder and its checkpoint, 2D or 3D.
#pragma once

#include <string>
#include <vector>

#include "engine/safetensors.hpp"

namespace unet {

// Fails before any work when the run folder cannot be created or written.
void check_writable(const std::string& out);

// On resume with --data: the folder must hold the patients the run was trained on. Runs
// saved before the patient list was stored are checked by their validation list only.
void check_same_patients(const SafetensorsFile& checkpoint, std::vector<std::string> ids, const std::string& where);

// "%.6f", for logs and metrics.csv.
std::string fmt(double v);

}  // namespace unet
