// ChatTurnDecoder: generated ids → reply text, reasoning and tool calls, with stop strings cut on
// the model's own text (markup included), in bounded work per token.
import { describe, expect, it } from "vitest";

import { ChatTurnDecoder } from "../../src/chat/chat_turn_decoder.js";
import { toolCallPrefix } from "../../src/chat/tool_choice.js";
import type { ChatOutputEvent } from "../../src/chat/chat_types.js";
import { WenxinTokenizer } from "../../src/tokenizer/tokenizer.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

const tokenizer = await WenxinTokenizer.fromDirectory(DENSE_DIR);

/** Feeds `text`'s ids one at a time until the decoder says the turn is done. */
function run(text: string, options: ConstructorParameters<typeof ChatTurnDecoder>[1] = {}) {
  const turn = new ChatTurnDecoder(tokenizer, options);
  const events: ChatOutputEvent[] = [...turn.start()];
  let consumed = 0;
  for (const id of tokenizer.encode(text)) {
    if (turn.done) break;
    events.push(...turn.push([id]));
    consumed++;
  }
  events.push(...turn.end());
  return { turn, events, consumed, result: turn.result() };
}

const texts = (events: ChatOutputEvent[], type: "text" | "reasoning") =>
  events.map((e) => (e.type === type ? e.text : "")).join("");

describe("ChatTurnDecoder", () => {
  it("splits reasoning, reply and tool calls as they stream", () => {
    const { result, events } = run(
      '想一想\n</think>\n\n<tool_call>\n{"name": "查询", "arguments": {"城市": "北京"}}\n</tool_call><|end_of_sentence|>',
      { parser: { startInReasoning: true } },
    );
    expect(result).toMatchObject({ reasoning: "想一想", toolCalls: [{ name: "查询", arguments: { 城市: "北京" } }] });
    expect(texts(events, "reasoning")).toBe("想一想");
    expect(events.filter((e) => e.type === "tool_call_delta").length).toBeGreaterThan(2);
  });

  it("ends at a stop string written in markup, and shows no part of it", () => {
    const { turn, result, events, consumed } = run("Sure.<tool_call>\nmore text", { stop: ["<tool_call>"] });
    expect(turn.stoppedByString).toBe(true);
    expect(result.content).toBe("Sure.");
    expect(texts(events, "text")).toBe("Sure.");
    expect(consumed).toBeLessThan(tokenizer.encode("Sure.<tool_call>\nmore text").length);
  });

  it("releases a held-back partial stop string when the turn ends without it", () => {
    const { result } = run("The end is nigh", { stop: ["nighttime"] });
    expect(result.content).toBe("The end is nigh");
  });

  it("completes a forced call from its prefill", () => {
    const { turn, result } = run('{"city": "Rome"}}\n</tool_call> trailing', {
      prefill: toolCallPrefix("get_weather"),
      parser: { stopAfterFirstToolCall: true },
    });
    expect(turn.done).toBe(true);
    expect(result.toolCalls).toMatchObject([{ name: "get_weather", arguments: { city: "Rome" } }]);
  });

  it("does bounded work per token on a long reply, a long call and long stop strings", () => {
    // 20k tokens of reply, then a tool call with 20k tokens of arguments, with two long stop strings
    // that almost match: a rescan of the text per token would take minutes.
    const word = tokenizer.encode(" a")[0]!;
    const turn = new ChatTurnDecoder(tokenizer, { stop: [`${" a".repeat(500)}!`, `${" a".repeat(300)}?`] });
    const open = tokenizer.encode('<tool_call>\n{"name": "f", "arguments": {"x": "');
    const started = performance.now();
    let args = 0;
    for (let i = 0; i < 20_000; i++) turn.push([word]);
    turn.push(open);
    for (let i = 0; i < 20_000; i++)
      for (const e of turn.push([word])) if (e.type === "tool_call_delta") args += e.arguments.length;
    turn.push(tokenizer.encode('"}}\n</tool_call>'));
    turn.end();
    const ms = performance.now() - started;
    expect(turn.result().toolCalls[0]!.arguments.x).toBe(" a".repeat(20_000));
    expect(args).toBeGreaterThanOrEqual(39_000); // streamed (less the tail a stop string could start in)
    expect(ms).toBeLessThan(3000); // measured ≈ 500 ms
  });
});
