import { type ApiConnection, createApi, type Fetch } from "@conveyor/client/api";

/** Where the API is and who we are to it. */
export interface Connection extends ApiConnection {
  /** The WebSocket API for live events; without it, followers poll. */
  wsUrl?: string;
}

/**
 * The shared typed client (`@conveyor/client/api`) as the CLI uses it: the source header
 * makes the server record the tasks it submits as submitted from the CLI.
 *
 * @example
 * const api = connect({ apiUrl: "http://localhost:8787", token });
 * const task = await api.task("01J...");
 */
export function connect(connection: Connection, fetchImpl?: Fetch) {
  return createApi({ ...connection, headers: { "x-conveyor-source": "cli" } }, fetchImpl);
}
