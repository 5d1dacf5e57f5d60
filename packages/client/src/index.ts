/**
 * A small typed client for Conveyor's WebSocket protocol v1 (DESIGN §8). Runs in
 * browsers and on Node: no Node imports, the WebSocket implementation is an option.
 */
export {
  type ClientMessage,
  type ErrorCode,
  encodeMessage,
  parseServerFrame,
  pingMessage,
  type ServerFrame,
  subscribeMessage,
  unsubscribeMessage,
} from "./frames.ts";
export { Seen } from "./seen.ts";
export {
  backoffDelay,
  ConnectError,
  type TaskWatcher,
  WatchError,
  type WatchOptions,
  type WebSocketConstructor,
  type WebSocketLike,
  watchTask,
} from "./watch.ts";
