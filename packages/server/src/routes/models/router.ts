import type { FastifyInstance } from "fastify";

import type { ServedModel } from "../../served_model.js";
import type { ServingContext } from "../../serving_context.js";
import type { ModelCard, ModelList } from "./protocol.js";

function card(model: ServedModel, adapter?: string): ModelCard {
  const base: ModelCard = { id: model.id, object: "model", created: model.created, owned_by: "wenxin" };
  // vLLM lists a LoRA module with its base model as `parent`
  return adapter === undefined ? base : { ...base, id: adapter, parent: model.id };
}

/** GET /v1/models and /v1/models/:id. The model is listed while it loads, as it will be served. */
export function registerModels(app: FastifyInstance, ctx: ServingContext): void {
  app.get("/v1/models", async (): Promise<ModelList> => ({
    object: "list",
    data: [card(ctx.model), ...ctx.model.adapters.map((a) => card(ctx.model, a))],
  }));
  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request): Promise<ModelCard> => {
    return card(ctx.model, ctx.model.assertServes(request.params.id));
  });
}
