// Run inside an install directory: ChatWenxin in remote mode, streamed from an OpenAI-compatible server.
// Remote mode loads no native code: no wenxin_native.node may be mapped in this process afterwards.
//   node remote_chat.mjs BASE_URL MODEL_NAME
import { readFileSync } from "node:fs";

import { ChatWenxin } from "@wenxin/langchain";

const [baseUrl, model] = process.argv.slice(2);
const chat = new ChatWenxin({ baseUrl, model, maxTokens: 16, temperature: 0, maxRetries: 0 });
let text = "";
let chunks = 0;
for await (const chunk of await chat.stream("你好")) {
  text += typeof chunk.content === "string" ? chunk.content : "";
  chunks++;
}
const native = readFileSync("/proc/self/maps", "utf8").includes("wenxin_native.node");
console.log(`remote chat: ${chunks} chunks streamed (${JSON.stringify(text)}) from ${baseUrl}`);
if (chunks === 0 || text.length === 0) throw new Error("the remote chat streamed nothing");
if (native) throw new Error("remote mode loaded the native addon");
