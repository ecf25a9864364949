// Pictures of slices: triptychs (image | ground truth | prediction) and overlays
// (prediction outline red, ground-truth outline green).
#pragma once

#include <cstdint>
#include <vector>

#include "tools/canvas.hpp"

namespace unet::tools {

// rgb [h, w, 3]; masks [h, w] in {0,1} (truth may be null).
Canvas triptych(const std::vector<uint8_t>& rgb, int h, int w, const uint8_t* truth, const uint8_t* pred);
Canvas overlay(const std::vector<uint8_t>& rgb, int h, int w, const uint8_t* truth, const uint8_t* pred);
// The report's slice viewer frame: image | ground truth | prediction | overlay (the outlines of
// both on the image), each panel h x w under its title.
Canvas slice_panels(const std::vector<uint8_t>& rgb, int h, int w, const uint8_t* truth, const uint8_t* pred);

}  // namespace unet::tools
