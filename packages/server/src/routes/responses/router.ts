import type { FastifyInstance } from "fastify";

import type { ServingContext } from "../../serving_context.js";
import { parseBody } from "../validate.js";
import { responseRequestSchema } from "./protocol.js";
import { ResponsesServing } from "./serving.js";
import { ResponseStore } from "./store.js";

/** POST /v1/responses, and GET / DELETE /v1/responses/:id for the responses kept in memory. */
export function registerResponses(app: FastifyInstance, ctx: ServingContext): void {
  const serving = new ResponsesServing(ctx, new ResponseStore(ctx.options.responsesStoreSize));
  app.post("/v1/responses", async (request, reply) =>
    serving.create(parseBody(responseRequestSchema, request.body), request, reply),
  );
  app.get<{ Params: { id: string } }>("/v1/responses/:id", async (request) => serving.retrieve(request.params.id));
  app.delete<{ Params: { id: string } }>("/v1/responses/:id", async (request) => serving.delete(request.params.id));
}
