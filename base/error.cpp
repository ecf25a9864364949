#include "base/error.hpp"

namespace unet {

static std::string compose(const std::string& file, int line, const std::string& call,
                           const std::string& message) {
  // Only the file's base name: the build path means nothing to a user.
  const auto slash = file.find_last_of('/');
  const std::string base = slash == std::string::npos ? file : file.substr(slash + 1);
  return call + ": " + message + " (" + base + ":" + std::to_string(line) + ")";
}

Error::Error(std::string file, int line, std::string call, std::string message)
    : std::runtime_error(compose(file, line, call, message)),
      file_(std::move(file)),
      line_(line),
      call_(std::move(call)),
      message_(std::move(message)) {}

}  // namespace unet
