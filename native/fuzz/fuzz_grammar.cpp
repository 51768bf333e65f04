// Fuzz target: the byte grammar the addon decodes from JS (Grammar::decode), then the matcher
// over it: stepping input bytes, token masks over a small vocabulary, and a Constraint driving
// apply/accept as the engine loop does. Layout of an input (all little-endian):
//   u8 R, then R rule words as int8 (small values reach valid indices), u8 S, then S byte sets of
//   32 bytes, u8 T, then T tokens as (u8 length, bytes), then the text to match.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "runtime/grammar/automaton.h"
#include "runtime/grammar/constraint.h"
#include "runtime/grammar/grammar.h"
#include "runtime/grammar/vocabulary.h"

namespace {

struct Reader {
  const uint8_t* p;
  size_t n;
  bool u8(uint8_t* v) {
    if (n == 0) return false;
    *v = *p++, --n;
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wenxin::runtime::grammar;
  Reader r{data, size};
  uint8_t count = 0;
  if (!r.u8(&count)) return 0;
  std::vector<int32_t> rules;
  for (uint8_t i = 0, v = 0; i < count && r.u8(&v); ++i) rules.push_back(static_cast<int8_t>(v));
  if (!r.u8(&count)) return 0;
  std::vector<uint32_t> sets;
  for (uint8_t i = 0; i < count && r.n >= 32; ++i) {
    for (int w = 0; w < 8; ++w) {
      uint32_t word;
      std::memcpy(&word, r.p + 4 * w, 4);
      sets.push_back(word);
    }
    r.p += 32, r.n -= 32;
  }
  std::shared_ptr<const Grammar> grammar;
  if (!Grammar::decode(rules.data(), rules.size(), sets.data(), sets.size(), &grammar).is_ok()) return 0;

  // A vocabulary: every single byte (byte fallback, as real vocabularies have) plus fuzzed tokens.
  std::vector<uint8_t> bytes;
  std::vector<int32_t> offsets{0};
  for (int b = 0; b < 256; ++b)
    bytes.push_back(static_cast<uint8_t>(b)), offsets.push_back(static_cast<int32_t>(bytes.size()));
  if (!r.u8(&count)) count = 0;
  for (uint8_t i = 0, len = 0; i < count && r.u8(&len) && len <= r.n; ++i) {
    bytes.insert(bytes.end(), r.p, r.p + len);
    r.p += len, r.n -= len;
    offsets.push_back(static_cast<int32_t>(bytes.size()));
  }
  const size_t tokens = offsets.size() - 1;
  std::vector<uint8_t> special(tokens, 0);
  std::shared_ptr<const Vocabulary> vocab;
  if (!Vocabulary::create(bytes.data(), bytes.size(), offsets.data(), tokens, special.data(),
                          static_cast<int64_t>(tokens), &vocab)
           .is_ok())
    return 0;

  Automaton automaton(grammar);
  int32_t state = automaton.initial();
  for (size_t i = 0; i < r.n && state != Automaton::kReject; ++i) {
    const int32_t next = automaton.step(state, r.p[i]);
    if (next == Automaton::kReject) break;
    state = next;
    if (automaton.min_completion(state) < 0) __builtin_trap();
  }
  const TokenMask& mask = automaton.mask(state, *vocab);
  TokenMask shortest;
  automaton.shortest_way_tokens(state, *vocab, &shortest);
  // Every allowed token must be accepted by the matcher.
  for (size_t t = 0; t < tokens; ++t)
    if (mask.test(static_cast<int32_t>(t))) {
      const std::string_view tb = vocab->bytes(static_cast<int32_t>(t));
      if (automaton.step_bytes(state, tb.data(), tb.size()) == Automaton::kReject) __builtin_trap();
    }

  // The engine loop: mask, pick the first allowed token, accept it; a few dozen steps.
  Constraint constraint(grammar, vocab, "", {static_cast<int32_t>(tokens)});
  std::vector<float> logits(tokens + 1, 0.0f);
  for (int step = 0; step < 32; ++step) {
    std::fill(logits.begin(), logits.end(), 0.0f);
    if (!constraint.apply(logits.data(), static_cast<int64_t>(logits.size()), 32 - step)) break;
    std::vector<int32_t> allowed;
    for (size_t t = 0; t < tokens; ++t)
      if (logits[t] > -1e30f) allowed.push_back(static_cast<int32_t>(t));
    if (allowed.empty()) break;  // only the stop id: the value is complete
    const int32_t pick = allowed[(static_cast<size_t>(step) * 7919u) % allowed.size()];
    if (!constraint.accept(pick)) __builtin_trap();  // an allowed token was rejected
  }
  return 0;
}
