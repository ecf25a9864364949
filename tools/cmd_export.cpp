// `unet export`: a checkpoint of this program -> a PyTorch state_dict (.pt) that
// load_state_dict() accepts in the model classes of tools/torch_models.py and, for the
// reference layout, in mateuszbuda/brain-segmentation-pytorch's own UNet.
#include <cstdio>
#include <filesystem>

#include "base/i18n.hpp"
#include "tools/commands.hpp"
#include "tools/torch_converter.hpp"
#include "train/checkpoint.hpp"
#include "unet/model_recognition.hpp"
#include "unet/state_dict.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

Runner add_export_command(CLI::App& app) {
  struct Options {
    std::string ckpt, out, python = "/usr/bin/python3";
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("export", tr("Write a checkpoint's weights as a PyTorch state_dict (.pt) for "
                                                  "load_state_dict() (model classes in tools/torch_models.py)"));
  sub->add_option("--ckpt", o->ckpt,
                  tr("checkpoint (best.safetensors or last.safetensors of a run, or any file predict reads)"))
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--out", o->out, tr("the PyTorch file to write (.pt)"))->required();
  sub->add_option("--python", o->python, tr("a Python with torch (Debian's python3-torch)"))->capture_default_str();
  return [o]() {
    std::error_code ec;
    if (fs::weakly_canonical(o->ckpt, ec) == fs::weakly_canonical(o->out, ec))
      throw CLI::ValidationError("--out", tr("is the same file as --ckpt; choose another name"));
    const LoadedModel loaded = load_model_checkpoint(o->ckpt, Device::CPU);
    const std::string model = describe_model({kind_of(loaded.model->config()), loaded.model->config()});
    std::printf(tr("unet export: %s (%s) -> %s\n").c_str(), o->ckpt.c_str(), model.c_str(), o->out.c_str());
    std::fflush(stdout);  // before the converter's own lines
    const ScratchFile plain(".safetensors");
    save_weights(*loaded.model, plain.path());
    run_torch_converter(o->python, "to-torch", plain.path(), o->out, o->ckpt);
    return 0;
  };
}

}  // namespace unet::tools
