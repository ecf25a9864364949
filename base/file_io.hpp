// Files written so that a crash, a full disk or a kill never leaves half of one.
#pragma once

#include <string>

namespace unet {

// Writes `path.tmp`, fsyncs it, renames it over `path` and fsyncs the folder: afterwards
// `path` holds either its old content or `bytes`, never a mix. Errors name the file.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace unet
