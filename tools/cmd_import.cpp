// `unet import`: a model trained in PyTorch (.pt/.pth pickle, or safetensors) -> a checkpoint
// of this program. tools/convert_torch.py unpickles it into plain float32 safetensors; the
// model is then recognised here from its names and shapes, loaded, and written with its config.
#include <cstdio>
#include <filesystem>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "engine/safetensors.hpp"
#include "tools/commands.hpp"
#include "tools/torch_converter.hpp"
#include "unet/model_recognition.hpp"
#include "unet/state_dict.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

namespace {
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}
}  // namespace

Runner add_import_command(CLI::App& app) {
  struct Options {
    std::string in, out, python = "/usr/bin/python3";
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub =
      app.add_subcommand("import", tr("Bring in a model trained in PyTorch: a .pt/.pth (state_dict, whole model or "
                                      "checkpoint dict) or a safetensors file -> a checkpoint for predict and eval"));
  sub->footer(
      tr("The pickle is read by tools/convert_torch.py with torch.load(weights_only=True) (Debian's torch 1.13 has it) "
         "and, for what that refuses (a whole pickled model), with a restricted reader; neither imports or runs "
         "anything from the file. The model is recognised from its tensor names and shapes (reference or classic 2D "
         "U-Net layout, base width, depth, channels). float16, bfloat16 and float64 weights become float32; 'module.' "
         "prefixes are removed."));
  sub->add_option("--in", o->in, tr("the PyTorch file (.pt, .pth, .bin or .safetensors)"))
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--out", o->out, tr("the checkpoint to write (.safetensors)"))->required();
  sub->add_option("--python", o->python, tr("a Python with torch (Debian's python3-torch)"))->capture_default_str();
  return [o]() {
    if (same_file(o->in, o->out))
      throw CLI::ValidationError("--out", tr("is the same file as --in; choose another name"));
    const ScratchFile plain(".safetensors");
    run_torch_converter(o->python, "to-safetensors", o->in, plain.path(), o->in);
    SafetensorsFile file = read_safetensors(plain.path());
    const RecognisedModel recognised = recognise_model(file, o->in);
    file.metadata.clear();
    UNet model(recognised.config);
    load_model_state(model, file, o->in);
    save_weights(model, o->out, {{"source", fs::path(o->in).filename().string()}});
    std::printf(tr("unet import: %s: %s, %lld parameters -> %s\n").c_str(), o->in.c_str(),
                describe_model(recognised).c_str(), static_cast<long long>(model.parameter_count()), o->out.c_str());
    if (recognised.kind == ModelKind::UNet3D)
      std::printf(tr("predict with: unet predict --ckpt %s --input CASE_FOLDER --out FOLDER (sliding window: --patch, "
                     "--overlap; by default 128 and 0.5)\n")
                      .c_str(),
                  o->out.c_str());
    else
      std::printf(tr("predict with: unet predict --ckpt %s --input IMAGES --out FOLDER (preprocessing and size: "
                     "--preprocess, --size; by default the reference program's, reference and 256)\n")
                      .c_str(),
                  o->out.c_str());
    return 0;
  };
}

}  // namespace unet::tools
