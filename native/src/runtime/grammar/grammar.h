// A context-free grammar over bytes, as compiled by packages/engine/src/generation/grammar/
// byte_grammar.ts: rules whose alternatives are sequences of byte sets and rule references.
// Decoding checks everything the matcher relies on (indices in range, no left recursion, a
// finite output possible), so a malformed grammar is refused instead of looping or crashing.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "wenxin/status.h"

namespace wenxin::runtime::grammar {

using ByteSet = std::array<uint64_t, 4>;

inline bool contains(const ByteSet& s, uint8_t b) { return (s[b >> 6] >> (b & 63)) & 1; }

class Grammar {
 public:
  enum class Kind : uint8_t { kBytes, kRule, kEnd };
  struct Elem {
    Kind kind;
    int32_t arg;  // kBytes: byte set index; kRule: rule index
  };

  // rules: [ruleCount, per rule: altCount, per alternative: elemCount, elems...] where an elem is
  // a rule index (>= 0) or -(byte set index + 1); sets: 8 little-endian uint32 words per set.
  static Status decode(const int32_t* rules, size_t rule_words, const uint32_t* sets, size_t set_words,
                       std::shared_ptr<const Grammar>* out);

  // Every alternative is laid out in `elems`, ending with a kEnd element; a position is an index.
  const Elem& elem(int32_t pos) const { return elems_[pos]; }
  const std::vector<int32_t>& alternatives(int32_t rule) const { return rule_alts_[rule]; }
  const ByteSet& set(int32_t index) const { return sets_[index]; }
  // The fewest bytes from `pos` to the end of its alternative.
  int32_t min_rest(int32_t pos) const { return min_rest_[pos]; }
  int32_t rule_count() const { return static_cast<int32_t>(rule_alts_.size()); }

  static constexpr int32_t kInfinite = 1 << 29;

 private:
  Status validate();

  std::vector<Elem> elems_;
  std::vector<std::vector<int32_t>> rule_alts_;
  std::vector<ByteSet> sets_;
  std::vector<int32_t> min_rest_;
};

}  // namespace wenxin::runtime::grammar
