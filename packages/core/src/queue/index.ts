import * as v from "valibot";

/**
 * The one message TaskQueue carries (and TaskDlq keeps): the task to dispatch, nothing else.
 * Written by `TaskQueue.send`, read by the dispatcher and the DLQ drain.
 */
export namespace Message {
  export const Info = v.object({ taskId: v.pipe(v.string(), v.nonEmpty()) });
  export type Info = v.InferOutput<typeof Info>;

  export function encode(taskId: string): string {
    return JSON.stringify({ taskId } satisfies Info);
  }

  /** A message body as sent; throws on anything else (not JSON, or not a message). */
  export function decode(body: string): Info {
    return v.parse(Info, JSON.parse(body));
  }
}

/** Where submitted tasks wait for the dispatcher. */
export interface TaskQueue {
  send(taskId: string): Promise<void>;
}
