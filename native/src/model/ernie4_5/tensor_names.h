// The names of an ERNIE 4.5 checkpoint's tensors, in transformers' spelling and llama.cpp's GGUF
// spelling, read from tensor_names.json: the one table of them, which @wenxin/engine reads too
// (packages/engine/src/model/ernie_layout.ts). CMake compiles the file's text in.
#pragma once

#include <string>
#include <vector>

namespace wenxin::model {

struct Ernie45TensorName {
  std::string hf;    // "self_attn.q_proj" (after the layer prefix), "model.norm"; '*' = the expert index
  std::string gguf;  // "attn_q" (after "blk.N."), "output_norm"
  std::string kind;  // "matrix", "norm", "router" or "bias"
  bool embedding = false;
  bool head = false;  // the output head (absent from a checkpoint whose head is tied to the embedding)
  // Routed experts: one checkpoint tensor per expert, stacked into one GGUF tensor.
  bool stacked() const { return hf.find('*') != std::string::npos; }
  // The checkpoint name has no ".weight" (the router's score correction) and the GGUF one ends ".bias".
  bool bias() const { return kind == "bias"; }
};

struct Ernie45TensorNames {
  std::vector<Ernie45TensorName> global;  // outside the layers
  std::vector<Ernie45TensorName> layer;   // in every layer (dense or MoE as the layer is)
  std::string hf_layer_prefix;            // "model.layers."
  std::string gguf_layer_prefix;          // "blk."
};

// Parsed once; the table is part of the build, so a malformed one aborts with the reason.
const Ernie45TensorNames& ernie45_tensor_names();
// The global entry marked `flag` (embedding or head).
const Ernie45TensorName& ernie45_global(bool Ernie45TensorName::* flag);
// The entry whose GGUF key is `gguf` ("output_norm"; "attn_q" for a layer entry), global or per layer.
const Ernie45TensorName& ernie45_tensor(const std::string& gguf);
// "self_attn" of "self_attn.q_proj".
std::string module_of(const std::string& hf);

}  // namespace wenxin::model
