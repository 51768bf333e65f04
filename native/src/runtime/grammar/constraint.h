// One request's output constraint, as the engine loop uses it: before each draw it masks the
// logits row to the tokens that keep the output a valid prefix of the grammar (end-of-sequence
// only once the value is complete), and after the draw it advances past the chosen token.
//
// With a trigger, the output is free until the trigger's bytes appear (special tokens count with
// their written form); the grammar then applies to the bytes after it. A token that would
// complete the trigger and continue with bytes the grammar rejects is masked while waiting.
// With `rearm`, a completed value sends the constraint back to waiting for the trigger instead of
// ending it, so one output can hold several constrained values (several tool calls in a turn).
//
// Near the end of the token budget, only tokens after which the value can still be completed
// in the tokens left are allowed (every byte is a token via byte fallback), so a constrained
// output whose shortest form in bytes fits the budget always ends complete. With a budget below
// that, only tokens on a shortest way to completion are allowed: the best chance to finish.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/grammar/automaton.h"

namespace wenxin::runtime::grammar {

class Constraint {
 public:
  enum class Phase : int8_t { kWaiting = 0, kActive = 1, kComplete = 2 };

  Constraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const Vocabulary> vocab, std::string trigger,
             std::vector<int32_t> stop_ids, bool rearm = false);

  // What masking and matching cost since the last call (the engine sums it into EngineStats).
  struct Cost {
    int64_t tokens = 0;  // apply() calls
    int64_t mask_ns = 0;
    int64_t advance_ns = 0;
  };
  Cost take_cost() { return std::exchange(cost_, Cost{}); }

  // Masks `logits` (width `width`) for the next token; `tokens_left` counts the tokens that may
  // still be generated, this one included. Returns false when no token at all is allowed.
  bool apply(float* logits, int64_t width, int32_t tokens_left);
  // Advances past a drawn token that is not a stop id. Returns false when the grammar rejects it.
  bool accept(int32_t token);

  Phase phase() const { return phase_; }
  // The constrained output so far is a complete value (rearmed: every value so far is complete,
  // and there is at least one).
  bool accepting() const { return phase_ == Phase::kWaiting ? values_ > 0 : automaton_.accepting(state_); }
  // Values completed so far.
  int32_t values() const { return values_; }
  // The grammar needed more parse stacks than the matcher keeps (see Automaton::overflowed).
  bool overflowed() const { return automaton_.overflowed(); }
  // Constrained output bytes added since the last call.
  std::string take_output() { return std::move(output_); }

 private:
  void advance_trigger(int32_t token);
  const std::vector<int32_t>& trigger_bans(int32_t matched);
  void activate(const char* rest, size_t n);
  // The current value can take no more bytes: the constraint ends, or waits again when rearmed.
  void value_done();

  Automaton automaton_;
  std::shared_ptr<const Vocabulary> vocab_;
  std::string trigger_;
  std::vector<int32_t> failure_;  // KMP: longest proper border of trigger_[0..i]
  std::vector<int32_t> stop_ids_;
  std::unordered_map<int32_t, std::vector<int32_t>> bans_;  // matched trigger length -> masked tokens
  Phase phase_;
  bool rearm_;
  int32_t values_ = 0;   // values completed (more than one only when rearmed)
  int32_t matched_ = 0;  // trigger bytes matched so far
  int32_t state_ = 0;
  std::string output_;
  TokenMask scratch_;
  Cost cost_;
};

}  // namespace wenxin::runtime::grammar
