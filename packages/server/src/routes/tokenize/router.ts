import type { FastifyInstance } from "fastify";

import type { ServingContext } from "../../serving_context.js";
import { parseBody } from "../validate.js";
import { detokenizeRequestSchema, tokenizeRequestSchema } from "./protocol.js";
import { TokenizationServing } from "./serving.js";

/** POST /tokenize and POST /detokenize, where vLLM serves them (outside /v1). */
export function registerTokenization(app: FastifyInstance, ctx: ServingContext): void {
  const serving = new TokenizationServing(ctx);
  app.post("/tokenize", async (request) => serving.tokenize(parseBody(tokenizeRequestSchema, request.body)));
  app.post("/detokenize", async (request) => serving.detokenize(parseBody(detokenizeRequestSchema, request.body)));
}
