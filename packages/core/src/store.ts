import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ApprovalEntity } from "./approval/approval.entity.ts";
import type { Config } from "./config.ts";
import type { Core } from "./core.ts";
import { provideElectroDbCommands } from "./electrodb-commands.ts";
import { TaskEventEntity } from "./event/event.entity.ts";
import { IdempotencyEntity } from "./idempotency/idempotency.entity.ts";
import { NudgeEntity } from "./nudge/nudge.entity.ts";
import { QuotaEntity } from "./quota/quota.entity.ts";
import { TaskEntity } from "./task/task.entity.ts";
import { WebhookAttemptEntity, WebhookEntity } from "./webhook/webhook.entity.ts";

/**
 * The ElectroDB entities, bound to the configured tables. Imported by the modules that query
 * them, never by core.ts: a handler that reads no entity (the WebSocket connect and
 * disconnect, the realtime fan-out) loads neither ElectroDB nor these definitions at init.
 */
export type Store = ReturnType<typeof createStore>;

export function createStore(client: DynamoDBDocumentClient, config: Config) {
  provideElectroDbCommands();
  const { tasks, events, nudges } = config.tables;
  return onFirstUse({
    task: () => TaskEntity(client, tasks),
    quota: () => QuotaEntity(client, tasks),
    idempotency: () => IdempotencyEntity(client, tasks),
    event: () => TaskEventEntity(client, events),
    nudge: () => NudgeEntity(client, nudges),
    approval: () => ApprovalEntity(client, tasks),
    webhook: () => WebhookEntity(client, tasks),
    webhookAttempt: () => WebhookAttemptEntity(client, tasks),
  });
}

/**
 * Each entity built when first read, then kept. Building all eight costs a Lambda's first
 * invocation ~13 ms (ElectroDB parses each model); most handlers read two or three.
 */
function onFirstUse<T extends Record<string, () => unknown>>(
  builders: T,
): { [K in keyof T]: ReturnType<T[K]> } {
  const entities = {} as { [K in keyof T]: ReturnType<T[K]> };
  for (const [name, build] of Object.entries(builders)) {
    Object.defineProperty(entities, name, {
      enumerable: true,
      configurable: true,
      get() {
        const entity = build();
        Object.defineProperty(entities, name, { value: entity, enumerable: true });
        return entity;
      },
    });
  }
  return entities;
}

const stores = new WeakMap<DynamoDBDocumentClient, Store>();

/** The entities on a Core's client, built on first use (once per client, so copies of a Core share them). */
export function store(core: Pick<Core, "db" | "config">): Store {
  let bound = stores.get(core.db);
  if (!bound) {
    bound = createStore(core.db, core.config);
    stores.set(core.db, bound);
  }
  return bound;
}

/** The entities a Task transaction writes. */
export function entitiesOf(core: Core) {
  const { task, quota, idempotency, event } = store(core);
  return { task, quota, idempotency, event };
}
