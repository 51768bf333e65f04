#include "runtime/grammar/automaton.h"

#include <algorithm>
#include <functional>
#include <limits>

namespace wenxin::runtime::grammar {

namespace {

// Caps on cached data per matcher; past them the caches are dropped and rebuilt on demand.
constexpr size_t kMaxTransitionTables = 8192;  // 1 KiB each
constexpr size_t kMaxMaskBytes = 32u << 20;

}  // namespace

size_t Automaton::VecHash::operator()(const std::vector<int32_t>& v) const {
  uint64_t h = 1469598103934665603ull;
  for (int32_t x : v) h = (h ^ static_cast<uint32_t>(x)) * 1099511628211ull;
  return static_cast<size_t>(h ^ (h >> 29));
}

Automaton::Automaton(std::shared_ptr<const Grammar> grammar) : grammar_(std::move(grammar)) {
  std::vector<int32_t> stacks;
  bool accepting = false;
  seen_.clear();
  for (int32_t start : grammar_->alternatives(0)) expand(start, -1, &stacks, &accepting);
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  initial_ = intern(std::move(stacks), accepting);
}

int32_t Automaton::node(int32_t pos, int32_t parent) {
  const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(pos)) << 32) | static_cast<uint32_t>(parent + 1);
  auto [it, inserted] = node_index_.try_emplace(key, static_cast<int32_t>(nodes_.size()));
  if (inserted) {
    const int32_t below = parent >= 0 ? nodes_[parent].min_rest : 0;
    nodes_.push_back({pos, parent, std::min(Grammar::kInfinite, grammar_->min_rest(pos) + below)});
  }
  return it->second;
}

void Automaton::expand(int32_t pos, int32_t parent, std::vector<int32_t>* stacks, bool* accepting) {
  work_.clear();
  work_.push_back({pos, parent});
  while (!work_.empty()) {
    const auto [p, par] = work_.back();
    work_.pop_back();
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(p)) << 32) | static_cast<uint32_t>(par + 1);
    if (!seen_.try_emplace(key, true).second) continue;
    const Grammar::Elem& e = grammar_->elem(p);
    switch (e.kind) {
      case Grammar::Kind::kBytes: stacks->push_back(node(p, par)); break;
      case Grammar::Kind::kRule: {
        // A call in tail position returns straight to the caller's caller: no frame.
        const int32_t ret = grammar_->elem(p + 1).kind == Grammar::Kind::kEnd ? par : node(p + 1, par);
        for (int32_t start : grammar_->alternatives(e.arg)) work_.push_back({start, ret});
        break;
      }
      case Grammar::Kind::kEnd:
        if (par < 0)
          *accepting = true;
        else
          work_.push_back({nodes_[par].pos, nodes_[par].parent});
        break;
    }
  }
}

int32_t Automaton::intern(std::vector<int32_t>&& stacks, bool accepting) {
  stacks.push_back(accepting ? -1 : -2);  // the key includes the flag
  auto it = state_index_.find(stacks);
  if (it != state_index_.end()) return it->second;
  const int32_t id = static_cast<int32_t>(states_.size());
  state_index_.emplace(stacks, id);
  stacks.pop_back();
  State st;
  st.accepting = accepting;
  st.min_completion = accepting ? 0 : Grammar::kInfinite;
  for (int32_t n : stacks) st.min_completion = std::min(st.min_completion, nodes_[n].min_rest);
  st.stacks = std::move(stacks);
  states_.push_back(std::move(st));
  return id;
}

int32_t Automaton::step_slow(int32_t state, uint8_t byte) {
  std::vector<int32_t> out;
  bool accepting = false;
  seen_.clear();
  const std::vector<int32_t> stacks = states_[state].stacks;  // intern() may move states_
  for (int32_t n : stacks) {
    const Node nd = nodes_[n];
    if (contains(grammar_->set(grammar_->elem(nd.pos).arg), byte)) expand(nd.pos + 1, nd.parent, &out, &accepting);
    if (out.size() > kMaxStacks) break;
  }
  int32_t result = kReject;
  if (out.size() > kMaxStacks) {
    // Bounded work per byte: an untrusted grammar must not stall the engine thread.
    overflowed_ = true;
  } else if (!out.empty() || accepting) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    result = intern(std::move(out), accepting);
  }
  if (transition_tables_ >= kMaxTransitionTables) trim_caches();
  State& st = states_[state];
  if (!st.next) {
    st.next.reset(new int32_t[256]);
    std::fill(st.next.get(), st.next.get() + 256, kUnknown);
    ++transition_tables_;
  }
  st.next[byte] = result;
  return result;
}

int32_t Automaton::step_bytes(int32_t state, const char* bytes, size_t n) {
  for (size_t i = 0; i < n && state != kReject; ++i) state = step(state, static_cast<uint8_t>(bytes[i]));
  return state;
}

void Automaton::trim_caches() {
  for (State& s : states_) s.next.reset();
  transition_tables_ = 0;
}

void Automaton::walk(int32_t state, const Vocabulary& vocab, bool shortest_only, TokenMask* out) {
  const Vocabulary::Trie& trie = vocab.trie();
  out->bits.assign((static_cast<size_t>(vocab.size()) + 63) / 64, 0);
  out->longer.clear();
  out->shorter.clear();
  const int32_t needed = states_[state].min_completion;
  out->needed = needed;
  std::vector<int32_t> at_depth(trie.max_depth + 1);
  at_depth[0] = state;
  const int32_t count = trie.node_count();
  for (int32_t i = 1; i < count;) {
    const int32_t d = trie.depth[i];
    const int32_t next = step(at_depth[d - 1], trie.byte[i]);
    // Every byte lowers the bytes still needed by at most one, so once a prefix leaves the
    // shortest ways, so does everything below it.
    if (next == kReject || (shortest_only && states_[next].min_completion + d > needed)) {
      i = trie.subtree_end[i];  // no token below this prefix qualifies
      continue;
    }
    at_depth[d] = next;
    const int32_t after = states_[next].min_completion;
    for (int32_t k = trie.token_begin[i]; k < trie.token_begin[i + 1]; ++k) {
      const int32_t t = trie.tokens[k];
      out->set(t);
      if (after > needed)
        out->longer.push_back({after, t});
      else if (after < needed)
        out->shorter.push_back(t);
    }
    ++i;
  }
  std::sort(out->longer.begin(), out->longer.end(), std::greater<>());
}

const TokenMask& Automaton::mask(int32_t state, const Vocabulary& vocab) {
  auto it = masks_.find(state);
  if (it != masks_.end()) return it->second;
  if (mask_bytes_ > kMaxMaskBytes) {
    masks_.clear();
    mask_bytes_ = 0;
  }
  TokenMask m;
  walk(state, vocab, false, &m);
  mask_bytes_ += m.bytes();
  return masks_.emplace(state, std::move(m)).first->second;
}

void Automaton::shortest_way_tokens(int32_t state, const Vocabulary& vocab, TokenMask* out) {
  walk(state, vocab, true, out);
}

}  // namespace wenxin::runtime::grammar
