import type { ApprovalWire, EventWire, Fetch, TaskStatusWire, TaskWire } from "@conveyor/client/api";
import { floorId, idTime } from "@conveyor/core/util/ulid";
import type { Decision } from "./approval.ts";
import { type Io, main } from "./cli.ts";
import { isTerminal } from "./follow.ts";

/**
 * An in-memory stand-in for the HTTP API with the same paging rules (DESIGN §12.1),
 * for the CLI's unit tests: strict `after`, `limit` pages, and `nextCursor` present
 * while the task is not terminal or more pages exist. Tests change the world between
 * requests with `beforeRequest`, e.g. to commit an event late. Approvals follow the
 * approvals contract: another user's task is 404, a decided or expired approval 409.
 */
export class FakeApi {
  readonly token = "cvy_test";
  /** Who the token belongs to: the `by` of the decisions it sends. */
  static readonly USER = "user_test";
  readonly tasks = new Map<string, TaskWire>();
  /** Each task's approvals, oldest first. */
  readonly approvals = new Map<string, ApprovalWire[]>();
  /** Tasks of another user: every route answers 404 for them, as the server does. */
  private readonly foreign = new Set<string>();
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
  /** Hears every committed event, e.g. to push it to a fake WebSocket gateway too. */
  onCommit?: (event: EventWire) => void;

  /** The ULID for `ms` with a chosen tail, so tests can order ids by hand. */
  static id(ms: number, seq = 0): string {
    return `${floorId(ms).slice(0, 10)}${String(seq).padStart(16, "0")}`;
  }

  addTask(task: Partial<TaskWire> & { taskId: string }, opts: { owner?: string } = {}): TaskWire {
    if (opts.owner && opts.owner !== FakeApi.USER) this.foreign.add(task.taskId);
    const full: TaskWire = {
      status: "RUNNING",
      repo: "acme/app",
      prNumber: undefined,
      issueNumber: undefined,
      description: "Fix the flaky test",
      options: {},
      approvals: { mode: "ask", timeoutS: 300 },
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
    this.onCommit?.(event);
    return event;
  }

  /** Moves the task and commits its `task.status` event, as one transaction does on the server. */
  transition(taskId: string, eventId: string, to: TaskStatusWire, extra: Partial<TaskWire> = {}): EventWire {
    const task = this.tasks.get(taskId)!;
    const event = this.commit(taskId, eventId, "task.status", { from: task.status, to });
    this.tasks.set(taskId, { ...task, ...extra, status: to });
    return event;
  }

  /**
   * The agent asks: the task moves to AWAITING_APPROVAL and `approval.requested` is
   * committed, in one step as the server's transaction does. Events take `eventId` and
   * the id after it; the approval's own id and times derive from it.
   */
  requestApproval(
    taskId: string,
    eventId: string,
    ask: { action: string; detail: string; timeoutS?: number },
  ): ApprovalWire {
    const createdAt = idTime(eventId);
    const approval: ApprovalWire = {
      approvalId: FakeApi.id(createdAt, 700 + (this.approvals.get(taskId)?.length ?? 0)),
      taskId,
      action: ask.action,
      detail: ask.detail,
      status: "pending",
      createdAt: new Date(createdAt).toISOString(),
      expiresAt: new Date(createdAt + (ask.timeoutS ?? 300) * 1000).toISOString(),
    };
    this.approvals.set(taskId, [...(this.approvals.get(taskId) ?? []), approval]);
    const task = this.tasks.get(taskId)!;
    if (task.status === "RUNNING") {
      this.commit(taskId, eventId, "task.status", {
        from: "RUNNING",
        to: "AWAITING_APPROVAL",
        reason: "approval_requested",
      });
      this.tasks.set(taskId, { ...task, status: "AWAITING_APPROVAL" });
    }
    const { approvalId, action, detail, expiresAt } = approval;
    this.commit(taskId, nextId(eventId), "approval.requested", { approvalId, action, detail, expiresAt });
    return approval;
  }

  /**
   * Decides a pending approval, as an answer from anywhere would (`by` a user, "timeout",
   * "policy"): `approval.decided` is committed and the task goes back to RUNNING once
   * nothing else waits.
   */
  settle(
    taskId: string,
    approvalId: string,
    answer: { decision: Decision; by: string; comment?: string; eventId?: string },
  ): ApprovalWire {
    const list = this.approvals.get(taskId) ?? [];
    const index = list.findIndex((approval) => approval.approvalId === approvalId);
    const eventId = answer.eventId ?? FakeApi.id(Date.now(), ++this.sequence);
    const settled: ApprovalWire = {
      ...list[index]!,
      status: answer.decision === "approve" ? "approved" : "denied",
      decision: answer.decision,
      by: answer.by,
      ...(answer.comment ? { comment: answer.comment } : {}),
      decidedAt: new Date(idTime(eventId)).toISOString(),
    };
    list[index] = settled;
    const { decision, by, comment } = settled;
    this.commit(taskId, eventId, "approval.decided", {
      approvalId,
      decision,
      by,
      ...(comment ? { comment } : {}),
    });
    const task = this.tasks.get(taskId)!;
    if (task.status === "AWAITING_APPROVAL" && !list.some((approval) => approval.status === "pending")) {
      this.commit(taskId, nextId(eventId), "task.status", {
        from: "AWAITING_APPROVAL",
        to: "RUNNING",
        reason: "approval_decided",
      });
      this.tasks.set(taskId, { ...task, status: "RUNNING" });
    }
    return settled;
  }

  private sequence = 0;

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
    if (parts[0] === "v1" && parts[1] === "approvals" && parts.length === 2 && request.method === "GET")
      return this.allApprovals(url.searchParams);
    if (parts[0] !== "v1" || parts[1] !== "tasks") return error(404, "NOT_FOUND", `No route ${url.pathname}`);
    const [, , taskId, sub, subId] = parts;
    if (!taskId && request.method === "POST")
      return this.submit(body as Record<string, unknown>, request.headers);
    if (!taskId) return this.list(url.searchParams);
    const task = this.tasks.get(taskId);
    if (!task || this.foreign.has(taskId)) return error(404, "NOT_FOUND", `task ${taskId} not found`);
    if (!sub) return json(200, { task });
    if (sub === "cancel" && request.method === "POST") return this.cancel(task);
    if (sub === "approvals" && !subId && request.method === "GET")
      return json(200, { approvals: this.approvals.get(taskId) ?? [] });
    if (sub === "approvals" && subId && request.method === "POST") return this.decide(taskId, subId, body);
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

  /** An answer from the token's user; a pending approval past its expiry is expired first, as the server does. */
  private decide(taskId: string, approvalId: string, body: unknown) {
    const { decision, comment } = (body ?? {}) as { decision?: unknown; comment?: unknown };
    if (decision !== "approve" && decision !== "deny")
      return invalid("decision", 'must be "approve" or "deny"');
    if (comment !== undefined && (typeof comment !== "string" || comment.length > 2000))
      return invalid("comment", "must be text of at most 2000 characters");
    let approval = this.approvals.get(taskId)?.find((a) => a.approvalId === approvalId);
    if (!approval) return error(404, "NOT_FOUND", `approval ${approvalId} not found`);
    if (approval.status === "pending" && Date.parse(approval.expiresAt) <= Date.now()) {
      approval = this.settle(taskId, approvalId, { decision: "deny", by: "timeout" });
    }
    if (approval.status !== "pending") {
      const expired = approval.by === "timeout";
      return error(409, "CONFLICT", `Approval is already ${expired ? "expired" : approval.status}`, {
        reason: expired ? "approval.expired" : "approval.decided",
        approval,
      });
    }
    const settled = this.settle(taskId, approvalId, {
      decision,
      by: FakeApi.USER,
      ...(typeof comment === "string" ? { comment } : {}),
    });
    return json(200, { approval: settled });
  }

  /** The caller's approvals across tasks, newest first, paged like tasks. */
  private allApprovals(query: URLSearchParams) {
    const status = query.get("status");
    if (status !== null && status !== "pending" && status !== "decided")
      return invalid("status", 'must be "pending" or "decided"');
    const limit = Number(query.get("limit") ?? 50);
    const cursor = query.get("cursor");
    const all = [...this.approvals.entries()]
      .filter(([taskId]) => !this.foreign.has(taskId))
      .flatMap(([, list]) => list)
      .filter((a) => !status || (status === "pending") === (a.status === "pending"))
      .sort((a, b) => (a.approvalId < b.approvalId ? 1 : -1))
      .filter((a) => !cursor || a.approvalId < cursor);
    const approvals = all.slice(0, limit);
    return json(200, {
      approvals,
      nextCursor: all.length > limit ? approvals.at(-1)?.approvalId : undefined,
    });
  }

  private list(query: URLSearchParams) {
    const limit = Number(query.get("limit") ?? 20);
    const cursor = query.get("cursor");
    const all = [...this.tasks.values()]
      .filter((task) => !this.foreign.has(task.taskId))
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
/** The API's 400 for a bad field: the message names it, `details.issues` lists it. */
const invalid = (path: string, message: string) =>
  error(400, "VALIDATION_ERROR", `${path}: ${message}`, {
    reason: "request.invalid",
    issues: [{ path, message }],
  });

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The ULID right after `id`: the second event of one transaction. */
function nextId(id: string): string {
  const digits = id.split("");
  for (let i = digits.length - 1; i >= 0; i--) {
    const next = CROCKFORD.indexOf(digits[i]!) + 1;
    digits[i] = CROCKFORD[next % 32]!;
    if (next < 32) break;
  }
  return digits.join("");
}

/** Runs the CLI in-process against `fetch`, capturing both streams. */
export async function runCli(argv: string[], fetch: Fetch, io: Partial<Io> = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main([...argv, "--api-url", "http://api.test", "--token", "cvy_test"], {
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    env: {},
    cwd: "/",
    fetch,
    pollIntervalMs: 0,
    ...io,
  });
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}
