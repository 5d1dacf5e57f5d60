import { ERROR_CODES } from "@conveyor/core/error";
import { EventId, EventInfo } from "@conveyor/core/event/schema";
import type { ClientMessage, ErrorCode, ServerFrame } from "@conveyor/core/realtime/protocol";
import * as v from "valibot";

export type { ClientMessage, ErrorCode, ServerFrame };

const TaskId = v.pipe(v.string(), v.minLength(1));

/** Lenient on extra keys (a newer server may add some), strict on what a client relies on. */
const Frame = v.variant("type", [
  v.object({
    type: v.literal("event"),
    taskId: TaskId,
    event: v.object({ ...EventInfo.entries, eventId: EventId }),
  }),
  v.object({
    type: v.literal("subscribed"),
    taskId: TaskId,
    cursor: v.fallback(v.nullable(v.string()), null),
  }),
  v.object({ type: v.literal("unsubscribed"), taskId: TaskId }),
  v.object({ type: v.literal("pong") }),
  v.object({
    type: v.literal("error"),
    // A code this client does not know yet is still an error to report.
    code: v.fallback(v.picklist(ERROR_CODES), "INTERNAL"),
    message: v.fallback(v.string(), ""),
    taskId: v.optional(v.string()),
  }),
]);

/**
 * Reads one text frame from the server; anything that is not a v1 frame (junk, a
 * frame type this client does not know, an event that fails its schema) is undefined.
 *
 * @example
 * socket.onmessage = ({ data }) => {
 *   const frame = typeof data === "string" ? parseServerFrame(data) : undefined;
 *   if (frame?.type === "event") render(frame.event);
 * };
 */
export function parseServerFrame(text: string): ServerFrame | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = v.safeParse(Frame, json);
  return parsed.success ? (parsed.output as ServerFrame) : undefined;
}

/** Asks for a task's events after `after` (the server rewinds it by the skew window), then live ones. */
export const subscribeMessage = (taskId: string, after?: string): ClientMessage =>
  after ? { action: "subscribe", taskId, after } : { action: "subscribe", taskId };

export const unsubscribeMessage = (taskId: string): ClientMessage => ({ action: "unsubscribe", taskId });

/** Keeps an idle connection open (API Gateway drops it after 10 minutes); answered by `pong`. */
export const pingMessage = (): ClientMessage => ({ action: "ping" });

/** The text to send for a message. */
export const encodeMessage = (message: ClientMessage): string => JSON.stringify(message);
