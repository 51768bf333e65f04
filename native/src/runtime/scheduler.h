// Decides what each engine step computes. Sequences wait in arrival order (FCFS) and join the
// running set when the KV cache can hold what they have to compute; every step then takes one
// token from each decoding sequence and fills the rest of the token budget with prompt chunks:
// new requests' short prompts first, then other new prompts, then recomputes and embedding
// inputs; a step that decodes or computes a short new prompt gives the others at most a quarter
// of the budget (a long prompt alone takes all of it).
// When a decoding sequence cannot grow, the most recently admitted one is preempted: its blocks
// are freed and it goes back to the head of the queue, to be recomputed later (its published
// blocks usually survive in the prefix cache, so the recompute is mostly a lookup). Embedding
// inputs are scheduled like prompts, but never from the prefix cache: every position's hidden
// state is needed. A paused sequence holds no slot and no blocks (see set_paused).
//
// A sequence that was once paused (its consumer fell behind) is background work from then on:
// it is admitted after every other waiting sequence and preempted before any other; a step
// computes at most kBackgroundPerStep background sequences and a quarter of the token budget for
// them (in turn, so each advances), and none in a step that computes a new request's prompt. A
// new request's first token therefore waits for at most one step that holds a bounded amount of
// background work, however much of it there is.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "runtime/sequence.h"
#include "wenxin/status.h"

namespace wenxin::runtime {

// EngineOptions' values (validated there; the defaults are the caller's, see wenxin/engine_options.h).
struct SchedulerOptions {
  int64_t max_sequences = 0;     // running at once
  int64_t max_batch_tokens = 0;  // tokens per step: decode tokens first, then prompt chunks
};

// One sequence's share of a step: its next `count` pending tokens.
struct StepWork {
  Sequence* sequence;
  int64_t count;
};

class Scheduler {
 public:
  // The most background sequences one step computes (see above).
  static constexpr int64_t kBackgroundPerStep = 4;

  Scheduler(SchedulerOptions options, kv::KvBlockPool* pool) : options_(options), pool_(pool) {}

  void enqueue(std::unique_ptr<Sequence> sequence) { waiting_.push_back(std::move(sequence)); }
  // Takes a request out, waiting or running (its blocks go back when the caller drops it).
  std::unique_ptr<Sequence> remove(uint64_t id);
  std::unique_ptr<Sequence> remove(const Sequence* sequence);
  // Every sequence of a request (an embedding request has one per input).
  std::vector<std::unique_ptr<Sequence>> remove_all(uint64_t id);
  // Every sequence, for shutdown.
  std::vector<std::unique_ptr<Sequence>> drain();

  // A paused sequence (its consumer is not reading) gives its running slot and KV blocks back and
  // waits aside: its published blocks stay in the prefix cache, so resuming is mostly a lookup.
  // Resumed, it waits again as background work; its tokens, sampler and constraint state are kept.
  void set_paused(uint64_t id, bool paused);

  // Plans the next step. Sequences that can never be served (alone and still out of room) are
  // returned in `failed` with their status, already removed.
  std::vector<StepWork> plan(std::vector<std::pair<std::unique_ptr<Sequence>, Status>>* failed);

  size_t waiting() const { return waiting_.size(); }
  size_t running() const { return running_.size(); }
  size_t paused() const { return paused_.size(); }
  int64_t preemptions() const { return preemptions_; }
  int64_t prefix_hit_tokens() const { return prefix_hit_tokens_; }

 private:
  bool admit(size_t index);
  void preempt(size_t index);
  // Preempts the most recently admitted running background sequence other than `keep`;
  // false when there is none. `planned` sequences are part of this step already and are kept too.
  bool preempt_background(const Sequence* keep, const std::vector<StepWork>& planned);
  void plan_background(int64_t* budget, std::vector<StepWork>* work,
                       std::vector<std::pair<std::unique_ptr<Sequence>, Status>>* failed);

  SchedulerOptions options_;
  kv::KvBlockPool* pool_;
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::vector<std::unique_ptr<Sequence>> running_;  // in admission order
  std::vector<std::unique_ptr<Sequence>> paused_;   // neither stepped nor admitted until resumed
  int64_t preemptions_ = 0;
  int64_t prefix_hit_tokens_ = 0;
  uint64_t background_turn_ = 0;  // rotates which background sequences a step computes first
};

}  // namespace wenxin::runtime
