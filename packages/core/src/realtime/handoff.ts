import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Core } from "../core.ts";
import { type Subscriber, subscriptionKey } from "./connections.ts";

/**
 * The hand-off of an AG-UI subscription from its replay to live fan-out, so each event
 * reaches the socket exactly once and in order (an AG-UI client cannot dedup: a second
 * `TEXT_MESSAGE_START` breaks its stream).
 *
 * The subscription is written `replaying` under a lease. While the lease holds, the fan-out
 * sends it nothing: it marks the subscription `missed` instead. The replay sends what is
 * stored after the cursor, then goes live (recording `from`, the last id it sent) only if
 * nothing was marked missed meanwhile; otherwise it clears the mark and replays again. Once
 * live, the fan-out sends only events after `from`. So every event is sent by exactly one of
 * the two, and the replay's frames all go out before the first live one. A lease that runs
 * out (the replay died) closes the socket: the client resumes with `after`.
 */
export namespace Handoff {
  /** How long a replay holds the subscription before the fan-out gives up on it; renewed per page. */
  export const LEASE_MS = 30_000;

  const table = (core: Core) => core.config.tables.connections;
  const isConditionFailure = (error: unknown) =>
    (error as { name?: string }).name === "ConditionalCheckFailedException";

  /**
   * Conditional update of one subscription (that still exists): false when the condition did
   * not hold. DynamoDB refuses unused names and values, so only those used are sent.
   */
  async function update(
    core: Core,
    to: Keyed,
    expression: string,
    condition: string,
    values: Record<string, unknown> = {},
  ) {
    const used = `${expression} ${condition}`;
    try {
      await core.db.send(
        new UpdateCommand({
          TableName: table(core),
          Key: subscriptionKey(to.connectionId, to.taskId),
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(pk) AND ${condition}`,
          ...(used.includes("#from") ? { ExpressionAttributeNames: { "#from": "from" } } : {}),
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  interface Keyed {
    connectionId: string;
    taskId: string;
  }

  /** The replay renews its lease (per page): false when the subscription is gone. */
  export const renew = (core: Core, to: Keyed) =>
    update(core, to, "SET replayingUntil = :until", "attribute_exists(replayingUntil)", {
      ":until": core.now() + LEASE_MS,
    });

  /**
   * The replay has sent everything up to `from`: live now, unless the fan-out skipped events
   * meanwhile (`missed`), in which case the mark is cleared and the replay goes round again.
   */
  export async function goLive(core: Core, to: Keyed, from: string | undefined) {
    const live = await update(
      core,
      to,
      from ? "SET #from = :from REMOVE replayingUntil" : "REMOVE replayingUntil",
      "attribute_not_exists(missed)",
      from ? { ":from": from } : {},
    );
    if (live) return "live";
    const cleared = await update(
      core,
      to,
      "SET replayingUntil = :until REMOVE missed",
      "attribute_exists(replayingUntil)",
      { ":until": core.now() + LEASE_MS },
    );
    return cleared ? "again" : "gone";
  }

  /**
   * The fan-out's view of an AG-UI subscriber for a batch ending at `lastEventId`: `skip` while
   * its replay holds the lease (marked missed, so the replay sends these events), `send` with
   * the `from` below which the replay already sent everything, `expired` when the replay died,
   * or `gone`. Read strongly consistent: the index the fan-out finds subscribers by may lag.
   */
  export async function settle(
    core: Core,
    to: Keyed,
    lastEventId: string,
  ): Promise<{ action: "skip" | "expired" | "gone" } | { action: "send"; from?: string }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { Item } = await core.db.send(
        new GetCommand({
          TableName: table(core),
          Key: subscriptionKey(to.connectionId, to.taskId),
          ConsistentRead: true,
        }),
      );
      const item = Item as (Subscriber & { replayingUntil?: number }) | undefined;
      if (!item) return { action: "gone" };
      if (item.replayingUntil === undefined) return { action: "send", from: item.from };
      if (item.replayingUntil <= core.now()) return { action: "expired" };
      const marked = await update(core, to, "SET missed = :id", "replayingUntil > :now", {
        ":id": lastEventId,
        ":now": core.now(),
      });
      if (marked) return { action: "skip" };
      // It went live (or was written again) between the read and the mark: read it again.
    }
    return { action: "expired" };
  }
}
