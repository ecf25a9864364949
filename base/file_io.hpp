// Files written so that a crash, a full disk or a kill never leaves half of one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace unet {

// Writes `path.tmp`, fsyncs it, renames it over `path` and fsyncs the folder: afterwards
// `path` holds either its old content or `bytes`, never a mix. Errors name the file.
void write_file_atomic(const std::string& path, const std::string& bytes);
// The same for a file made of several buffers written one after another (no joined copy).
void write_file_atomic(const std::string& path, const std::vector<std::string_view>& parts);

}  // namespace unet
