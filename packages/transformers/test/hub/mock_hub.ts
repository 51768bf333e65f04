// An msw mock of the Hugging Face hub's file API (resolve HEAD/GET, LFS redirects to a CDN with
// Range support, X-Error-Code errors), serving real fixture directories as repositories.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

import { http, HttpResponse, type HttpHandler } from "msw";
import { setupServer, type SetupServerApi } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

import { isolatedHubEnv, type HubEnv } from "./hub_env.js";

export const HUB = "https://huggingface.co";
export const CDN = "https://cdn-lfs.hf.co";

export interface MockFile {
  content: Buffer;
  lfs: boolean;
  /** sha256 for LFS files, git blob sha1 otherwise: what the hub sends as (linked) ETag. */
  etag: string;
}

export interface MockRepo {
  id: string;
  commit: string;
  files: Map<string, MockFile>;
  gated?: boolean;
  /** Other revisions (branch or tag → commit) that serve the same files. */
  refs?: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  url: string;
  range: string | null;
  authorization: string | null;
}

export function gitBlobSha(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

export function fakeCommit(seed: string): string {
  return createHash("sha1").update(seed).digest("hex");
}

/** A repository whose files are those of `dir`; *.safetensors and tokenizer.model are LFS files. */
export function repoFromDirectory(id: string, dir: string, extra: Record<string, Buffer> = {}): MockRepo {
  const files = new Map<string, MockFile>();
  const add = (name: string, content: Buffer) => {
    const lfs = name.endsWith(".safetensors") || name.endsWith(".model");
    files.set(name, {
      content,
      lfs,
      etag: lfs ? createHash("sha256").update(content).digest("hex") : gitBlobSha(content),
    });
  };
  for (const name of readdirSync(dir))
    if (statSync(path.join(dir, name)).isFile()) add(name, readFileSync(path.join(dir, name)));
  for (const [name, content] of Object.entries(extra)) add(name, content);
  return { id, commit: fakeCommit(id), files };
}

export class MockHub {
  readonly repos = new Map<string, MockRepo>();
  readonly requests: RecordedRequest[] = [];
  /** Old repo id → new one: answered with a relative redirect, as after a rename. */
  readonly renamed = new Map<string, string>();
  /** The token that opens gated repositories. */
  validToken = "hf_valid";
  /** Every request fails at the network level. */
  down = false;
  /** The CDN ignores Range headers (answers 200 with the whole file). */
  ignoreRange = false;
  /** The next CDN responses send this many bytes, then drop the connection. */
  dropAfterBytes: number[] = [];
  /** The next CDN responses send this many bytes, then go silent without closing. */
  stallAfterBytes: number[] = [];
  /** The hub answers without X-Repo-Commit (a proxy or a server that is not a hub). */
  stripCommitHeader = false;
  /** Metadata requests get no answer for this long (ms). */
  headDelayMs = 0;
  /** Called after each request is recorded (to change the repo between requests). */
  onRequest: ((request: RecordedRequest) => void) | undefined;

  add(repo: MockRepo): MockRepo {
    this.repos.set(repo.id, repo);
    return repo;
  }

  /** Requests to `origin` (HUB or CDN), optionally only one method. */
  requestsTo(origin: string, method?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.url.startsWith(origin) && (!method || r.method === method));
  }

  handlers(): HttpHandler[] {
    return [
      http.all(`${HUB}/*`, async ({ request }) => {
        if (this.headDelayMs > 0 && request.method === "HEAD")
          await new Promise((resolve) => setTimeout(resolve, this.headDelayMs));
        return this.resolve(request);
      }),
      http.all(`${CDN}/*`, ({ request }) => this.cdn(request)),
    ];
  }

  private record(request: Request): void {
    const recorded = {
      method: request.method,
      url: request.url,
      range: request.headers.get("range"),
      authorization: request.headers.get("authorization"),
    };
    this.requests.push(recorded);
    this.onRequest?.(recorded);
  }

  private resolve(request: Request): Response {
    this.record(request);
    if (this.down) return HttpResponse.error();
    const url = new URL(request.url);
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m) return new HttpResponse(null, { status: 404 });
    const [, repoId, rawRevision, rawFile] = m as unknown as [string, string, string, string];
    const revision = decodeURIComponent(rawRevision);
    const file = rawFile.split("/").map(decodeURIComponent).join("/");
    const renamedTo = this.renamed.get(repoId);
    if (renamedTo)
      return new HttpResponse(null, {
        status: 307,
        headers: { location: `/${renamedTo}/resolve/${rawRevision}/${rawFile}` },
      });
    const repo = this.repos.get(repoId);
    const auth = request.headers.get("authorization");
    if (!repo)
      return new HttpResponse(null, {
        status: auth ? 404 : 401,
        headers: { "x-error-code": "RepoNotFound", "x-error-message": "Repository not found" },
      });
    if (repo.gated && auth !== `Bearer ${this.validToken}`)
      return new HttpResponse(null, {
        status: 401,
        headers: {
          "x-error-code": "GatedRepo",
          "x-error-message": `Access to model ${repo.id} is restricted. You must have access to it and be authenticated to access it.`,
        },
      });
    const refs = repo.refs ?? {};
    const commit =
      revision === "main" || revision === repo.commit
        ? repo.commit
        : (refs[revision] ?? Object.values(refs).find((c) => c === revision));
    if (!commit)
      return new HttpResponse(null, {
        status: 404,
        headers: { "x-error-code": "RevisionNotFound", "x-error-message": "Invalid rev id" },
      });
    const entry = repo.files.get(file);
    const common: Record<string, string> = this.stripCommitHeader ? {} : { "x-repo-commit": commit };
    if (!entry)
      return new HttpResponse(null, {
        status: 404,
        headers: { ...common, "x-error-code": "EntryNotFound", "x-error-message": "Entry not found" },
      });
    if (entry.lfs)
      return new HttpResponse(null, {
        status: 302,
        headers: {
          ...common,
          location: `${CDN}/repos/ab/cd/${entry.etag}?X-Amz-Signature=abc`,
          "x-linked-etag": `"${entry.etag}"`,
          "x-linked-size": String(entry.content.length),
          etag: `"${gitBlobSha(Buffer.from("pointer"))}"`,
        },
      });
    const headers = { ...common, etag: `"${entry.etag}"`, "content-length": String(entry.content.length) };
    return new HttpResponse(request.method === "HEAD" ? null : entry.content, { status: 200, headers });
  }

  private cdn(request: Request): Response {
    this.record(request);
    if (this.down) return HttpResponse.error();
    const sha = new URL(request.url).pathname.split("/").pop()!;
    const entry = [...this.repos.values()].flatMap((r) => [...r.files.values()]).find((f) => f.etag === sha);
    if (!entry) return new HttpResponse(null, { status: 404 });
    const range = /^bytes=(\d+)-$/.exec(request.headers.get("range") ?? "");
    const start = range && !this.ignoreRange ? Number(range[1]) : 0;
    if (start >= entry.content.length && start > 0) return new HttpResponse(null, { status: 416 });
    let body: Uint8Array = entry.content.subarray(start);
    const drop = this.dropAfterBytes.shift();
    const headers: Record<string, string> = { "content-length": String(body.length) };
    if (start > 0) headers["content-range"] = `bytes ${start}-${entry.content.length - 1}/${entry.content.length}`;
    const stall = this.stallAfterBytes.shift();
    if (stall !== undefined) {
      const head = body.subarray(0, stall);
      let sent = false;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent) return new Promise<void>(() => undefined); // never another byte
          sent = true;
          controller.enqueue(head);
          return undefined;
        },
      });
      return new HttpResponse(stream, { status: start > 0 ? 206 : 200, headers });
    }
    if (drop !== undefined) {
      const head = body.subarray(0, drop);
      let sent = false;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(head);
            return;
          }
          // Let the client read what was sent before the connection "resets" (an error discards queued chunks).
          await new Promise((resolve) => setTimeout(resolve, 20));
          controller.error(new Error("connection reset"));
        },
      });
      return new HttpResponse(stream, { status: start > 0 ? 206 : 200, headers });
    }
    body = Buffer.from(body);
    return new HttpResponse(body, { status: start > 0 ? 206 : 200, headers });
  }
}

/** What `useMockHub` sets up: read its fields inside the tests. */
export interface MockHubFixture {
  hub: MockHub;
  henv: HubEnv;
  server: SetupServerApi;
}

/**
 * For each test of the file: a fresh mocked hub that `fill` adds the repositories to, intercepted
 * through msw (a request it does not handle fails), and an isolated hub cache and environment.
 */
export function useMockHub(fill: (hub: MockHub) => void): MockHubFixture {
  const ctx = { server: setupServer() } as MockHubFixture;
  beforeAll(() => ctx.server.listen({ onUnhandledRequest: "error" }));
  afterAll(() => ctx.server.close());
  beforeEach(() => {
    ctx.henv = isolatedHubEnv();
    ctx.hub = new MockHub();
    fill(ctx.hub);
    ctx.server.use(...ctx.hub.handlers());
  });
  afterEach(() => {
    ctx.server.resetHandlers();
    ctx.henv.restore();
  });
  return ctx;
}
