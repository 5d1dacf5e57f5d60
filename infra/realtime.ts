import { handler, handlersOf } from "./function.ts";
import { storage } from "./storage.ts";

/**
 * The WebSocket API (DESIGN §8). SST sets the route selection expression to
 * `$request.body.action`. No authorizer: `$connect` checks the `?token=` itself and answers
 * 401, which refuses the upgrade. Linking this API is what grants `execute-api:ManageConnections`
 * on its own `@connections` only.
 */
export const realtime = new sst.aws.ApiGatewayWebSocket("Realtime");

const available = { ...storage, Realtime: realtime };

/** `$connect`, `$disconnect`, `$default`: every `ws:<route>` handler in handlers.ts. */
export const routes = Object.fromEntries(
  handlersOf("ws").map(({ name, source }) => [
    name,
    // API Gateway gives a WebSocket integration 29 s at most.
    realtime.route(source, handler(name, available, { timeout: "29 seconds" })),
  ]),
);

export const functions = Object.fromEntries(
  Object.entries(routes).map(([name, route]) => [name, route.nodes.function.name]),
);
