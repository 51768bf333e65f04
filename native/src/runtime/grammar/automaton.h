// The grammar matcher: a pushdown recognizer over bytes whose configurations are sets of stacks.
// Stacks are hash-consed (a stack is a node: position + parent stack), configurations are interned
// into states, and transitions are cached per (state, byte), so matching the same grammar again
// costs a table lookup per byte. Masks over the vocabulary are computed by walking the token trie
// and cached per state.
//
// A stack's top is always a byte-set position; frames below are return positions. A rule call in
// tail position pushes no frame, so repetition (right recursion) runs in constant stack depth.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "runtime/grammar/grammar.h"
#include "runtime/grammar/vocabulary.h"

namespace wenxin::runtime::grammar {

// Allowed tokens as a bitset over token ids, with what the token budget needs to know: which
// allowed tokens leave more to write than the state itself needs, and which leave less.
struct TokenMask {
  std::vector<uint64_t> bits;
  int32_t needed = 0;                               // min_completion() of the state
  std::vector<std::pair<int32_t, int32_t>> longer;  // (min_completion after, token) when above `needed`, largest first
  std::vector<int32_t> shorter;                     // tokens after which less than `needed` remains
  bool test(int32_t t) const { return (bits[t >> 6] >> (t & 63)) & 1; }
  void set(int32_t t) { bits[t >> 6] |= uint64_t{1} << (t & 63); }
  void clear(int32_t t) { bits[t >> 6] &= ~(uint64_t{1} << (t & 63)); }
  size_t bytes() const { return bits.size() * 8 + longer.size() * 8 + shorter.size() * 4; }
};

class Automaton {
 public:
  static constexpr int32_t kReject = -1;

  explicit Automaton(std::shared_ptr<const Grammar> grammar);

  int32_t initial() const { return initial_; }
  // The state after `byte`, or kReject.
  int32_t step(int32_t state, uint8_t byte) {
    const int32_t* next = states_[state].next.get();
    if (next != nullptr && next[byte] != kUnknown) return next[byte];
    return step_slow(state, byte);
  }
  int32_t step_bytes(int32_t state, const char* bytes, size_t n);

  // The input so far is a complete output of the grammar.
  bool accepting(int32_t state) const { return states_[state].accepting; }
  // More bytes may follow.
  bool can_continue(int32_t state) const { return !states_[state].stacks.empty(); }
  // The fewest bytes that complete the output from here (0 when accepting).
  int32_t min_completion(int32_t state) const { return states_[state].min_completion; }

  // The tokens whose bytes keep the output a valid prefix from `state` (cached per state).
  const TokenMask& mask(int32_t state, const Vocabulary& vocab);
  // The tokens that lie on a shortest way from `state` to a complete output (not cached: used
  // only when the token budget is below the bytes still needed).
  void shortest_way_tokens(int32_t state, const Vocabulary& vocab, TokenMask* out);

  size_t state_count() const { return states_.size(); }
  // A step would have needed more than kMaxStacks parse stacks (a highly ambiguous grammar, whose
  // stack sets can grow exponentially with the input): that step was rejected instead.
  bool overflowed() const { return overflowed_; }
  static constexpr size_t kMaxStacks = 1024;

 private:
  static constexpr int32_t kUnknown = -2;
  struct Node {
    int32_t pos;
    int32_t parent;    // -1: the bottom
    int32_t min_rest;  // bytes this stack needs at least to finish
  };
  struct State {
    std::vector<int32_t> stacks;  // sorted node ids
    bool accepting = false;
    int32_t min_completion = Grammar::kInfinite;
    std::unique_ptr<int32_t[]> next;  // 256 transitions, allocated on first use
  };
  struct VecHash {
    size_t operator()(const std::vector<int32_t>& v) const;
  };

  int32_t node(int32_t pos, int32_t parent);
  // Adds every stack reachable from (pos, parent) without consuming a byte.
  void expand(int32_t pos, int32_t parent, std::vector<int32_t>* stacks, bool* accepting);
  int32_t intern(std::vector<int32_t>&& stacks, bool accepting);
  int32_t step_slow(int32_t state, uint8_t byte);
  void walk(int32_t state, const Vocabulary& vocab, bool shortest_only, TokenMask* out);
  void trim_caches();

  std::shared_ptr<const Grammar> grammar_;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, int32_t> node_index_;
  std::vector<State> states_;
  std::unordered_map<std::vector<int32_t>, int32_t, VecHash> state_index_;  // key: stacks + accepting flag
  std::unordered_map<int32_t, TokenMask> masks_;
  size_t mask_bytes_ = 0;
  int32_t initial_ = 0;
  bool overflowed_ = false;
  size_t transition_tables_ = 0;
  // Scratch for expand().
  std::vector<std::pair<int32_t, int32_t>> work_;
  std::unordered_map<uint64_t, bool> seen_;
};

}  // namespace wenxin::runtime::grammar
