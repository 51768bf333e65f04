/**
 * Checks a downloaded blob against the digest its ETag names, before it enters the cache: the hub
 * names LFS files by their sha256 and other files by their git blob sha1 (sha1 of
 * `blob <size>\0<content>`). An ETag of neither shape (a proxy's own) names no digest to check.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat, unlink } from "node:fs/promises";

import { HubError } from "./hub_error.js";

async function digestOf(file: string, hash: Hash): Promise<string> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The blob's digest in the form `etag` takes, or undefined when the ETag names none. */
async function digestFor(file: string, etag: string): Promise<string | undefined> {
  if (/^[0-9a-f]{64}$/.test(etag)) return digestOf(file, createHash("sha256"));
  if (/^[0-9a-f]{40}$/.test(etag)) {
    const { size } = await stat(file);
    return digestOf(file, createHash("sha1").update(`blob ${size}\0`));
  }
  return undefined;
}

/** Deletes `file` and throws when its content does not match the digest `etag` names. */
export async function verifyBlob(file: string, etag: string, filename: string): Promise<void> {
  const actual = await digestFor(file, etag);
  if (actual === undefined || actual === etag) return;
  await unlink(file);
  throw new HubError(
    "ERR_WENXIN_INVALID_FILE",
    "inconsistent",
    `${filename} as downloaded does not match its ${etag.length === 64 ? "sha256" : "git sha1"} ${etag} (got ${actual}); it was discarded, try again`,
    { subject: filename },
  );
}
