import type { BackgroundLane } from "./background_lane.js";
import type { ServerMetrics } from "./metrics.js";
import type { ServerOptions } from "./options.js";
import type { ServedModel } from "./served_model.js";
import type { StallWatch } from "./stall_watch.js";

/**
 * What every route's serving code needs: the model, the metrics, the server's options, the stall
 * watch and the background lane.
 */
export interface ServingContext {
  readonly model: ServedModel;
  readonly metrics: ServerMetrics;
  readonly options: ServerOptions;
  /** Cuts off clients that stop reading; tells a request why its connection closed. */
  readonly stalls: StallWatch;
  /** Where the output of requests whose clients lagged is handled, one piece per turn of the event loop. */
  readonly background: BackgroundLane;
}
