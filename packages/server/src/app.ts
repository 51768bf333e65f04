/**
 * The fastify application: request ids, API-key check, JSON body parsing for any content type
 * (curl's `-d` sends form encoding by default), OpenAI-shaped errors for everything that fails,
 * per-route metrics, and the routes.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

import cors from "@fastify/cors";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import { pino, type Logger } from "pino";

import { Authenticator } from "./auth.js";
import { clip, MESSAGE_CHARS, QUOTE_CHARS, URL_CHARS } from "./clip.js";
import { ApiError, toApiError } from "./errors.js";
import { registerJsonBodies } from "./json_body.js";
import { registerChatCompletions } from "./routes/chat_completions/router.js";
import { registerCompletions } from "./routes/completions/router.js";
import { registerEmbeddings } from "./routes/embeddings/router.js";
import { registerModels } from "./routes/models/router.js";
import { registerResponses } from "./routes/responses/router.js";
import { registerTokenization } from "./routes/tokenize/router.js";
import { registerSystemRoutes } from "./routes/system/router.js";
import type { ServingContext } from "./serving_context.js";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Uses the client's `x-request-id` when it is a sane token, else a fresh one. */
function requestId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : `req-${randomUUID()}`;
}

/**
 * What a log line says about a request and an error, with every client-supplied string clipped
 * (fastify's own request serializer would log the URL and Host header whole).
 */
const BOUNDED_SERIALIZERS = {
  req: (request: FastifyRequest) => ({
    method: request.method,
    url: clip(request.url, URL_CHARS),
    host: clip(request.host, QUOTE_CHARS),
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }),
  err: (err: Error) => {
    const out = pino.stdSerializers.err(err);
    out.message = clip(out.message, MESSAGE_CHARS);
    out.stack = clip(out.stack, MESSAGE_CHARS * 4);
    return out;
  },
};

export function buildApp(ctx: ServingContext, logger: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger.child({}, { serializers: BOUNDED_SERIALIZERS }) as FastifyBaseLogger,
    bodyLimit: ctx.options.bodyLimit,
    requestTimeout: ctx.options.requestTimeoutMs,
    genReqId: requestId,
    // Closing comes after drain has waited for the requests in flight; connections still open
    // then are idle or never sent a request, and must not hold the process for the keep-alive timeout.
    forceCloseConnections: true,
  });
  const auth = new Authenticator(ctx.options);

  registerJsonBodies(app);

  // A preflight carries no credentials: the key check lets it through to this plugin.
  if (ctx.options.cors.length > 0)
    void app.register(cors, {
      origin: ctx.options.cors.includes("*") ? "*" : ctx.options.cors.map((o) => new URL(o).origin),
      methods: ["GET", "POST", "DELETE"],
      allowedHeaders: ["authorization", "content-type", "x-request-id"],
      exposedHeaders: ["x-request-id"],
      maxAge: 600,
    });

  // onRequest runs after routing: the check sees the route the router matched, whatever the target's spelling.
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    try {
      auth.check(request);
    } catch (err) {
      reply.header("www-authenticate", 'Bearer realm="wenxin"');
      throw err;
    }
  });

  // While draining, ask keep-alive clients to reconnect (to another instance) for their next request.
  app.addHook("onSend", async (_request, reply, payload) => {
    if (ctx.model.state === "draining" || ctx.model.state === "closed") reply.header("connection", "close");
    return payload;
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    ctx.metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    ctx.metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err, request, reply) => {
    const error = toApiError(err, request.id);
    if (error.status >= 500 && error.status !== 503) request.log.error({ err }, "request failed");
    else request.log.info({ status: error.status, code: error.code, message: error.message }, "request refused");
    ctx.metrics.errors.inc({
      route: request.routeOptions.url ?? "unmatched",
      status: String(error.status),
      code: error.code ?? "",
    });
    if (error.status === 503) reply.header("retry-after", "1");
    return reply.code(error.status).send(error.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError(
      404,
      "invalid_request_error",
      `Invalid URL (${request.method} ${clip(request.url, QUOTE_CHARS)})`,
      "unknown_url",
    );
    ctx.metrics.errors.inc({ route: "unmatched", status: "404", code: "unknown_url" });
    return reply.code(404).send(error.toBody());
  });

  ctx.stalls.attach(app.server);
  app.addHook("onClose", async () => ctx.stalls.stop());

  registerChatCompletions(app, ctx);
  registerCompletions(app, ctx);
  registerEmbeddings(app, ctx);
  registerResponses(app, ctx);
  registerTokenization(app, ctx);
  registerModels(app, ctx);
  registerSystemRoutes(app, ctx);
  return app;
}
