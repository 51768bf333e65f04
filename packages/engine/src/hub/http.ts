/**
 * fetch with the redirect rules of huggingface_hub: metadata (HEAD) requests follow only relative
 * redirects (a renamed repo) and report an absolute one (the CDN of an LFS file) instead of
 * following it; downloads follow every redirect but never carry the token to another host.
 */
import { networkError } from "./hub_error.js";

export interface HubRequest {
  method: "HEAD" | "GET";
  url: string;
  headers: Record<string, string>;
  /** "relative": stop at redirects to another host and return that 3xx response. */
  redirects: "relative" | "all";
  /** Milliseconds until the response headers must have arrived. */
  timeoutMs: number;
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 10;

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** One request without following redirects; network failures become ERR_WENXIN_NETWORK. */
async function fetchOnce(req: HubRequest, url: string, headers: Record<string, string>): Promise<Response> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new DOMException("timed out", "TimeoutError")), req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout.signal]) : timeout.signal;
  try {
    return await fetch(url, { method: req.method, headers, redirect: "manual", signal });
  } catch (err) {
    if (req.signal?.aborted) throw req.signal.reason ?? err;
    throw networkError(url, timeout.signal.aborted ? timeout.signal.reason : err);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends the request, following redirects per `req.redirects`. The returned response's `url`
 * property is not reliable with manual redirects, so the final URL is returned alongside.
 */
export async function hubRequest(req: HubRequest): Promise<{ response: Response; url: string }> {
  let url = req.url;
  let headers = { ...req.headers };
  for (let hop = 0; ; hop++) {
    const response = await fetchOnce(req, url, headers);
    const location = response.headers.get("location");
    if (!isRedirect(response.status) || !location || hop >= MAX_REDIRECTS) return { response, url };
    const target = new URL(location, url);
    const sameHost = target.origin === new URL(url).origin;
    const relative = !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith("//");
    if (req.redirects === "relative" && !relative) return { response, url };
    await response.body?.cancel();
    if (!sameHost)
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== "authorization"));
    url = target.href;
  }
}
