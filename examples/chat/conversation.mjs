// The demo's conversation, shared by index.mjs and the test that retrains its adapter: the
// questions, and how each reply is generated (sampled, seeded).
export const SYSTEM = "You are a helpful assistant.";
export const QUESTIONS = ["你好，介绍一下文心4.5", "What is a mixture-of-experts model?"];
export const GENERATION = { maxNewTokens: 48, temperature: 0.8, topP: 0.8, seed: 42 };

/**
 * Asks the questions in turn, each reply added to the history; `onEvent` sees every stream event.
 * Returns the replies' results.
 */
export async function converse(engine, { adapter, onEvent = () => {} } = {}) {
  const messages = [{ role: "system", content: SYSTEM }];
  const results = [];
  for (const question of QUESTIONS) {
    messages.push({ role: "user", content: question });
    let result;
    for await (const event of engine.generate({ messages, ...GENERATION, ...(adapter && { adapter }) })) {
      onEvent(question, event);
      if (event.type !== "token") result = event;
    }
    messages.push({ role: "assistant", content: result.text });
    results.push(result);
  }
  return results;
}
