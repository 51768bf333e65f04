// The LangChain examples run from a fresh clone on the bundled tiny model (they use the built
// packages, as a user would).
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../examples");

async function runExample(name: string): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(examples, name, "index.mjs")], {
    cwd: path.join(examples, name),
    timeout: 60_000,
  });
  return stdout;
}

describe("examples", () => {
  it("langchain-chat: streams, invokes with usage, and batches a prompt | model | parser chain", async () => {
    const out = await runExample("langchain-chat");
    expect(out).toMatch(/usage: \{"input_tokens":\d+,"output_tokens":48,"total_tokens":\d+\}/);
    expect(out).toContain("3 answers in");
  });

  it("agent-tools: the agent's forced first call runs the tool, then the model answers", async () => {
    const out = await runExample("agent-tools");
    expect(out).toMatch(/Assistant → get_current_time\(\{\}\) {2}\[call_[0-9a-f]{24}\]/);
    expect(out).toMatch(/Tool get_current_time: \d{4}-\d\d-\d\dT/);
  });

  it("rag: indexes passages with WenxinEmbeddings, retrieves two, and answers", async () => {
    const out = await runExample("rag");
    expect(out).toContain("Indexed 6 passages (128-dimensional unit vectors).");
    expect(out.match(/^ {2}-?\d\.\d{3} {2}/gm)).toHaveLength(2);
    expect(out).toContain("Answer: ");
  });
});
