/**
 * Downloads one blob into `<blob>.incomplete`, resuming with `Range: bytes=N-` from whatever an
 * earlier (interrupted) run left there and after a connection drops mid-file. The caller renames
 * the finished file into place, so a half-written blob is never mistaken for a complete one.
 */
import { createWriteStream } from "node:fs";
import { stat, truncate } from "node:fs/promises";
import { once } from "node:events";

import { HubError, hubErrorFromResponse, networkError, type RequestContext } from "./hub_error.js";
import { hubRequest } from "./http.js";
import { requestTimeoutMs } from "./settings.js";

export interface BlobDownload {
  url: string;
  headers: Record<string, string>;
  incompletePath: string;
  /** Size announced by the metadata request; checked at the end, as huggingface_hub does. */
  expectedSize: number | undefined;
  context: RequestContext;
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}

/** Retries after a dropped connection, each resuming where the file ends. */
const MAX_RESUMES = 5;

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The next chunk, or a rejection when none arrives within `ms` (a stalled connection). */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms: number,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no data for ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([reader.read(), stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/** One GET from `start`; appends to the file. Returns false when the connection dropped. */
async function fetchFrom(job: BlobDownload, start: number): Promise<boolean> {
  const headers: Record<string, string> = { ...job.headers, "accept-encoding": "identity" };
  if (start > 0) headers.range = `bytes=${start}-`;
  const { response } = await hubRequest({
    method: "GET",
    url: job.url,
    headers,
    redirects: "all",
    timeoutMs: requestTimeoutMs("download"),
    signal: job.signal,
  });
  if (response.status === 416 && start > 0 && job.expectedSize === start) {
    await response.body?.cancel(); // nothing left to fetch: the earlier run got every byte
    return true;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw hubErrorFromResponse(response, { ...job.context, url: job.url });
  }
  let offset = start;
  if (start > 0 && response.status !== 206) {
    // The server ignored the range: start over rather than append a second copy.
    await truncate(job.incompletePath, 0);
    offset = 0;
  }
  const lengthHeader = response.headers.get("content-length");
  const total = job.expectedSize ?? (lengthHeader ? offset + Number(lengthHeader) : 0);
  const out = createWriteStream(job.incompletePath, { flags: offset === 0 ? "w" : "a" });
  const closed = once(out, "close");
  let loaded = offset;
  job.onProgress?.(loaded, total);
  let dropped = false;
  try {
    if (!response.body) throw new HubError("ERR_WENXIN_NETWORK", "network", `empty response body from ${job.url}`);
    const reader = response.body.getReader();
    const idleMs = requestTimeoutMs("download");
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await readWithin(reader, idleMs);
      } catch (err) {
        if (job.signal?.aborted) throw job.signal.reason ?? err;
        void reader.cancel().catch(() => undefined);
        dropped = true; // reset or stalled: resume from what was written
        break;
      }
      if (chunk.done) break;
      if (!out.write(chunk.value)) await once(out, "drain");
      loaded += chunk.value.length;
      job.onProgress?.(loaded, total);
    }
  } finally {
    out.end();
    await closed;
  }
  if (!dropped && job.expectedSize !== undefined && loaded < job.expectedSize) dropped = true; // closed early
  return !dropped;
}

export async function downloadBlob(job: BlobDownload): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let start = await sizeOf(job.incompletePath);
    if (job.expectedSize !== undefined && start > job.expectedSize) {
      await truncate(job.incompletePath, 0); // longer than the file: not a prefix of it
      start = 0;
    }
    const complete = await fetchFrom(job, start);
    if (complete) break;
    if (attempt >= MAX_RESUMES) throw networkError(job.url, new Error(`the connection dropped ${attempt + 1} times`));
    await delay(Math.min(2000, 100 * 2 ** attempt));
  }
  const size = await sizeOf(job.incompletePath);
  if (job.expectedSize !== undefined && size !== job.expectedSize) {
    await truncate(job.incompletePath, 0);
    throw new HubError(
      "ERR_WENXIN_NETWORK",
      "inconsistent",
      `${job.context.filename} should be ${job.expectedSize} bytes but ${size} were received; try again`,
      { subject: job.context.filename },
    );
  }
}
