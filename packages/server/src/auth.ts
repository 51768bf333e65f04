/**
 * API-key authentication, decided on the route the router matched (never on the raw request
 * target, which may be absolute-form or percent-encoded). When a key is set every route needs it
 * but `/health`. A metrics key, when set, is the only key `/metrics` takes: the scraper gets no API
 * access, and API clients cannot read the counters that aggregate everyone's requests.
 */
import { createHash, timingSafeEqual } from "node:crypto";

import type { FastifyRequest } from "fastify";

import { ApiError } from "./errors.js";

/** Routes anyone may call: liveness probes must work without credentials. */
const PUBLIC_ROUTES = new Set(["/health"]);
const METRICS_ROUTE = "/metrics";

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The bearer token of an Authorization header, if any. */
function bearerToken(header: string | undefined): string | undefined {
  return header?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
}

export class Authenticator {
  private readonly apiKey: Buffer | undefined;
  private readonly metricsKey: Buffer | undefined;

  constructor(keys: { apiKey?: string | undefined; metricsKey?: string | undefined }) {
    this.apiKey = keys.apiKey ? digest(keys.apiKey) : undefined;
    this.metricsKey = keys.metricsKey ? digest(keys.metricsKey) : undefined;
  }

  /**
   * Throws 401 unless the request may use its matched route. Unmatched requests (404) need the key
   * too, so an unauthenticated client learns nothing about which routes exist.
   */
  check(request: FastifyRequest): void {
    // A browser's CORS preflight never carries credentials; it reaches no handler (the CORS plugin
    // answers it, or nothing does).
    if (request.method === "OPTIONS" && request.headers["access-control-request-method"]) return;
    const route = request.routeOptions.url;
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
    const required = route === METRICS_ROUTE ? (this.metricsKey ?? this.apiKey) : this.apiKey;
    if (required === undefined) return;
    const token = bearerToken(request.headers.authorization);
    // Digests have equal lengths, so timingSafeEqual compares in constant time whatever was sent.
    if (token !== undefined && timingSafeEqual(digest(token), required)) return;
    throw new ApiError(
      401,
      "invalid_request_error",
      "Incorrect or missing API key: send 'Authorization: Bearer <key>'",
      "invalid_api_key",
    );
  }
}
