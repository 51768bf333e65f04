// Constrained decoding as the addon sees it: a compiled byte grammar (from
// packages/engine/src/generation/grammar/byte_grammar.ts), the vocabulary's byte strings it is
// matched against, and a matcher run over bytes for tests. The types stay opaque here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "wenxin/status.h"

namespace wenxin {

namespace runtime::grammar {
class Grammar;
class Vocabulary;
}  // namespace runtime::grammar
using Grammar = runtime::grammar::Grammar;
using Vocabulary = runtime::grammar::Vocabulary;

// rules: [ruleCount, per rule: altCount, per alternative: elemCount, elems...] where an elem is a
// rule index (>= 0) or -(byte set index + 1); sets: 8 little-endian uint32 words per set.
// A malformed grammar is refused with INVALID_ARGUMENT.
Status decode_grammar(const int32_t* rules, size_t rule_words, const uint32_t* sets, size_t set_words,
                      std::shared_ptr<const Grammar>* out);

// Token i is bytes[offsets[i] .. offsets[i+1]); special[i] != 0 marks tokens that never match
// grammar text. Tokens at or above `model_vocab` (the logits width) are left out.
Status create_vocabulary(const uint8_t* bytes, size_t byte_count, const int32_t* offsets, size_t token_count,
                         const uint8_t* special, int64_t model_vocab, std::shared_ptr<const Vocabulary>* out);

// How many bytes of `input` form a valid prefix, and the matcher's state after them.
struct GrammarMatch {
  size_t consumed = 0;
  bool accepting = false;
  bool can_continue = false;
  int32_t min_completion = 0;
};
GrammarMatch match_grammar(std::shared_ptr<const Grammar> grammar, const uint8_t* input, size_t n);

}  // namespace wenxin
