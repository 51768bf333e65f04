import type { FastifyInstance } from "fastify";

import type { ServingContext } from "../../serving_context.js";
import { parseBody } from "../validate.js";
import { chatCompletionRequestSchema } from "./protocol.js";
import { ChatCompletionsServing } from "./serving.js";

export function registerChatCompletions(app: FastifyInstance, ctx: ServingContext): void {
  const serving = new ChatCompletionsServing(ctx);
  app.post("/v1/chat/completions", async (request, reply) =>
    serving.handle(parseBody(chatCompletionRequestSchema, request.body), request, reply),
  );
}
