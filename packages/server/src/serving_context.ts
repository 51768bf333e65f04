import type { ServerMetrics } from "./metrics.js";
import type { ServerOptions } from "./options.js";
import type { ServedModel } from "./served_model.js";

/** What every route's serving code needs: the model, the metrics and the server's options. */
export interface ServingContext {
  readonly model: ServedModel;
  readonly metrics: ServerMetrics;
  readonly options: ServerOptions;
}
