import * as v from "valibot";
import { EventType } from "../event/schema.ts";

/**
 * What the webhook routes take, apart from the domain (no store): the API validates with
 * these at init and loads the Webhook module on a route's first call.
 */

export const CreateInput = v.strictObject({
  url: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(2048)),
  events: v.optional(
    v.union([v.literal("all"), v.pipe(v.array(EventType), v.minLength(1), v.maxLength(20))]),
    "all",
  ),
});
export type CreateInput = v.InferInput<typeof CreateInput>;

export const DeliveriesInput = v.object({
  limit: v.optional(
    v.pipe(
      v.union([v.number(), v.pipe(v.string(), v.toNumber())]),
      v.integer(),
      v.minValue(1),
      v.maxValue(100),
    ),
    50,
  ),
});
