import type { FastifyInstance } from "fastify";

import type { ServingContext } from "../../serving_context.js";
import { parseBody } from "../validate.js";
import { completionRequestSchema } from "./protocol.js";
import { CompletionsServing } from "./serving.js";

export function registerCompletions(app: FastifyInstance, ctx: ServingContext): void {
  const serving = new CompletionsServing(ctx);
  app.post("/v1/completions", async (request, reply) =>
    serving.handle(parseBody(completionRequestSchema, request.body), request, reply),
  );
}
