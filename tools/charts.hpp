// The report's charts, drawn on any Painter (SVG or PNG).
#pragma once

#include <string>
#include <vector>

#include "tools/canvas.hpp"

namespace unet::tools {

struct Series {
  std::string name;
  std::vector<double> y;
  Rgb color;
};

// Curves over x (e.g. epochs), with axes, ticks and a legend.
void line_chart(Painter& p, int width, int height, const std::string& title, const std::vector<double>& x,
                const std::vector<Series>& series, const std::string& x_label);

// One bar per item (e.g. DSC per volume) with dashed mean and median lines; values in [0, 1].
void bar_chart(Painter& p, int width, int height, const std::string& title, const std::vector<std::string>& labels,
               const std::vector<double>& values, double mean, double median);

}  // namespace unet::tools
