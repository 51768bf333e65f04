// The abuse benchmark's abusive requests, sent from a child process of their own: the parent times
// the normal requests, and sending a 4 MiB body (its serialisation, then the socket writes, which on
// loopback also run the receiving side's TCP work) held the parent's event loop 35-80 ms each time,
// during which a normal request's first token could be neither sent nor read. An attacker is another
// client, not a part of the measuring one.
//
// Protocol (IPC): the parent sends { url, modelName, depth, each, windowMs }; the child builds every
// body and answers { ready: true }; the parent's { go: true } starts the schedule (spread evenly over
// windowMs, the first at once); the child answers { results } and exits.
import { abusiveRequests, prepareAbusive, sendAbusive, spread } from "./abuse_clients.mjs";

process.once("message", ({ url, modelName, depth, each, windowMs }) => {
  const kinds = abusiveRequests({ modelName, depth });
  const prepared = Array.from({ length: each * kinds.length }, (_, i) => prepareAbusive(kinds[i % kinds.length], i));
  process.once("message", async () => {
    const results = await spread(prepared.length, windowMs, (i) => sendAbusive(url, prepared[i]));
    process.send({ results }, () => process.exit(0));
  });
  process.send({ ready: true });
});
