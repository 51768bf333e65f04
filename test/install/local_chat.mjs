// Run inside an install directory: a streamed chat on a local model through @wenxin/engine, then the
// proof of which addon ran: the wenxin_native.node this process mapped (/proc/self/maps) must be `expected`.
//   node local_chat.mjs MODEL_DIR EXPECTED_ADDON
import { readFileSync, realpathSync } from "node:fs";

import { Engine } from "@wenxin/engine";

const [model, expected] = process.argv.slice(2);
const engine = await Engine.load(model, { threads: 2 });
let text = "";
let tokens = 0;
for await (const ev of engine.generate({ messages: [{ role: "user", content: "你好" }], maxNewTokens: 16 })) {
  if (ev.type === "token") {
    text += ev.text;
    tokens++;
  }
}
await engine.close();

const mapped = [
  ...new Set(
    readFileSync("/proc/self/maps", "utf8")
      .split("\n")
      .map((line) => line.split(/\s+/)[5])
      .filter((file) => file?.endsWith("wenxin_native.node")),
  ),
];
console.log(`local chat: ${tokens} tokens streamed (${JSON.stringify(text)}) through ${mapped.join(", ")}`);
if (tokens === 0) throw new Error("the local chat streamed no token");
if (mapped.length !== 1 || mapped[0] !== realpathSync(expected))
  throw new Error(`expected the addon ${expected} alone, mapped: ${mapped.join(", ") || "none"}`);
