import type { FastifyInstance } from "fastify";

import type { ServingContext } from "../../serving_context.js";
import { parseBody } from "../validate.js";
import { embeddingRequestSchema } from "./protocol.js";
import { EmbeddingsServing } from "./serving.js";

export function registerEmbeddings(app: FastifyInstance, ctx: ServingContext): void {
  const serving = new EmbeddingsServing(ctx);
  app.post("/v1/embeddings", async (request, reply) =>
    serving.handle(parseBody(embeddingRequestSchema, request.body), request, reply),
  );
}
