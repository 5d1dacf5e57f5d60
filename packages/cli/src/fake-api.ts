import { floorId, idTime } from "@conveyor/core/util/ulid";
import type { EventWire, Fetch, TaskStatus, TaskWire } from "./client.ts";
import { isTerminal } from "./follow.ts";

/**
 * An in-memory stand-in for the HTTP API with the same paging rules (DESIGN §12.1),
 * for the CLI's unit tests: strict `after`, `limit` pages, and `nextCursor` present
 * while the task is not terminal or more pages exist. Tests change the world between
 * requests with `beforeRequest`, e.g. to commit an event late.
 */
export class FakeApi {
  readonly token = "cvy_test";
  readonly tasks = new Map<string, TaskWire>();
  private readonly events = new Map<string, EventWire[]>();
  private readonly idempotency = new Map<string, string>();
  /** Every request answered, in order. */
  readonly requests: {
    method: string;
    path: string;
    query: URLSearchParams;
    headers: Headers;
    body?: unknown;
  }[] = [];
  beforeRequest?: (request: { method: string; path: string; query: URLSearchParams }) => void;

  /** The ULID for `ms` with a chosen tail, so tests can order ids by hand. */
  static id(ms: number, seq = 0): string {
    return `${floorId(ms).slice(0, 10)}${String(seq).padStart(16, "0")}`;
  }

  addTask(task: Partial<TaskWire> & { taskId: string }): TaskWire {
    const full: TaskWire = {
      status: "RUNNING",
      repo: "acme/app",
      prNumber: undefined,
      issueNumber: undefined,
      description: "Fix the flaky test",
      options: {},
      maxTurns: 100,
      maxBudgetUsd: 10,
      source: "cli",
      turns: 0,
      costUsd: 0,
      result: undefined,
      error: undefined,
      queuePosition: undefined,
      version: 1,
      rev: 1,
      createdAt: "2024-01-01T00:00:00.000Z",
      updatedAt: "2024-01-01T00:00:00.000Z",
      finishedAt: undefined,
      ...task,
    };
    this.tasks.set(full.taskId, full);
    this.events.set(full.taskId, this.events.get(full.taskId) ?? []);
    return full;
  }

  /** Commits an event with the given id, wherever it sorts (a late writer's event sorts early). */
  commit(taskId: string, eventId: string, type: EventWire["type"], data: EventWire["data"] = {}): EventWire {
    const event: EventWire = { taskId, eventId, type, at: new Date(idTime(eventId)).toISOString(), data };
    const list = this.events.get(taskId) ?? [];
    list.push(event);
    list.sort((a, b) => (a.eventId < b.eventId ? -1 : 1));
    this.events.set(taskId, list);
    return event;
  }

  /** Moves the task and commits its `task.status` event, as one transaction does on the server. */
  transition(taskId: string, eventId: string, to: TaskStatus, extra: Partial<TaskWire> = {}): EventWire {
    const task = this.tasks.get(taskId)!;
    const event = this.commit(taskId, eventId, "task.status", { from: task.status, to });
    this.tasks.set(taskId, { ...task, ...extra, status: to });
    return event;
  }

  readonly fetch: Fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    // A cancel is a POST without a body.
    const text = request.method === "POST" ? await request.text() : "";
    const body = text ? JSON.parse(text) : undefined;
    const recorded = { method: request.method, path: url.pathname, query: url.searchParams };
    this.beforeRequest?.(recorded);
    this.requests.push({ ...recorded, headers: request.headers, body });
    if (request.headers.get("authorization") !== `Bearer ${this.token}`) {
      return error(401, "UNAUTHORIZED", "Invalid token");
    }
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== "v1" || parts[1] !== "tasks") return error(404, "NOT_FOUND", `No route ${url.pathname}`);
    const [, , taskId, sub] = parts;
    if (!taskId && request.method === "POST")
      return this.submit(body as Record<string, unknown>, request.headers);
    if (!taskId) return this.list(url.searchParams);
    const task = this.tasks.get(taskId);
    if (!task) return error(404, "NOT_FOUND", `task ${taskId} not found`);
    if (!sub) return json(200, { task });
    if (sub === "cancel" && request.method === "POST") return this.cancel(task);
    return this.page(task, url.searchParams);
  };

  private submit(body: Record<string, unknown>, headers: Headers) {
    const key = headers.get("idempotency-key");
    const replay = key ? this.tasks.get(this.idempotency.get(key) ?? "") : undefined;
    if (replay) return json(200, { task: replay });
    const taskId = FakeApi.id(Date.now(), this.tasks.size + 1);
    const task = this.addTask({
      taskId,
      status: "SUBMITTED",
      repo: String(body.repo),
      description: String(body.description),
      options: (body.options as TaskWire["options"]) ?? {},
      source: headers.get("x-conveyor-source") === "cli" ? "cli" : "api",
    });
    if (key) this.idempotency.set(key, taskId);
    this.commit(taskId, FakeApi.id(Date.now(), 0), "task.submitted", { status: "SUBMITTED" });
    return json(201, { task });
  }

  /** As the server: not started yet is cancelled at once, running is asked to stop, ended is a 409 with its status. */
  private cancel(task: TaskWire) {
    if (isTerminal(task.status)) {
      return error(409, "CONFLICT", `Task is already ${task.status}`, {
        reason: "task.terminal",
        status: task.status,
      });
    }
    if (task.status === "RUNNING") return json(202, { task });
    const cancelled = { ...task, status: "CANCELLED" as const };
    this.tasks.set(task.taskId, cancelled);
    return json(202, { task: cancelled });
  }

  private list(query: URLSearchParams) {
    const limit = Number(query.get("limit") ?? 20);
    const cursor = query.get("cursor");
    const all = [...this.tasks.values()]
      .filter((task) => !query.get("status") || task.status === query.get("status"))
      .sort((a, b) => (a.taskId < b.taskId ? 1 : -1))
      .filter((task) => !cursor || task.taskId < cursor);
    const tasks = all.slice(0, limit);
    return json(200, { tasks, nextCursor: all.length > limit ? tasks.at(-1)?.taskId : undefined });
  }

  private page(task: TaskWire, query: URLSearchParams) {
    const after = query.get("after") ?? undefined;
    const limit = Number(query.get("limit") ?? 50);
    const rows = (this.events.get(task.taskId) ?? []).filter((event) => !after || event.eventId > after);
    const events = rows.slice(0, limit);
    const open = rows.length > limit || !isTerminal(task.status);
    return json(200, { events, nextCursor: open ? (events.at(-1)?.eventId ?? after) : undefined });
  }
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const error = (status: number, code: string, message: string, details?: unknown) =>
  json(status, { error: { code, message, ...(details === undefined ? {} : { details }) } });
