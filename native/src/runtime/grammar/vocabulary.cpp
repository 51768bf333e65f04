#include "runtime/grammar/vocabulary.h"

#include <algorithm>
#include <numeric>
#include <string>

namespace wenxin::runtime::grammar {

Status Vocabulary::create(const uint8_t* bytes, size_t byte_count, const int32_t* offsets, size_t token_count,
                          const uint8_t* special, int64_t model_vocab, std::shared_ptr<const Vocabulary>* out) {
  auto bad = [](const std::string& m) { return Status(ErrorCode::kInvalidArgument, "invalid vocabulary: " + m); };
  if (token_count == 0) return bad("it has no tokens");
  if (offsets[0] != 0 || static_cast<size_t>(offsets[token_count]) != byte_count)
    return bad("the offsets do not span the bytes");
  for (size_t i = 0; i < token_count; ++i)
    if (offsets[i + 1] < offsets[i]) return bad("the offsets decrease at token " + std::to_string(i));
  auto v = std::shared_ptr<Vocabulary>(new Vocabulary());
  v->bytes_.assign(bytes, bytes + byte_count);
  v->offsets_.assign(offsets, offsets + token_count + 1);
  v->special_.assign(special, special + token_count);

  // Tokens that can be grammar text, sorted by their bytes: a sorted list is a trie in depth-first order.
  const int32_t limit = static_cast<int32_t>(std::min<int64_t>(static_cast<int64_t>(token_count), model_vocab));
  std::vector<int32_t> order;
  for (int32_t t = 0; t < limit; ++t)
    if (!v->special_[t] && v->offsets_[t + 1] > v->offsets_[t]) order.push_back(t);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return v->bytes(a) < v->bytes(b); });

  Trie& trie = v->trie_;
  trie.byte.push_back(0);
  trie.depth.push_back(0);
  trie.subtree_end.push_back(0);
  trie.token_begin.push_back(0);
  std::vector<int32_t> path = {0};  // node at each depth along the current string
  std::string_view prev;
  for (int32_t t : order) {
    const std::string_view s = v->bytes(t);
    if (s.size() > 0xffff) return bad("token " + std::to_string(t) + " is longer than 65535 bytes");
    size_t common = 0;
    while (common < s.size() && common < prev.size() && s[common] == prev[common]) ++common;
    // Close the nodes below the common prefix, then open one node per new byte.
    for (size_t d = path.size() - 1; d > common; --d) trie.subtree_end[path[d]] = trie.node_count();
    path.resize(common + 1);
    for (size_t d = common; d < s.size(); ++d) {
      path.push_back(trie.node_count());
      trie.byte.push_back(static_cast<uint8_t>(s[d]));
      trie.depth.push_back(static_cast<uint16_t>(d + 1));
      trie.subtree_end.push_back(0);
      trie.token_begin.push_back(static_cast<int32_t>(trie.tokens.size()));
      trie.max_depth = std::max(trie.max_depth, static_cast<int32_t>(d + 1));
    }
    trie.tokens.push_back(t);  // ends at the newest node (the same node for equal byte strings)
    prev = s;
  }
  for (int32_t node : path) trie.subtree_end[node] = trie.node_count();
  trie.token_begin.push_back(static_cast<int32_t>(trie.tokens.size()));
  *out = std::move(v);
  return Status::ok();
}

}  // namespace wenxin::runtime::grammar
