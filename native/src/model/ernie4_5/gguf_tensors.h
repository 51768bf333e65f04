// ERNIE 4.5 GGUF files (llama.cpp's `ernie4_5` / `ernie4_5-moe`) as a tensor source: every GGUF
// tensor is registered in the TensorStore under its checkpoint (HF) name, so the same binder
// loads both formats. What each GGUF type becomes:
//   F32 / F16 / BF16 → used in place from the memory map (matrices are then quantized or not per
//                      the load's weight format, as for safetensors);
//   Q8_0 → our q8 (same fp16 block scales, quants re-offset by +128);
//   Q4_0 → our q4 (same fp16 block scales, nibbles re-paired per 64 elements);
//   Q4_K / Q5_K / Q6_K → dequantized at load and re-quantized to our q8 (blocks of 32, fp16 scale);
//   quantized non-matrix tensors (norms, router, and the embedding table that rows are read from)
//   → dequantized to F32. A tied, quantized token_embd also serves the LM head in its quantized form.
#pragma once

#include <string>

#include "core/thread_pool.h"
#include "formats/tensor_store.h"
#include "wenxin/hparams.h"

namespace wenxin::model {

// Maps `path` and registers its tensors in `store`. Fails naming the GGUF tensor on an
// unsupported type or a bad file; checks general.architecture against `hp.model_type`.
Status add_ernie45_gguf(const std::string& path, const Ernie45Hparams& hp, TensorStore* store, ThreadPool& pool);

// The GGUF name of a checkpoint tensor name ("model.layers.0.self_attn.q_proj.weight" →
// "blk.0.attn_q.weight"; experts name their stacked tensor); empty when there is none.
std::string gguf_name_of(const std::string& hf_name);

// A binder error about a checkpoint tensor, restated with the GGUF tensor name and the file.
Status restate_for_gguf(const Status& st, const std::string& path);

}  // namespace wenxin::model
