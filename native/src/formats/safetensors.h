// Reads safetensors files: an 8-byte header length, a JSON header, then raw tensor bytes.
// Tensors are views into the memory map; nothing is copied.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "wenxin/status.h"

namespace wenxin {

// Indexes the tensors of one safetensors image held in memory (`path` only names it in errors).
// Untrusted input: every length, offset and shape is checked against the image, tensors may not
// overlap, and each tensor's byte count must match its dtype and shape. Views point into `base`.
Status parse_safetensors(const uint8_t* base, size_t size, const std::string& path,
                         std::vector<std::pair<std::string, TensorView>>* out);

}  // namespace wenxin
