// wenxin/grammar.h over the grammar layer.
#include "runtime/grammar/automaton.h"
#include "runtime/grammar/grammar.h"
#include "runtime/grammar/vocabulary.h"
#include "wenxin/grammar.h"

namespace wenxin {

Status decode_grammar(const int32_t* rules, size_t rule_words, const uint32_t* sets, size_t set_words,
                      std::shared_ptr<const Grammar>* out) {
  return Grammar::decode(rules, rule_words, sets, set_words, out);
}

Status create_vocabulary(const uint8_t* bytes, size_t byte_count, const int32_t* offsets, size_t token_count,
                         const uint8_t* special, int64_t model_vocab, std::shared_ptr<const Vocabulary>* out) {
  return Vocabulary::create(bytes, byte_count, offsets, token_count, special, model_vocab, out);
}

GrammarMatch match_grammar(std::shared_ptr<const Grammar> grammar, const uint8_t* input, size_t n) {
  runtime::grammar::Automaton automaton(std::move(grammar));
  int32_t state = automaton.initial();
  GrammarMatch m;
  for (; m.consumed < n; ++m.consumed) {
    const int32_t next = automaton.step(state, input[m.consumed]);
    if (next == runtime::grammar::Automaton::kReject) break;
    state = next;
  }
  m.accepting = automaton.accepting(state);
  m.can_continue = automaton.can_continue(state);
  m.min_completion = automaton.min_completion(state);
  return m;
}

}  // namespace wenxin
