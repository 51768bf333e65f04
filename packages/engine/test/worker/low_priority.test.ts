// The nice value of the lanes that run clients' costliest work (worker/low_priority.ts): 19 unless
// changed, checked on entry, and read by each lane when it is made: a tokenizer's bulk worker is
// a child process at that value.
import { readdirSync, readFileSync } from "node:fs";

import { afterEach, describe, expect, it } from "vitest";

import { WenxinTokenizer } from "../../src/tokenizer/tokenizer.js";
import { LOW_PRIORITY_NICE, lowPriorityNice, setLowPriorityNice } from "../../src/worker/low_priority.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

/** The nice values of this process's children's threads (Linux: /proc/<pid>/task/<tid>/stat). */
function childNiceValues(): number[] {
  const nice: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // fields after the command's closing parenthesis: state ppid ... (nice is field 19 of stat)
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) === process.pid) nice.push(Number(fields[16]));
  }
  return nice;
}

async function bulkWorkerNice(): Promise<number[]> {
  const tok = await WenxinTokenizer.fromDirectory(DENSE_DIR);
  try {
    tok.startThread(); // its bulk lane's child process, reniced as soon as it is spawned
    return childNiceValues();
  } finally {
    tok.close();
  }
}

describe("the low-priority lanes' nice value", () => {
  afterEach(() => setLowPriorityNice(LOW_PRIORITY_NICE));

  it("is 19 by default, and refuses values outside 1-19 with a typed error", () => {
    expect(LOW_PRIORITY_NICE).toBe(19);
    expect(lowPriorityNice()).toBe(19);
    for (const bad of [0, 20, -1, 1.5, Number.NaN])
      expect(() => setLowPriorityNice(bad)).toThrow(expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT" }));
    expect(lowPriorityNice()).toBe(19);
  });

  it.runIf(process.platform === "linux")("is the nice value of a tokenizer's bulk worker process", async () => {
    expect(await bulkWorkerNice()).toContain(19);
    setLowPriorityNice(3);
    expect(await bulkWorkerNice()).toContain(3);
  });
});
