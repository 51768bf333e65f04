// `wenxin quantize`: a checkpoint's matrices quantized once and saved, so later loads map them.
#pragma once

#include <string>
#include <vector>

#include "wenxin/engine_options.h"
#include "wenxin/hparams.h"
#include "wenxin/status.h"

namespace wenxin {

// Loads the checkpoint in `files`, quantizes its matrices to `format` (q8, q4 or fp8) on `threads`
// threads and writes every tensor to one safetensors file at `out`. `tiles` (q4 only) saves the
// matrices in this CPU's kernel tiles, which a CPU with the same tiles maps in place at load (any other
// unpacks them); the kernels must have tiles (not the generic path).
Status save_quantized(const Ernie45Hparams& hp, const std::vector<std::string>& files, WeightFormat format,
                      const std::string& out, int threads, bool tiles = false);

}  // namespace wenxin
