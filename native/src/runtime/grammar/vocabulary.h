// The byte string of every token, and a trie over the tokens that can appear in constrained text,
// built once per engine. The trie is stored in depth-first order so that a walk is a linear scan
// that skips a whole subtree when the grammar rejects its first byte.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "wenxin/status.h"

namespace wenxin::runtime::grammar {

class Vocabulary {
 public:
  // bytes/offsets: token i is bytes[offsets[i] .. offsets[i+1]); special[i] != 0 marks tokens that
  // never match grammar text (their bytes are their written form, used to find a trigger).
  // Tokens at or above `model_vocab` (the logits width) are left out.
  static Status create(const uint8_t* bytes, size_t byte_count, const int32_t* offsets, size_t token_count,
                       const uint8_t* special, int64_t model_vocab, std::shared_ptr<const Vocabulary>* out);

  int32_t size() const { return static_cast<int32_t>(offsets_.size()) - 1; }
  std::string_view bytes(int32_t token) const {
    return {reinterpret_cast<const char*>(bytes_.data()) + offsets_[token],
            static_cast<size_t>(offsets_[token + 1] - offsets_[token])};
  }
  bool special(int32_t token) const { return special_[token] != 0; }

  // Trie nodes in depth-first order; node 0 is the root (the empty string).
  struct Trie {
    std::vector<uint8_t> byte;         // the byte on the edge into the node
    std::vector<uint16_t> depth;       // root 0
    std::vector<int32_t> subtree_end;  // one past the node's last descendant
    std::vector<int32_t> token_begin;  // tokens ending at node i: tokens[token_begin[i] .. token_begin[i+1])
    std::vector<int32_t> tokens;
    int32_t max_depth = 0;
    int32_t node_count() const { return static_cast<int32_t>(byte.size()); }
  };
  const Trie& trie() const { return trie_; }

 private:
  std::vector<uint8_t> bytes_;
  std::vector<int32_t> offsets_;
  std::vector<uint8_t> special_;
  Trie trie_;
};

}  // namespace wenxin::runtime::grammar
