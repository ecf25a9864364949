// Which model a weights file holds, read from its tensor names and shapes alone: for files
// that carry none of this program's metadata, such as a PyTorch state_dict saved as
// safetensors or the output of tools/convert_torch.py.
#pragma once

#include <string>

#include "engine/safetensors.hpp"
#include "unet/unet_model.hpp"

namespace unet {

// The kinds of model this program runs: the 2D U-Nets (reference and classic layouts) and
// the BraTS 3D U-Net (brats3d layout). Both are a UNet; the kind follows config.rank().
enum class ModelKind { UNet2D, UNet3D };

struct RecognisedModel {
  ModelKind kind = ModelKind::UNet2D;
  UNetConfig config;
};

ModelKind kind_of(const UNetConfig& config);

// True when the file carries this program's model config: a "config" metadata entry and a
// "format" that is "unet-engine" or absent. Any other file is foreign and is recognised.
bool has_engine_metadata(const SafetensorsFile& file);

// The model whose state_dict has exactly the file's tensor names, shapes and dtypes (F32,
// and I64 for BatchNorm's num_batches_tracked); the metadata is not read. Otherwise an Error
// naming `where` that says what was expected and what was found: the tensors missing, those
// with another shape or dtype and those the model does not have, a few of each with counts.
RecognisedModel recognise_model(const SafetensorsFile& file, const std::string& where);

// "2D U-Net, reference layout, base 8, depth 4, 3 -> 1 channels" / "3D U-Net, brats3d layout, ..."
std::string describe_model(const RecognisedModel& model);

}  // namespace unet
