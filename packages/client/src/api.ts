/**
 * A typed client for Conveyor's HTTP API v1 (DESIGN §7) that runs in browsers: `fetch` only,
 * no Node imports, and the server's types through Hono's typed client (`import type`, erased
 * at build), so a route or shape changed on the server breaks callers at compile time. The
 * dashboard and the CLI both call the API through it (the CLI adds its source header).
 */
import type { App } from "@conveyor/functions/api";
import { type ClientResponse, hc, type InferResponseType } from "hono/client";

export interface ApiConnection {
  apiUrl: string;
  token: string;
  /** Sent with every request besides the token (the CLI names itself: `x-conveyor-source: cli`). */
  headers?: Record<string, string>;
}

/** JSON drops a key whose value is undefined, so on the wire such a key is absent: optional. */
type Absent<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: T[K];
};

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

type Client = ReturnType<typeof hc<App>>;
type TaskEndpoint = Client["v1"]["tasks"][":id"];

/** A task as the API serves it (DESIGN §12.5). */
export type TaskWire = InferResponseType<TaskEndpoint["$get"], 200>["task"];
/** An event as the API serves it (DESIGN §4). */
export type EventWire = InferResponseType<TaskEndpoint["events"]["$get"], 200>["events"][number];
export type TaskStatusWire = TaskWire["status"];
export type SubmitBody = Parameters<Client["v1"]["tasks"]["$post"]>[0]["json"];
export type NudgeWire = InferResponseType<TaskEndpoint["nudges"]["$post"], 202>["nudge"];
/** `queue` waits for the agent's next turn; `interrupt` cuts the current turn short. */
export type NudgeMode = NonNullable<Parameters<TaskEndpoint["nudges"]["$post"]>[0]["json"]["mode"]>;

/** An approval (the approvals contract), as the API serves it. */
export type ApprovalWire = Absent<
  InferResponseType<TaskEndpoint["approvals"]["$get"], 200>["approvals"][number]
>;
/** The body of an approve/deny. */
export type DecisionBody = Parameters<TaskEndpoint["approvals"][":approvalId"]["$post"]>[0]["json"];
/** Which of the caller's approvals `GET /v1/approvals` lists, and from where. */
export type ApprovalQuery = Pick<
  NonNullable<Parameters<Client["v1"]["approvals"]["$get"]>[0]>["query"],
  "status" | "cursor"
>;

/** One problem with a field of a request, as the API words it (`path` names the field). */
export interface ApiIssue {
  path?: string;
  message: string;
}

/** The API answered with its error shape (`{ error: { code, message, details? } }`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The per-field problems of a VALIDATION_ERROR, in the API's words. */
  get issues(): ApiIssue[] {
    const issues = (this.details as { issues?: unknown } | undefined)?.issues;
    return Array.isArray(issues)
      ? issues.filter((i): i is ApiIssue => typeof (i as ApiIssue)?.message === "string")
      : [];
  }

  /** The finer dotted reason (`task.terminal`, `approval.decided`), when the API gave one. */
  get reason(): string | undefined {
    const reason = (this.details as { reason?: unknown } | undefined)?.reason;
    return typeof reason === "string" ? reason : undefined;
  }
}

/** The API could not be reached at all (server down, offline, refused connection, CORS). */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetworkError";
  }
}

/**
 * @example
 * const api = createApi({ apiUrl: "https://abc.execute-api.eu-west-1.amazonaws.com", token });
 * const { tasks, nextCursor } = await api.list({ limit: 20 });
 */
export function createApi(connection: ApiConnection, fetchImpl?: Fetch) {
  const doFetch: Fetch = fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
  const authorization = `Bearer ${connection.token}`;
  const client = hc<App>(connection.apiUrl, {
    fetch: doFetch,
    headers: { ...connection.headers, authorization },
  });
  const tasks = client.v1.tasks;
  // Hono's client puts path params into the URL as given; ids typed by a person may hold anything.
  const param = (taskId: string) => ({ id: encodeURIComponent(taskId) });

  async function call<T>(request: () => Promise<ClientResponse<T>>, signal?: AbortSignal) {
    let response: ClientResponse<T>;
    try {
      response = await request();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new NetworkError(`Cannot reach the Conveyor API at ${connection.apiUrl} (${describe(error)})`);
    }
    if (!response.ok) throw await apiError(response);
    return { status: response.status, body: (await response.json()) as T };
  }
  const send = async <T>(request: () => Promise<ClientResponse<T>>, signal?: AbortSignal) =>
    (await call(request, signal)).body;

  return {
    /** Submits a task; a repeated Idempotency-Key returns the original task, `replayed`. */
    submit: async (body: SubmitBody, opts: { idempotencyKey?: string; signal?: AbortSignal } = {}) => {
      const { status, body: answer } = await call(
        () =>
          tasks.$post(
            { json: body },
            {
              headers: opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {},
              init: { signal: opts.signal },
            },
          ),
        opts.signal,
      );
      return { task: answer.task, replayed: status === 200 };
    },

    task: async (taskId: string, signal?: AbortSignal) =>
      (await send(() => tasks[":id"].$get({ param: param(taskId) }, { init: { signal } }), signal)).task,

    /** One page of the caller's tasks, newest first; `nextCursor` fetches the next. */
    list: (query: { status?: TaskStatusWire; limit: number; cursor?: string }, signal?: AbortSignal) =>
      send(
        () => tasks.$get({ query: { ...query, limit: String(query.limit) } }, { init: { signal } }),
        signal,
      ),

    /** One page of a task's events strictly after `after`, oldest first. */
    events: (taskId: string, query: { after?: string; limit: number }, signal?: AbortSignal) =>
      send(
        () =>
          tasks[":id"].events.$get(
            { param: param(taskId), query: { after: query.after, limit: String(query.limit) } },
            { init: { signal } },
          ),
        signal,
      ),

    /** Sends a nudge to a running task; the agent takes it at its next turn, or at once with `interrupt`. */
    nudge: async (taskId: string, message: string, signal?: AbortSignal, mode: NudgeMode = "queue") =>
      (
        await send(
          () =>
            tasks[":id"].nudges.$post(
              { param: param(taskId), json: { message, mode } },
              { init: { signal } },
            ),
          signal,
        )
      ).nudge,

    /** Cancels a task: at once if it has not started, at the agent's next boundary if it runs. */
    cancel: async (taskId: string, signal?: AbortSignal) =>
      (await send(() => tasks[":id"].cancel.$post({ param: param(taskId) }, { init: { signal } }), signal))
        .task,

    /** A task's approvals, oldest first (pending and decided). */
    approvals: async (taskId: string, signal?: AbortSignal) =>
      (await send(() => tasks[":id"].approvals.$get({ param: param(taskId) }, { init: { signal } }), signal))
        .approvals,

    /** One page of approvals across the caller's tasks, newest first; `nextCursor` fetches the next. */
    allApprovals: (query: ApprovalQuery, signal?: AbortSignal) =>
      send(() => client.v1.approvals.$get({ query }, { init: { signal } }), signal),

    /** Approves or denies a pending approval; 409 CONFLICT when it was decided or expired first. */
    decide: async (taskId: string, approvalId: string, decision: DecisionBody, signal?: AbortSignal) =>
      (
        await send(
          () =>
            tasks[":id"].approvals[":approvalId"].$post(
              { param: { ...param(taskId), approvalId: encodeURIComponent(approvalId) }, json: decision },
              { init: { signal } },
            ),
          signal,
        )
      ).approval,
  };
}

export type Api = ReturnType<typeof createApi>;

async function apiError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (typeof body.error?.code === "string" && typeof body.error.message === "string") {
      return new ApiError(response.status, body.error.code, body.error.message, body.error.details);
    }
  } catch {
    // Not our error shape (a proxy's HTML page, say): fall through to the status line.
  }
  return new ApiError(
    response.status,
    `HTTP_${response.status}`,
    response.statusText || "Unexpected response",
  );
}

/** fetch hides the useful part (ECONNREFUSED) in `cause`; a browser says only "Failed to fetch". */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}
