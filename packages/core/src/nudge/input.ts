import * as v from "valibot";

/**
 * What the nudge route takes, apart from the domain (no store): the API validates with it at
 * init and loads the Nudge module on the route's first call.
 */

/** `queue` waits for the next turn boundary; `interrupt` cuts the current turn short. */
export const Mode = v.picklist(["queue", "interrupt"]);
export type Mode = v.InferOutput<typeof Mode>;

/** The body of `POST /v1/tasks/{id}/nudges`. */
export const CreateInput = v.strictObject({
  message: v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(2000)),
  mode: v.optional(Mode, "queue"),
});
