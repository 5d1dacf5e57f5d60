import type { Core } from "../core.ts";
import { toAgUi } from "../event/ag-ui.ts";
import type { EventInfo } from "../event/schema.ts";
import { Connections, type Subscriber } from "./connections.ts";
import type { PushResult } from "./pusher.ts";

/**
 * One stored event to one subscriber, in its format: an `event` frame, or its AG-UI group
 * one frame per event, stopping at the first frame that did not go out. Apart from
 * connections.ts so the socket bookkeeping handlers do not bundle the AG-UI mapping.
 */
export async function deliver(core: Core, to: Subscriber, event: EventInfo): Promise<PushResult> {
  if (to.format !== "ag-ui") {
    return Connections.send(core, to.connectionId, { type: "event", taskId: event.taskId, event });
  }
  for (const frame of toAgUi(event)) {
    const result = await Connections.send(core, to.connectionId, frame);
    if (result !== "sent") return result;
  }
  return "sent";
}
