// Engine::sample_next: one sequence's next token from its logits row (constraint, processors,
// draw, logprobs, stop conditions). Runs on the pool's threads, one sequence per call.
#include <algorithm>

#include "core/fault_injection.h"
#include "runtime/engine.h"
#include "runtime/grammar/constraint.h"
#include "runtime/sampler/token_logprobs.h"

namespace wenxin::runtime {

bool Engine::sample_next(Sequence* s, float* row, TokenEvent* ev) {
  const int64_t vocab = hparams().vocab_size;
  ev->id = s->request.id;
  ev->prompt_tokens = s->prompt_tokens();
  testing::fault_point(testing::FaultSite::kSampling, static_cast<int64_t>(s->request.id));
  if (!sanitize_logits(row, vocab)) {  // NaN or -inf everywhere: nothing to sample, nothing to report
    ev->done = true;
    ev->completion_tokens = s->generated;
    ev->reason = FinishReason::kError;
    ev->error = Status(ErrorCode::kInternal, "the model's logits hold no finite value (all NaN or -inf)");
    return true;
  }
  thread_local std::vector<float> raw;
  if (s->request.logprobs >= 0) raw.assign(row, row + vocab);  // before constraints and processors change it
  if (s->constraint) {
    const int64_t left = std::min<int64_t>(s->request.max_new_tokens - s->generated,
                                           max_context_ - static_cast<int64_t>(s->tokens.size()));
    testing::fault_point(testing::FaultSite::kConstraint, static_cast<int64_t>(s->request.id));
    if (!s->constraint->apply(row, vocab, static_cast<int32_t>(left))) {
      // No token can continue: a complete value simply ends here.
      ev->done = true;
      ev->completion_tokens = s->generated;
      if (s->constraint->accepting()) {
        ev->reason = FinishReason::kStop;
      } else if (s->constraint->overflowed()) {
        ev->reason = FinishReason::kError;
        ev->error =
            Status(ErrorCode::kInvalidArgument,
                   "the grammar is too ambiguous to match: one output byte needed more than " +
                       std::to_string(grammar::Automaton::kMaxStacks) + " parse stacks; make its rules less ambiguous");
      } else {
        ev->reason = FinishReason::kError;
        ev->error = Status(ErrorCode::kInternal, "no token of the vocabulary can continue the constrained output");
      }
      ev->constraint_phase = static_cast<int8_t>(s->constraint->phase());
      ev->constraint_accepting = s->constraint->accepting();
      return true;
    }
  }
  const int32_t token = s->sampler.sample(row, vocab, s->tokens);
  if (s->request.logprobs >= 0) ev->logprobs.push_back(token_logprob(raw.data(), vocab, token, s->request.logprobs));
  s->tokens.push_back(token);
  s->generated++;
  ev->tokens.push_back(token);
  ev->completion_tokens = s->generated;
  const auto& stops = s->request.stop_ids;
  const bool is_stop = std::find(stops.begin(), stops.end(), token) != stops.end();
  if (s->constraint) {
    if (!is_stop && !s->constraint->accept(token)) {
      ev->done = true;
      ev->reason = FinishReason::kError;
      ev->error = Status(ErrorCode::kInternal, "the sampled token " + std::to_string(token) + " breaks the constraint");
    }
    ev->constraint_phase = static_cast<int8_t>(s->constraint->phase());
    ev->constraint_accepting = s->constraint->accepting();
    ev->constrained_bytes = s->constraint->take_output();
  }
  const bool value_complete = s->constraint && s->constraint->phase() == grammar::Constraint::Phase::kComplete;
  if (ev->done) return true;  // failed above
  if (is_stop || value_complete) {
    ev->done = true;
    ev->reason = FinishReason::kStop;
  } else if (s->generated >= s->request.max_new_tokens || static_cast<int64_t>(s->tokens.size()) >= max_context_) {
    ev->done = true;
    ev->reason = FinishReason::kLength;
  }
  return ev->done;
}

}  // namespace wenxin::runtime
