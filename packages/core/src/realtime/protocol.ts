/**
 * WebSocket protocol v1 (DESIGN §8), shared by the server handlers, the CLI and any
 * browser client. Side-effect free: importable without the AWS SDK.
 */
import * as v from "valibot";
import type { ErrorCode } from "../error.ts";
import type { TaskEvent } from "../event/index.ts";
import { EventFormat, EventId } from "../event/schema.ts";

/** Messages a client sends; the gateway routes on `action`. */
export const ClientMessage = v.variant("action", [
  v.strictObject({
    action: v.literal("subscribe"),
    taskId: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
    after: v.optional(EventId),
    /**
     * `ag-ui`: events arrive as AG-UI events (event/ag-ui.ts), one frame each, strictly after
     * `after`; resume with the `rawEvent.eventId` of the last one whose `rawEvent.last` is true.
     * Control frames (`subscribed`, `error`, `pong`) keep Conveyor's shape.
     */
    format: v.optional(EventFormat),
  }),
  v.strictObject({
    action: v.literal("unsubscribe"),
    taskId: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  }),
  v.strictObject({ action: v.literal("ping") }),
]);
export type ClientMessage = v.InferOutput<typeof ClientMessage>;

/** The same codes as HTTP answers (one vocabulary, `../error.ts`). */
export type { ErrorCode } from "../error.ts";

/** Frames the server sends. */
export type ServerFrame =
  | { type: "event"; taskId: string; event: TaskEvent.Info }
  | { type: "subscribed"; taskId: string; cursor: string | null }
  | { type: "unsubscribed"; taskId: string }
  | { type: "pong" }
  | { type: "error"; code: ErrorCode; message: string; taskId?: string };

/** API Gateway's limits that clients plan around. */
export const WS_LIMITS = {
  /** Connections idle this long are closed: ping before. */
  idleMs: 10 * 60_000,
  /** Every connection is closed after this long: reconnect with `after`. */
  maxConnectionMs: 2 * 60 * 60_000,
} as const;
