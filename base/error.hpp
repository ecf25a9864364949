// One error type for everything that can go wrong in the engine: library calls (CUDA,
// cuDNN, cuBLAS, oneDNN), shape mismatches and bad files. It carries where it was raised,
// what was being done and the library's own message, so a user's bug report is enough.
#pragma once

#include <stdexcept>
#include <string>

namespace unet {

class Error : public std::runtime_error {
 public:
  Error(std::string file, int line, std::string call, std::string message);

  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& call() const { return call_; }        // the failing call or the op name
  const std::string& message() const { return message_; }  // the library's / our explanation

 private:
  std::string file_;
  int line_;
  std::string call_;
  std::string message_;
};

}  // namespace unet

// Raise an unet::Error from the current location. `what` names the op or call.
#define UNET_THROW(what, message) throw ::unet::Error(__FILE__, __LINE__, (what), (message))

// Check a condition that depends on user input (shapes, arguments, files).
#define UNET_CHECK(cond, what, message) \
  do {                                  \
    if (!(cond)) UNET_THROW((what), (message)); \
  } while (0)
