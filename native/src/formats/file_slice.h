// Reads a byte range of a file that is not memory-mapped (a LoRA adapter's tensor, located by the
// JS side's reading of its safetensors header). The range is checked against the file's size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wenxin/status.h"

namespace wenxin {

// Fails with FILE_NOT_FOUND when `path` cannot be opened, INVALID_FILE when the range lies
// outside it or cannot be read; `what` names the data in messages.
Status read_file_slice(const std::string& path, int64_t offset, int64_t bytes, const std::string& what,
                       std::vector<uint8_t>* out);

}  // namespace wenxin
