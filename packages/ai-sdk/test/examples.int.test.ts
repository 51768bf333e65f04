// The AI SDK example runs from a fresh clone on the bundled tiny model (it uses the built
// packages, as a user would).
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../examples");

describe("examples", () => {
  it("ai-sdk-agent: the forced first call runs its tool, the agent goes on, and the record validates", async () => {
    const { stdout } = await run(process.execPath, [path.join(examples, "ai-sdk-agent", "index.mjs")], {
      cwd: path.join(examples, "ai-sdk-agent"),
      env: { ...process.env, AI_SDK_LOG_WARNINGS: "false" },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/Assistant → get_weather\(\{"city":".*"\}\) {2}\[call_[0-9a-f]{24}\]/);
    expect(stdout).toMatch(/Tool get_weather: It is 23°C and sunny in /);
    expect(stdout).toMatch(/\(\d+ prompt \+ \d+ generated tokens, tool-calls, first token after [\d.]+ ms\)/);
    expect(stdout).toMatch(/^[23] steps\.$/m);
    const record = JSON.parse(stdout.match(/Weather record: (.*)$/m)![1]!);
    expect(Object.keys(record)).toEqual(["city", "temperatureC", "conditions"]);
    expect(["sunny", "cloudy", "rain", "snow"]).toContain(record.conditions);
    expect(Number.isInteger(record.temperatureC)).toBe(true);
  });
});
