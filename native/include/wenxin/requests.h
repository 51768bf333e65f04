// The data that crosses between the engine and its clients: requests in, events and results out.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "wenxin/adapters.h"
#include "wenxin/grammar.h"
#include "wenxin/sampling.h"
#include "wenxin/status.h"

namespace wenxin {

struct GenerateRequest {
  uint64_t id = 0;
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int32_t max_new_tokens = 256;
  std::vector<int32_t> stop_ids;  // generation ends after emitting one of these
  int32_t adapter = -1;           // LoRA adapter id, -1 for the base model
  int32_t logprobs = -1;          // -1: none; n >= 0: each token's logprob and the n most likely alternatives
  // Optional output constraint (runtime/grammar/constraint.h): the grammar, the vocabulary it is
  // matched against, and the trigger after which it applies ("" = from the first token).
  std::shared_ptr<const Grammar> grammar;
  std::shared_ptr<const Vocabulary> vocabulary;
  std::string trigger;
  bool rearm = false;  // with a trigger: after each complete value, wait for the trigger again
};

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };

inline const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
    default: return "";
  }
}

// A generated token's log-probability under the model's raw logits (before any sampling
// processor), and the most likely alternatives at that position.
struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;
};

// New tokens of one request since the last event; the last event of a request has `done`.
struct TokenEvent {
  uint64_t id = 0;
  std::vector<int32_t> tokens;
  bool done = false;
  FinishReason reason = FinishReason::kNone;
  Status error;
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;
  // Constrained requests only: the phase after this event (-1: no constraint; 0 waiting for the
  // trigger, 1 active, 2 complete), whether the value so far is complete, and the constrained
  // output bytes this event added.
  int8_t constraint_phase = -1;
  bool constraint_accepting = false;
  std::string constrained_bytes;
  std::vector<TokenLogprob> logprobs;  // aligned with `tokens` when the request asked for them
};

// Sentence embeddings: each input's final-norm hidden states, mean-pooled and L2-normalised.
// Scheduled like prompts (in chunks, in arrival order, beside the decoding of others) and
// cancelled like them: the id shares the space of GenerateRequest ids.
struct EmbeddingRequest {
  uint64_t id = 0;
  std::vector<std::vector<int32_t>> inputs;
  int32_t adapter = -1;
};

struct EmbeddingResult {
  uint64_t id = 0;
  Status status;
  std::vector<float> vectors;  // [inputs, hidden]
};

struct JobResult {
  uint64_t id = 0;
  Status status;
  // Named float32 outputs: "logits" [T, V]; trace tensors by name.
  std::vector<std::pair<std::string, std::vector<float>>> outputs;
};

class ThreadPool;  // the engine's worker threads, opaque here (core/thread_pool.h)

// One-shot computations over whole inputs, run between generation steps (scores and traces for
// tests and tools; adapter changes; training steps).
struct JobRequest {
  enum class Kind { kLogits, kTrace, kLoadAdapter, kUnloadAdapter, kTask };
  uint64_t id = 0;
  Kind kind = Kind::kLogits;
  std::vector<std::vector<int32_t>> inputs;
  int32_t adapter = -1;                // for the forward jobs: the adapter to apply; else the one to (un)load
  std::vector<LoraModuleRef> modules;  // kLoadAdapter
  // kTask: work on the engine's thread and pool (a training step), between generation steps.
  std::function<JobResult(ThreadPool&)> task;
};

// What one engine step reports, handed to the event sink.
struct EngineReport {
  std::vector<TokenEvent> events;
  std::vector<JobResult> jobs;
  std::vector<EmbeddingResult> embeddings;
  bool empty() const { return events.empty() && jobs.empty() && embeddings.empty(); }
};

}  // namespace wenxin
