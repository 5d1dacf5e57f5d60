import { AsyncLocalStorage } from "node:async_hooks";
import { VisibleError } from "./error.ts";

/** Who is acting. Set once at the edge; every query scopes by it. */
export type Actor =
  | { type: "user"; tenantId: string; userId: string }
  /** A Conveyor process (dispatcher, agent, reconciler) acting on any task by id. */
  | { type: "system"; name: string };

const storage = new AsyncLocalStorage<Actor>();

export namespace Actor {
  export function provide<R>(actor: Actor, fn: () => R): R {
    return storage.run(actor, fn);
  }

  export function use(): Actor {
    const actor = storage.getStore();
    if (!actor) throw new Error("No actor in context: wrap the call in Actor.provide()");
    return actor;
  }

  /** The acting user; system actors may not call user-scoped operations. */
  export function user(): Extract<Actor, { type: "user" }> {
    const actor = use();
    if (actor.type !== "user") throw new VisibleError("auth", "auth.user_required", "A user is required");
    return actor;
  }
}
