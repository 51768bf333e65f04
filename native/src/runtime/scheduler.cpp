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

size_t index_in(const std::vector<std::unique_ptr<Sequence>>& list, const Sequence* s) {
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i].get() == s) return i;
  return list.size();
}

bool is_planned(const std::vector<StepWork>& work, const Sequence* s) {
  for (const StepWork& w : work)
    if (w.sequence == s) return true;
  return false;
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
    if (auto s = take_first(paused_, match)) waiting_.push_back(std::move(s));
    return;
  }
  std::unique_ptr<Sequence> s = take_first(running_, match);
  if (!s) s = take_first(waiting_, match);
  if (!s) return;  // finished, unknown, or already paused
  s->cache->clear();
  s->background = true;
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

bool Scheduler::preempt_background(const Sequence* keep, const std::vector<StepWork>& planned) {
  for (size_t i = running_.size(); i-- > 0;) {
    const Sequence* s = running_[i].get();
    if (!s->background || s == keep || is_planned(planned, s)) continue;
    preempt(i);
    return true;
  }
  return false;
}

bool Scheduler::admit(size_t index) {
  Sequence& s = *waiting_[index];
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
  running_.push_back(std::move(waiting_[index]));
  waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(index));
  return true;
}

std::vector<StepWork> Scheduler::plan(std::vector<std::pair<std::unique_ptr<Sequence>, Status>>* failed) {
  std::vector<StepWork> work;
  int64_t budget = std::max<int64_t>(1, options_.max_batch_tokens);

  // 1. One token for each decoding sequence (background ones in step 4), growing its cache; when
  //    out of blocks, a background sequence gives way first, else the newest running one.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence* s = running_[i].get();
    if (s->background || s->pending() != 1) {
      ++i;
      continue;
    }
    Status st = s->cache->reserve(s->cache->length() + 1);
    bool preempted_self = false;
    while (!st.is_ok()) {
      if (preempt_background(s, work)) {
        i = index_in(running_, s);
        st = s->cache->reserve(s->cache->length() + 1);
        continue;
      }
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

  // 2. Admit waiting sequences in arrival order while their whole input fits: every other one
  //    before any background one. One that does not fit has running background sequences give
  //    way (newest first); when none is left, nothing after it is admitted.
  for (const bool background : {false, true}) {
    bool blocked = false;
    for (size_t w = 0; w < waiting_.size() && !blocked;) {
      if (waiting_[w]->background != background) {
        ++w;
        continue;
      }
      if (static_cast<int64_t>(running_.size()) < options_.max_sequences && admit(w)) continue;
      if (!background && preempt_background(nullptr, work)) {
        ++w;  // the preempted sequence went to the head of the queue, ahead of this one
        continue;
      }
      blocked = true;
    }
    if (blocked) break;
  }

  // 3. Prompt chunks within the budget, in admission order: first the prompts of new requests
  //    (sequences that have not produced a token yet) short enough to finish in a quarter of the
  //    budget, then other new prompts, then the rest (recomputes after a preemption, embedding
  //    inputs). A step that computes such a short prompt, or decodes, gives everything else at
  //    most a quarter of the budget: a short request's first token and the decoding sequences'
  //    next ones do not wait for long prompts' full chunks (a step's time grows with its tokens).
  const bool decoding = !work.empty();
  const int64_t quarter = std::max<int64_t>(1, options_.max_batch_tokens / 4);
  auto fresh = [](const Sequence* s) { return s->generated == 0 && !s->embedding(); };
  auto rank = [&](const Sequence* s) { return fresh(s) ? (s->pending() <= quarter ? 0 : 1) : 2; };
  std::vector<Sequence*> prompts;
  for (auto& sp : running_)
    if (!sp->background && sp->pending() >= 1 && !is_planned(work, sp.get())) prompts.push_back(sp.get());
  std::stable_sort(prompts.begin(), prompts.end(),
                   [&](const Sequence* a, const Sequence* b) { return rank(a) < rank(b); });
  bool first_tokens = false;
  int64_t rest = -1;  // the budget left for prompts other than short new ones; -1 until known
  for (Sequence* s : prompts) {
    if (budget <= 0) break;
    const bool short_new = rank(s) == 0;
    if (!short_new && rest < 0) rest = first_tokens || decoding ? std::min(budget, quarter) : budget;
    const int64_t chunk = std::min(s->pending(), short_new ? budget : std::min(budget, rest));
    if (chunk <= 0) break;
    work.push_back({s, chunk});
    budget -= chunk;
    if (!short_new) rest -= chunk;
    first_tokens = first_tokens || fresh(s);
  }

  // 4. Background work, in steps that compute no new request's prompt.
  if (!first_tokens) plan_background(&budget, &work, failed);
  return work;
}

void Scheduler::plan_background(int64_t* budget, std::vector<StepWork>* work,
                                std::vector<std::pair<std::unique_ptr<Sequence>, Status>>* failed) {
  std::vector<Sequence*> candidates;
  for (auto& sp : running_)
    if (sp->background && sp->pending() >= 1) candidates.push_back(sp.get());
  if (candidates.empty()) return;
  int64_t tokens = std::min(*budget, std::max<int64_t>(1, options_.max_batch_tokens / 4));
  int64_t taken = 0;
  const size_t first = static_cast<size_t>(background_turn_ % candidates.size());
  for (size_t k = 0; k < candidates.size() && taken < kBackgroundPerStep && tokens > 0; ++k) {
    Sequence* s = candidates[(first + k) % candidates.size()];
    if (index_in(running_, s) == running_.size()) continue;  // gave way to another one below
    const int64_t pending = s->pending();
    if (pending == 1) {
      Status st = s->cache->reserve(s->cache->length() + 1);
      while (!st.is_ok() && preempt_background(s, *work)) st = s->cache->reserve(s->cache->length() + 1);
      if (!st.is_ok()) {
        const size_t i = index_in(running_, s);
        if (running_.size() > 1) {  // others hold the blocks: wait for them
          preempt(i);
        } else {  // alone and still out of room: it can never finish
          auto self = std::move(running_[i]);
          running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
          self->cache->clear();
          failed->emplace_back(std::move(self), st);
        }
        continue;
      }
    }
    const int64_t chunk = std::min(pending, tokens);
    work->push_back({s, chunk});
    tokens -= chunk;
    *budget -= chunk;
    ++taken;
  }
  background_turn_ += static_cast<uint64_t>(taken);
}

}  // namespace wenxin::runtime
