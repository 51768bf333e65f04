import type { FastifyInstance } from "fastify";

import type { ServingContext } from "../../serving_context.js";

/** GET /health (200 when serving, 503 while loading, draining or after a failed load) and GET /metrics. */
export function registerSystemRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get("/health", async (_request, reply) => {
    const { model } = ctx;
    const status = model.state === "ready" ? "ok" : model.state;
    return reply.code(model.state === "ready" ? 200 : 503).send({
      status,
      model: model.id,
      running: model.admission.running,
      queued: model.admission.queued,
    });
  });
  app.get("/metrics", async (_request, reply) => {
    const text = await ctx.metrics.render(ctx.model);
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
}
