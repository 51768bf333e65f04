// Scheduler::plan's step composition, checked step by step without a model: each planned chunk is
// committed to a real KV pool and a sequence whose input is all computed "samples" one token, as
// Engine::step does. What it shows: a new request's prompt is computed before any recompute (a
// short one also before long new prompts, which then take a quarter of the budget), and
// in a step of its own as far as background work goes (sequences once paused because their
// consumer fell behind); a step holds at most Scheduler::kBackgroundPerStep background sequences
// and a quarter of the token budget for them, in turn; background sequences are admitted after,
// and preempted before, every other one; and alone they still progress. Run by
// test/native/scheduler.int.test.ts.
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kv_cache/block_pool.h"
#include "runtime/scheduler.h"

namespace {

using wenxin::GenerateRequest;
using wenxin::Status;
using wenxin::kv::KvBlockPool;
using wenxin::kv::KvCacheShape;
using wenxin::runtime::Scheduler;
using wenxin::runtime::SchedulerOptions;
using wenxin::runtime::Sequence;
using wenxin::runtime::StepWork;

int failures = 0;
int checks = 0;

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

KvCacheShape tiny_shape() {
  KvCacheShape shape;
  shape.layers = 1;
  shape.kv_heads = 1;
  shape.head_dim = 4;
  shape.block_tokens = 16;
  return shape;
}

// A generation request `id` with a prompt of `prompt` tokens no other request shares.
std::unique_ptr<Sequence> sequence(uint64_t id, int64_t prompt, KvBlockPool* pool, int32_t max_new = 1000) {
  GenerateRequest r;
  r.id = id;
  for (int64_t i = 0; i < prompt; ++i) r.prompt.push_back(static_cast<int32_t>(id * 10000 + i));
  r.max_new_tokens = max_new;
  r.sampling.greedy = true;
  return std::make_unique<Sequence>(std::move(r), pool);
}

struct Harness {
  KvBlockPool pool;
  Scheduler scheduler;
  std::vector<Sequence*> all;

  Harness(int64_t kv_tokens, int64_t max_batch_tokens, int64_t max_sequences = 64)
      : pool(tiny_shape(), kv_tokens, /*prefix_caching=*/true),
        scheduler(SchedulerOptions{max_sequences, max_batch_tokens}, &pool) {}

  Sequence* add(uint64_t id, int64_t prompt) {
    auto s = sequence(id, prompt, &pool);
    Sequence* p = s.get();
    scheduler.enqueue(std::move(s));
    all.push_back(p);
    return p;
  }

  // Plans one step and carries it out as Engine::step would (without a model).
  std::vector<StepWork> step() {
    std::vector<std::pair<std::unique_ptr<Sequence>, Status>> failed;
    std::vector<StepWork> work = scheduler.plan(&failed);
    check(failed.empty(), "no sequence fails");
    for (const StepWork& w : work) {
      Sequence* s = w.sequence;
      s->cache->commit(s->tokens.data(), s->cache->length() + w.count, s->request.adapter);
      if (s->pending() == 0) {
        s->tokens.push_back(static_cast<int32_t>(500000 + s->generated));
        ++s->generated;
      }
    }
    return work;
  }

  // Runs steps until `s` has generated `tokens` tokens.
  void run_until(Sequence* s, int32_t tokens) {
    for (int i = 0; i < 10000 && s->generated < tokens; ++i) step();
    check(s->generated >= tokens, "the sequence reaches " + std::to_string(tokens) + " tokens");
  }

  // Pauses request `id` (its consumer fell behind) and resumes it at once: it is background work now.
  void lag(uint64_t id) {
    scheduler.set_paused(id, true);
    scheduler.set_paused(id, false);
  }
};

const StepWork* find(const std::vector<StepWork>& work, const Sequence* s) {
  for (const StepWork& w : work)
    if (w.sequence == s) return &w;
  return nullptr;
}

int64_t background_in(const std::vector<StepWork>& work, int64_t* tokens) {
  int64_t n = 0;
  *tokens = 0;
  for (const StepWork& w : work)
    if (w.sequence->background) {
      ++n;
      *tokens += w.count;
    }
  return n;
}

// A resumed request recomputing its cache does not take a new request's prompt budget, and no
// background work shares the step that computes the new request's first token.
void first_token_before_recompute() {
  Harness h(/*kv_tokens=*/8192, /*max_batch_tokens=*/64);
  std::vector<Sequence*> lagging;
  for (uint64_t id = 1; id <= 4; ++id) lagging.push_back(h.add(id, 40));
  for (Sequence* s : lagging) h.run_until(s, 60);
  for (Sequence* s : lagging) {
    h.lag(s->request.id);
    check(s->background && s->cache->length() == 0, "a paused sequence is background work and lost its blocks");
  }
  Sequence* fresh = h.add(10, 30);
  std::vector<StepWork> work = h.step();
  const StepWork* w = find(work, fresh);
  check(w != nullptr && w->count == 30, "the new request's whole prompt is in the first step");
  check(fresh->generated == 1, "the new request has its first token after one step");
  int64_t bg_tokens = 0;
  check(background_in(work, &bg_tokens) == 0, "no background work shares the step of a first token");

  // The next steps: the new request decodes in each, background recomputes take the rest, bounded.
  bool recomputed = false;
  for (int i = 0; i < 200 && fresh->generated < 100; ++i) {
    work = h.step();
    check(find(work, fresh) != nullptr, "the new request decodes in every step");
    const int64_t n = background_in(work, &bg_tokens);
    check(n <= Scheduler::kBackgroundPerStep, "at most kBackgroundPerStep background sequences per step");
    check(bg_tokens <= 64 / 4, "background work takes at most a quarter of the token budget");
    recomputed = recomputed || n > 0;
  }
  check(recomputed, "background sequences still recompute beside a decoding request");
}

// Sixteen background decoders and a foreground one: each step computes four of them, in turn, so
// all sixteen advance within four steps.
void background_in_turn() {
  Harness h(/*kv_tokens=*/16384, /*max_batch_tokens=*/512);
  std::vector<Sequence*> lagging;
  for (uint64_t id = 1; id <= 16; ++id) lagging.push_back(h.add(id, 20));
  h.run_until(lagging[0], 5);
  for (Sequence* s : lagging) h.lag(s->request.id);
  // Background alone (nothing else to compute) still progresses, four at a time.
  for (int i = 0; i < 400; ++i) {
    bool recomputing = false;
    for (Sequence* s : lagging) recomputing = recomputing || s->pending() != 1;
    if (!recomputing) break;
    std::vector<StepWork> work = h.step();
    check(!work.empty(), "background work runs when nothing else does");
  }
  for (Sequence* s : lagging) check(s->pending() == 1, "every background sequence recomputed its cache");
  Sequence* normal = h.add(40, 10);
  h.step();  // its prompt
  std::vector<int32_t> before;
  for (Sequence* s : lagging) before.push_back(s->generated);
  for (int i = 0; i < 4; ++i) {
    std::vector<StepWork> work = h.step();
    int64_t tokens = 0;
    check(background_in(work, &tokens) == Scheduler::kBackgroundPerStep, "four background decoders per step");
    check(find(work, normal) != nullptr, "the foreground request decodes in every step");
  }
  for (size_t k = 0; k < lagging.size(); ++k)
    check(lagging[k]->generated == before[k] + 1, "each background sequence advanced once in four steps");
}

// Waiting background sequences come after new ones, and give way to the others when the KV cache
// is short.
void admission_and_preemption() {
  {
    // 20 blocks of 16 tokens: room for two prompts of 100 tokens (7 blocks each) and headroom, not three.
    Harness h(/*kv_tokens=*/320, /*max_batch_tokens=*/512);
    Sequence* a = h.add(1, 100);
    h.add(2, 100);
    h.run_until(a, 4);
    h.lag(1);  // a waits as background work
    Sequence* c = h.add(3, 100);
    std::vector<StepWork> work = h.step();
    check(c->generated == 1, "a new request is admitted ahead of a resumed one that arrived first");
    check(find(work, a) == nullptr && a->cache->blocks() == 0, "the resumed one waits (no room for both)");
  }
  {
    Harness h(/*kv_tokens=*/320, /*max_batch_tokens=*/512);
    Sequence* a = h.add(1, 60);
    Sequence* b = h.add(2, 60);
    h.run_until(a, 4);
    h.lag(1);
    for (int i = 0; i < 20 && a->pending() != 1; ++i) h.step();
    check(a->pending() == 1 && a->cache->blocks() > 0, "alone with b, the resumed one is readmitted and decodes");
    Sequence* c = h.add(3, 100);
    int64_t b_len = b->cache->length(), c_len = 0;
    bool monotonic = true;
    for (int i = 0; i < 2000 && c->generated < 60; ++i) {
      h.step();
      monotonic = monotonic && b->cache->length() > b_len && c->cache->length() >= c_len;
      b_len = b->cache->length();
      c_len = c->cache->length();
    }
    check(c->generated >= 60, "the new request finishes its 60 tokens");
    check(monotonic, "the pool ran short, yet no foreground sequence lost its blocks or missed a step");
    check(h.scheduler.preemptions() > 0 && a->cache->blocks() == 0, "the background sequence gave way");
  }
}

// A long new prompt takes whole budgets alone; a short one arriving meanwhile is computed in the
// next step, which gives the long one a quarter of the budget, as do the steps in which the short
// one decodes; once it has finished, the long prompt takes whole budgets again.
void short_prompts_first() {
  Harness h(/*kv_tokens=*/16384, /*max_batch_tokens=*/512);
  Sequence* big = h.add(1, 3000);
  std::vector<StepWork> work = h.step();
  check(work.size() == 1 && work[0].count == 512, "a long prompt alone takes the whole budget");
  Sequence* small = h.add(2, 30);
  work = h.step();
  const StepWork* s = find(work, small);
  const StepWork* b = find(work, big);
  check(s != nullptr && s->count == 30 && small->generated == 1, "the short prompt is computed in the next step");
  check(b != nullptr && b->count == 512 / 4, "beside it the long prompt takes a quarter of the budget");
  for (int i = 0; i < 2; ++i) {
    work = h.step();
    s = find(work, small);
    b = find(work, big);
    check(s != nullptr && s->count == 1, "the short request decodes a token a step");
    check(b != nullptr && b->count == 512 / 4, "while it decodes, the long prompt takes a quarter of the budget");
  }
  check(small->generated == 3, "the short request has its 3 tokens");
  h.scheduler.remove(small);  // it ends there, as Engine::step removes a finished sequence
  work = h.step();
  check(work.size() == 1 && work[0].sequence == big && work[0].count == 512,
        "alone again, the long prompt takes the whole budget");
}

}  // namespace

int main() {
  first_token_before_recompute();
  background_in_turn();
  admission_and_preemption();
  short_prompts_first();
  std::printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
