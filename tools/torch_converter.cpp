#include "tools/torch_converter.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/error.hpp"
#include "base/i18n.hpp"

extern char** environ;

namespace unet::tools {

namespace fs = std::filesystem;

namespace {

// The converter lives in the source tree beside this file (the build has no install step).
std::string converter_script() {
  return std::string(UNET_TOOLS_SOURCE_DIR) + "/convert_torch.py";
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The converter's message without a leading "FILE: " (the Error names the file itself).
std::string converter_message(std::string text, const std::string& in) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (const size_t last = text.find_last_of('\n'); last != std::string::npos) {
    // More than one line: a Python traceback, not one of the converter's refusals.
    text = trf("the converter failed: {}", text.substr(last + 1));
  }
  if (text.rfind(in + ": ", 0) == 0) text = text.substr(in.size() + 2);
  return text;
}

}  // namespace

ScratchFile::ScratchFile(const std::string& suffix) {
  static std::atomic<int> counter{0};
  path_ = (fs::temp_directory_path() / ("unet-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + suffix))
              .string();
}

ScratchFile::~ScratchFile() {
  std::error_code ec;
  fs::remove(path_, ec);  // best effort: the file may not exist
}

void run_torch_converter(const std::string& python, const std::string& direction, const std::string& in,
                         const std::string& out, const std::string& about) {
  const std::string script = converter_script();
  UNET_CHECK(fs::exists(script), script,
             tr("the PyTorch converter is missing (it belongs in the source tree's tools/)"));
  const ScratchFile errors(".stderr");
  std::vector<std::string> args = {python, script, direction, in, out};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Its stderr goes to a file, so that its message can become this Error's message.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errors.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  UNET_CHECK(spawned == 0, "--python",
             trf("cannot run '{}': {} (the converter needs a Python with torch: Debian's python3-torch)", python,
                 std::strerror(spawned)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) UNET_CHECK(errno == EINTR, python, trf("waitpid: {}", std::strerror(errno)));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  const std::string text = read_text(errors.path());
  UNET_CHECK(text.find("No module named 'torch'") == std::string::npos, "--python",
             trf("'{}' has no torch; use Debian's python3-torch (/usr/bin/python3) or a Python with torch", python));
  UNET_CHECK(!text.empty(), about,
             WIFEXITED(status)
                 ? trf("the converter {} stopped (exit status {}) without a message", script, WEXITSTATUS(status))
                 : trf("the converter {} stopped (signal {}) without a message", script, WTERMSIG(status)));
  UNET_THROW(about, converter_message(text, in));
}

}  // namespace unet::tools
