// The names of an ERNIE 4.5 checkpoint's tensors, in transformers' spelling and llama.cpp's GGUF
// spelling, read from tensor_names.json: the one table of them, which @wenxin/engine reads too
// (packages/engine/src/model/ernie_layout.ts). CMake compiles the file's text in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wenxin/hparams.h"

namespace wenxin::model {

struct Ernie45TensorName {
  std::string hf;    // "self_attn.q_proj" (after the layer prefix), "model.norm"; '*' = the expert index
  std::string gguf;  // "attn_q" (after "blk.N."), "output_norm"
  std::string kind;  // "matrix", "norm", "router" or "bias"
  bool embedding = false;
  bool head = false;  // the output head (absent from a checkpoint whose head is tied to the embedding)
  std::string mlp;    // layer entries of an MLP: "dense", "moe" (router, bias), "experts" or "shared"; else ""
  // The shape, rows first: a number, or a symbol ("vocab", "hidden", "q", "kv", "ffn", "experts").
  std::vector<std::string> shape;
  // Routed experts: one checkpoint tensor per expert, stacked into one GGUF tensor.
  bool stacked() const { return hf.find('*') != std::string::npos; }
  // The checkpoint name has no ".weight" (the router's score correction) and the GGUF one ends ".bias".
  bool bias() const { return kind == "bias"; }
};

// Projections some exports stack row-wise into one matrix of the same module ("qkv_proj" of
// "q_proj", "k_proj", "v_proj", in that row order); also transformers 5's stacked expert parameters
// ("gate_up_proj" of each expert's "gate_proj" and "up_proj").
struct Ernie45FusedName {
  std::string hf;                  // the fused leaf, "qkv_proj"
  std::vector<std::string> parts;  // the leaves it stacks, "q_proj", "k_proj", "v_proj"
};

struct Ernie45TensorNames {
  std::vector<Ernie45TensorName> global;  // outside the layers
  std::vector<Ernie45TensorName> layer;   // in every layer (dense or MoE as the layer is)
  std::vector<Ernie45FusedName> fused;
  // The routed experts' stacked parameters (peft's target_parameters) under each MoE layer's
  // `expert_module`: "gate_up_proj" of "gate_proj" and "up_proj", "down_proj" of "down_proj".
  std::string expert_module;  // "mlp.experts"
  std::vector<Ernie45FusedName> expert_parameters;
  std::string hf_layer_prefix;    // "model.layers."
  std::string gguf_layer_prefix;  // "blk."
  // Baidu's remote-code checkpoints name `remote_code_prefix`… what transformers names `hf_prefix`….
  std::string hf_prefix;           // "model."
  std::string remote_code_prefix;  // "ernie."
};

// Parsed once; the table is part of the build, so a malformed one aborts with the reason.
const Ernie45TensorNames& ernie45_tensor_names();
// The global entry marked `flag` (embedding or head).
const Ernie45TensorName& ernie45_global(bool Ernie45TensorName::* flag);
// The entry whose GGUF key is `gguf` ("output_norm"; "attn_q" for a layer entry), global or per layer.
const Ernie45TensorName& ernie45_tensor(const std::string& gguf);
// "self_attn" of "self_attn.q_proj".
std::string module_of(const std::string& hf);
// "q_proj" of "model.layers.0.self_attn.q_proj".
std::string leaf_of(const std::string& hf);
// The entry's shape for `hp` (its symbols resolved; "ffn" by the entry's mlp).
std::vector<int64_t> ernie45_shape(const Ernie45TensorName& n, const Ernie45Hparams& hp);
// `hf` ("model.norm") as Baidu's remote code names it ("ernie.norm"); a name outside the prefix as is.
std::string remote_code_name(const std::string& hf);
// The fused export that stacks the leaf `part` ("q_proj"), or nullptr.
const Ernie45FusedName* ernie45_fused_of(const std::string& part);
// The stacked expert parameter that holds each expert's projection `part` ("gate_proj" → gate_up_proj).
const Ernie45FusedName& ernie45_expert_parameter_of(const std::string& part);
// The stacked expert parameter whose leaf is `leaf` ("gate_up_proj"), or nullptr.
const Ernie45FusedName* ernie45_expert_parameter(const std::string& leaf);

}  // namespace wenxin::model
