#include "runtime/grammar/constraint.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <limits>

namespace wenxin::runtime::grammar {

namespace {

constexpr float kMasked = -std::numeric_limits<float>::infinity();

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Adds the time from construction to destruction to `*total`.
struct Timer {
  int64_t* total;
  int64_t start = now_ns();
  ~Timer() { *total += now_ns() - start; }
};

}  // namespace

Constraint::Constraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const Vocabulary> vocab,
                       std::string trigger, std::vector<int32_t> stop_ids, bool rearm)
    : automaton_(std::move(grammar)),
      vocab_(std::move(vocab)),
      trigger_(std::move(trigger)),
      stop_ids_(std::move(stop_ids)),
      phase_(trigger_.empty() ? Phase::kActive : Phase::kWaiting),
      rearm_(rearm && !trigger_.empty()),
      state_(automaton_.initial()) {
  if (phase_ == Phase::kActive && !automaton_.can_continue(state_)) {  // e.g. root ::= ""
    phase_ = Phase::kComplete;
    values_ = 1;
  }
  std::sort(stop_ids_.begin(), stop_ids_.end());
  stop_ids_.erase(std::unique(stop_ids_.begin(), stop_ids_.end()), stop_ids_.end());
  failure_.assign(trigger_.size(), 0);
  for (size_t i = 1, k = 0; i < trigger_.size(); ++i) {
    while (k > 0 && trigger_[i] != trigger_[k]) k = failure_[k - 1];
    if (trigger_[i] == trigger_[k]) ++k;
    failure_[i] = static_cast<int32_t>(k);
  }
}

bool Constraint::apply(float* logits, int64_t width, int32_t tokens_left) {
  Timer timer{&cost_.mask_ns};
  ++cost_.tokens;
  if (phase_ == Phase::kWaiting) {
    for (int32_t t : trigger_bans(matched_))
      if (t < width) logits[t] = kMasked;
    return true;
  }
  if (phase_ == Phase::kComplete) return false;

  const TokenMask* mask = &automaton_.mask(state_, *vocab_);
  // The token budget: while one token per byte still needed fits, allow only tokens after which
  // it still does; past that point, only tokens on a shortest way to a complete value.
  const int32_t needed = mask->needed;
  const int32_t after = tokens_left - 1;  // tokens left once this one is drawn
  if (needed > tokens_left) {
    automaton_.shortest_way_tokens(state_, *vocab_, &scratch_);
    mask = &scratch_;
  } else if (after < needed) {
    scratch_.bits.assign(mask->bits.size(), 0);
    for (int32_t t : mask->shorter) scratch_.set(t);
    mask = &scratch_;
  } else if (!mask->longer.empty() && mask->longer.front().first > after) {
    scratch_.bits = mask->bits;
    for (const auto& [rest, t] : mask->longer) {
      if (rest <= after) break;
      scratch_.clear(t);
    }
    mask = &scratch_;
  }
  const bool stop_allowed = automaton_.accepting(state_);
  std::vector<std::pair<int32_t, float>> stops;
  if (stop_allowed)
    for (int32_t id : stop_ids_)
      if (id >= 0 && id < width) stops.push_back({id, logits[id]});

  int64_t allowed = 0;
  const int64_t covered = std::min<int64_t>(width, vocab_->size());
  for (int64_t w = 0; w * 64 < covered; ++w) {
    const uint64_t bits = mask->bits[w];
    allowed += std::popcount(bits);
    if (bits == ~uint64_t{0}) continue;
    const int64_t end = std::min<int64_t>(covered, (w + 1) * 64);
    for (int64_t t = w * 64; t < end; ++t)
      if (!((bits >> (t & 63)) & 1)) logits[t] = kMasked;
  }
  for (int64_t t = covered; t < width; ++t) logits[t] = kMasked;  // ids the tokenizer does not have
  for (int32_t id : stop_ids_) {
    if (id < 0 || id >= width) continue;
    if (id < covered && mask->test(id)) --allowed;
    logits[id] = kMasked;  // a stop id ends only a complete value
  }
  for (const auto& [id, value] : stops) logits[id] = value;
  return allowed > 0 || !stops.empty();
}

bool Constraint::accept(int32_t token) {
  Timer timer{&cost_.advance_ns};
  if (token < 0 || token >= vocab_->size()) return phase_ == Phase::kWaiting;
  if (phase_ == Phase::kWaiting) {
    advance_trigger(token);
    return true;
  }
  if (phase_ == Phase::kComplete || vocab_->special(token)) return false;
  const std::string_view b = vocab_->bytes(token);
  const int32_t next = automaton_.step_bytes(state_, b.data(), b.size());
  if (next == Automaton::kReject) return false;
  state_ = next;
  output_.append(b);
  if (!automaton_.can_continue(state_)) value_done();
  return true;
}

void Constraint::value_done() {
  ++values_;
  if (!rearm_) {
    phase_ = Phase::kComplete;
    return;
  }
  phase_ = Phase::kWaiting;
  matched_ = 0;
}

void Constraint::advance_trigger(int32_t token) {
  const std::string_view b = vocab_->bytes(token);
  for (size_t i = 0; i < b.size(); ++i) {
    int32_t k = matched_;
    while (k > 0 && b[i] != trigger_[k]) k = failure_[k - 1];
    if (b[i] == trigger_[k]) ++k;
    matched_ = k;
    if (matched_ == static_cast<int32_t>(trigger_.size())) {
      activate(b.data() + i + 1, b.size() - i - 1);
      return;
    }
  }
}

void Constraint::activate(const char* rest, size_t n) {
  phase_ = Phase::kActive;
  state_ = automaton_.initial();
  if (!automaton_.can_continue(state_)) {  // e.g. root ::= "": the trigger alone is the value
    value_done();
    return;
  }
  if (n == 0) return;
  const int32_t next = automaton_.step_bytes(state_, rest, n);
  if (next == Automaton::kReject) return;  // not reached: such tokens are banned while waiting
  state_ = next;
  output_.append(rest, n);
  if (!automaton_.can_continue(state_)) value_done();
}

const std::vector<int32_t>& Constraint::trigger_bans(int32_t matched) {
  auto it = bans_.find(matched);
  if (it != bans_.end()) return it->second;
  std::vector<int32_t> banned;
  const int32_t L = static_cast<int32_t>(trigger_.size());
  for (int32_t t = 0; t < vocab_->size(); ++t) {
    const std::string_view b = vocab_->bytes(t);
    int32_t k = matched;
    for (size_t i = 0; i < b.size(); ++i) {
      while (k > 0 && b[i] != trigger_[k]) k = failure_[k - 1];
      if (b[i] == trigger_[k]) ++k;
      if (k == L) {
        // Completes the trigger: whatever follows in the token must suit the grammar.
        if (i + 1 < b.size() && (vocab_->special(t) || automaton_.step_bytes(automaton_.initial(), b.data() + i + 1,
                                                                             b.size() - i - 1) == Automaton::kReject))
          banned.push_back(t);
        break;
      }
    }
  }
  return bans_.emplace(matched, std::move(banned)).first->second;
}

}  // namespace wenxin::runtime::grammar
