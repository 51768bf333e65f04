#include "runtime/grammar/grammar.h"

#include <algorithm>
#include <string>

namespace wenxin::runtime::grammar {

namespace {

Status bad(const std::string& msg) { return Status(ErrorCode::kInvalidArgument, "invalid grammar: " + msg); }

int32_t add_sat(int32_t a, int32_t b) { return std::min(Grammar::kInfinite, a + b); }

}  // namespace

Status Grammar::decode(const int32_t* rules, size_t rule_words, const uint32_t* sets, size_t set_words,
                       std::shared_ptr<const Grammar>* out) {
  if (set_words % 8 != 0) return bad("the byte sets are not a multiple of 8 words");
  auto g = std::shared_ptr<Grammar>(new Grammar());
  const size_t set_count = set_words / 8;
  g->sets_.resize(set_count);
  for (size_t i = 0; i < set_count; ++i)
    for (int w = 0; w < 4; ++w)
      g->sets_[i][w] =
          static_cast<uint64_t>(sets[i * 8 + 2 * w]) | (static_cast<uint64_t>(sets[i * 8 + 2 * w + 1]) << 32);

  size_t at = 0;
  auto next = [&](int32_t* v) {
    if (at >= rule_words) return false;
    *v = rules[at++];
    return true;
  };
  int32_t rule_count = 0;
  if (!next(&rule_count) || rule_count < 1) return bad("it has no rules");
  if (static_cast<size_t>(rule_count) > rule_words) return bad("the rule count is larger than the data");
  g->rule_alts_.resize(rule_count);
  for (int32_t r = 0; r < rule_count; ++r) {
    int32_t alt_count = 0;
    if (!next(&alt_count) || alt_count < 0 || static_cast<size_t>(alt_count) > rule_words)
      return bad("rule " + std::to_string(r) + " is truncated");
    for (int32_t a = 0; a < alt_count; ++a) {
      int32_t n = 0;
      if (!next(&n) || n < 0 || static_cast<size_t>(n) > rule_words - at)
        return bad("rule " + std::to_string(r) + " is truncated");
      g->rule_alts_[r].push_back(static_cast<int32_t>(g->elems_.size()));
      for (int32_t i = 0; i < n; ++i) {
        const int32_t e = rules[at++];
        if (e >= 0) {
          if (e >= rule_count)
            return bad("rule " + std::to_string(r) + " refers to rule " + std::to_string(e) + ", which does not exist");
          g->elems_.push_back({Kind::kRule, e});
        } else {
          const int64_t s = -static_cast<int64_t>(e) - 1;
          if (s >= static_cast<int64_t>(set_count))
            return bad("rule " + std::to_string(r) + " uses a byte set that does not exist");
          g->elems_.push_back({Kind::kBytes, static_cast<int32_t>(s)});
        }
      }
      g->elems_.push_back({Kind::kEnd, r});
    }
  }
  if (at != rule_words) return bad("there is data after the last rule");
  WENXIN_RETURN_IF_ERROR(g->validate());
  *out = std::move(g);
  return Status::ok();
}

Status Grammar::validate() {
  const int32_t n = rule_count();
  // Shortest output of every rule, by fixpoint.
  std::vector<int32_t> min_len(n, kInfinite);
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t r = 0; r < n; ++r) {
      for (int32_t start : rule_alts_[r]) {
        int32_t len = 0;
        for (int32_t p = start; elems_[p].kind != Kind::kEnd; ++p)
          len = add_sat(len, elems_[p].kind == Kind::kBytes ? 1 : min_len[elems_[p].arg]);
        if (len < min_len[r]) {
          min_len[r] = len;
          changed = true;
        }
      }
    }
  }
  if (min_len[0] >= kInfinite) return bad("the start rule can never finish");
  min_rest_.assign(elems_.size(), 0);
  for (int32_t p = static_cast<int32_t>(elems_.size()) - 1; p >= 0; --p) {
    if (elems_[p].kind == Kind::kEnd) continue;
    const int32_t cost = elems_[p].kind == Kind::kBytes ? 1 : min_len[elems_[p].arg];
    min_rest_[p] = add_sat(cost, min_rest_[p + 1]);
  }

  // Left recursion: a rule reachable from itself through left corners (after nullable prefixes)
  // would make the matcher's expansion endless.
  std::vector<std::vector<int32_t>> corners(n);
  for (int32_t r = 0; r < n; ++r)
    for (int32_t start : rule_alts_[r])
      for (int32_t p = start; elems_[p].kind == Kind::kRule; ++p) {
        corners[r].push_back(elems_[p].arg);
        if (min_len[elems_[p].arg] != 0) break;
      }
  std::vector<uint8_t> state(n, 0);  // 0 new, 1 on the path, 2 done
  std::vector<std::pair<int32_t, size_t>> stack;
  for (int32_t root = 0; root < n; ++root) {
    if (state[root] != 0) continue;
    stack.push_back({root, 0});
    state[root] = 1;
    while (!stack.empty()) {
      auto& [r, i] = stack.back();
      if (i < corners[r].size()) {
        const int32_t c = corners[r][i++];
        if (state[c] == 1) return bad("rule " + std::to_string(c) + " is left-recursive");
        if (state[c] == 0) {
          state[c] = 1;
          stack.push_back({c, 0});
        }
      } else {
        state[r] = 2;
        stack.pop_back();
      }
    }
  }
  return Status::ok();
}

}  // namespace wenxin::runtime::grammar
