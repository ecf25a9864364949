// Runs tools/convert_torch.py, the PyTorch side of `unet import` and `unet export`, with the
// Python that has torch (Debian's python3-torch: /usr/bin/python3).
#pragma once

#include <string>

namespace unet::tools {

// "to-safetensors": a PyTorch pickle (or foreign safetensors) -> plain float32 safetensors;
// "to-torch": a unet-engine safetensors -> torch.save(state_dict). The converter's own lines
// go to stdout; when it fails, the Error names `about` (the user's file) and carries the
// converter's message.
void run_torch_converter(const std::string& python, const std::string& direction, const std::string& in,
                         const std::string& out, const std::string& about);

// A path in the temporary folder for an intermediate file, removed when this goes away.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& suffix);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace unet::tools
