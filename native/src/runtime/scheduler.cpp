#include "runtime/scheduler.h"

#include <algorithm>

namespace wenxin::runtime {

namespace {

// Moves the first sequence matching `pred` out of `list`, or returns null.
template <typename List, typename Pred>
std::unique_ptr<Sequence> take_first(List& list, Pred pred) {
  for (auto it = list.begin(); it != list.end(); ++it)
    if (pred(**it)) {
      auto s = std::move(*it);
      list.erase(it);
      return s;
    }
  return nullptr;
}

}  // namespace

std::unique_ptr<Sequence> Scheduler::remove(uint64_t id) {
  auto match = [id](const Sequence& s) { return s.request.id == id; };
  if (auto s = take_first(waiting_, match)) return s;
  if (auto s = take_first(running_, match)) return s;
  return take_first(paused_, match);
}

std::unique_ptr<Sequence> Scheduler::remove(const Sequence* sequence) {
  auto match = [sequence](const Sequence& s) { return &s == sequence; };
  if (auto s = take_first(running_, match)) return s;
  if (auto s = take_first(waiting_, match)) return s;
  return take_first(paused_, match);
}

void Scheduler::set_paused(uint64_t id, bool paused) {
  auto match = [id](const Sequence& s) { return s.request.id == id && !s.embedding(); };
  if (!paused) {
    if (auto s = take_first(paused_, match)) waiting_.push_front(std::move(s));
    return;
  }
  std::unique_ptr<Sequence> s = take_first(running_, match);
  if (!s) s = take_first(waiting_, match);
  if (!s) return;  // finished, unknown, or already paused
  s->cache->clear();
  paused_.push_back(std::move(s));
}

std::vector<std::unique_ptr<Sequence>> Scheduler::remove_all(uint64_t id) {
  std::vector<std::unique_ptr<Sequence>> out;
  while (auto s = remove(id)) out.push_back(std::move(s));
  return out;
}

std::vector<std::unique_ptr<Sequence>> Scheduler::drain() {
  std::vector<std::unique_ptr<Sequence>> all;
  for (auto* list : {&running_, &paused_})
    for (auto& s : *list) all.push_back(std::move(s));
  for (auto& s : waiting_) all.push_back(std::move(s));
  running_.clear();
  paused_.clear();
  waiting_.clear();
  return all;
}

void Scheduler::preempt(size_t index) {
  auto s = std::move(running_[index]);
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(index));
  s->cache->clear();
  ++preemptions_;
  waiting_.push_front(std::move(s));
}

bool Scheduler::admit_head() {
  Sequence& s = *waiting_.front();
  const int64_t bt = pool_->shape().block_tokens;
  const int64_t total = static_cast<int64_t>(s.tokens.size());
  if (s.cache->blocks() == 0 && !s.embedding())
    prefix_hit_tokens_ += s.cache->attach_prefix(s.tokens.data(), total, s.request.adapter);
  // Keep one block of headroom per running sequence so admissions do not force preemptions at once.
  const int64_t need = (total + bt - 1) / bt - s.cache->blocks();
  const int64_t headroom = static_cast<int64_t>(running_.size());
  if (need + headroom > pool_->available_blocks() && !running_.empty()) {
    s.cache->clear();
    return false;
  }
  if (!s.cache->reserve(total).is_ok()) {
    s.cache->clear();
    return false;
  }
  running_.push_back(std::move(waiting_.front()));
  waiting_.pop_front();
  return true;
}

std::vector<StepWork> Scheduler::plan(std::vector<std::pair<std::unique_ptr<Sequence>, Status>>* failed) {
  std::vector<StepWork> work;
  int64_t budget = std::max<int64_t>(1, options_.max_batch_tokens);

  // 1. One token for each decoding sequence, growing its cache; preempt the newest when out of blocks.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence* s = running_[i].get();
    if (s->pending() != 1) {
      ++i;
      continue;
    }
    Status st = s->cache->reserve(s->cache->length() + 1);
    bool preempted_self = false;
    while (!st.is_ok()) {
      // The newest running sequence that is not already part of this step gives way.
      // (Sequences after i are not yet in this step's work.)
      if (running_.size() - 1 == i) {
        if (i > 0 || running_.size() > 1) {  // others hold the blocks: wait for them
          preempt(i);
          preempted_self = true;
        } else {  // alone and still out of room: it can never finish
          auto self = std::move(running_[i]);
          running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
          self->cache->clear();
          failed->emplace_back(std::move(self), st);
          preempted_self = true;
        }
        break;
      }
      preempt(running_.size() - 1);
      st = s->cache->reserve(s->cache->length() + 1);
    }
    if (preempted_self) continue;
    work.push_back({s, 1});
    --budget;
    ++i;
  }

  // 2. Admit waiting sequences in arrival order while their whole input fits.
  while (!waiting_.empty() && static_cast<int64_t>(running_.size()) < options_.max_sequences && admit_head()) {}

  // 3. Prompt chunks (and first tokens of new sequences) in admission order, within the budget.
  for (auto& sp : running_) {
    if (budget <= 0) break;
    Sequence* s = sp.get();
    const int64_t pending = s->pending();
    if (pending < 1) continue;
    bool planned = false;
    for (const StepWork& w : work) planned = planned || w.sequence == s;
    if (planned) continue;
    const int64_t chunk = std::min(pending, budget);
    work.push_back({s, chunk});
    budget -= chunk;
  }
  return work;
}

}  // namespace wenxin::runtime
