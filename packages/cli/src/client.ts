import type { App } from "@conveyor/functions/api";
import { type ClientResponse, hc, type InferResponseType } from "hono/client";
import * as v from "valibot";
import { ApprovalList, ApprovalReply, type ApprovalsSetting, type Decision } from "./approval.ts";

/** Where the API is and who we are to it. */
export interface Connection {
  apiUrl: string;
  token: string;
  /** The WebSocket API for live events; without it, followers poll. */
  wsUrl?: string;
}

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

type Client = ReturnType<typeof hc<App>>;
type TaskEndpoint = Client["v1"]["tasks"][":id"];

/** A task as the API serves it (DESIGN §12.5). */
export type TaskWire = InferResponseType<TaskEndpoint["$get"], 200>["task"];
/** An event as the API serves it (DESIGN §4). */
export type EventWire = InferResponseType<TaskEndpoint["events"]["$get"], 200>["events"][number];
export type TaskStatus = TaskWire["status"];

/** What `POST /v1/tasks` takes; `approvals` is the contract's gate setting. */
export type SubmitBody = Parameters<Client["v1"]["tasks"]["$post"]>[0]["json"] & {
  approvals?: ApprovalsSetting;
};

/** The API answered with an error body (`{ error: { code, message } }`). */
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
}

/** The API could not be reached at all (server down, DNS, refused connection). */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetworkError";
  }
}

/**
 * The Conveyor HTTP API through Hono's typed client, so a route or shape changed on
 * the server breaks this file at compile time instead of a user at run time.
 *
 * @example
 * const api = createApi({ apiUrl: "http://localhost:8787", token });
 * const task = await api.task("01J...");
 */
export function createApi(connection: Connection, fetchImpl?: Fetch) {
  const client = hc<App>(connection.apiUrl, {
    fetch: fetchImpl,
    // The source header makes the server record these tasks as submitted from the CLI.
    headers: { authorization: `Bearer ${connection.token}`, "x-conveyor-source": "cli" },
  });
  const tasks = client.v1.tasks;
  // hono's client puts path params into the URL as given; ids typed by a person may hold anything.
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

  /**
   * A route the typed client does not know yet (the approval routes): plain fetch, same
   * headers and errors, and the reply checked against `schema` before anyone reads it.
   */
  async function fetchChecked<S extends v.GenericSchema>(
    schema: S,
    path: string,
    init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
  ): Promise<v.InferOutput<S>> {
    const { method = "GET", body, signal } = init;
    const answer = await call(
      () =>
        (fetchImpl ?? fetch)(`${connection.apiUrl.replace(/\/+$/, "")}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${connection.token}`,
            "x-conveyor-source": "cli",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
        }) as Promise<ClientResponse<unknown>>,
      signal,
    );
    const parsed = v.safeParse(schema, answer.body);
    if (parsed.success) return parsed.output;
    const issue = parsed.issues[0];
    const where = issue ? v.getDotPath(issue) : undefined;
    throw new Error(
      `The API's reply to ${method} ${path} was not understood` +
        (issue ? ` (${where ? `${where}: ` : ""}${issue.message})` : ""),
    );
  }

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

    /** One page of the caller's tasks, newest first. */
    list: (query: { status?: TaskStatus; limit: number; cursor?: string }, signal?: AbortSignal) =>
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
    nudge: async (
      taskId: string,
      message: string,
      signal?: AbortSignal,
      mode: "queue" | "interrupt" = "queue",
    ) =>
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

    /** A task's approvals, oldest first, pending and decided. */
    approvals: async (taskId: string, signal?: AbortSignal) =>
      (await fetchChecked(ApprovalList, `/v1/tasks/${encodeURIComponent(taskId)}/approvals`, { signal }))
        .approvals,

    /** One page of approvals across the caller's tasks, newest first. */
    allApprovals: (query: { status?: "pending" | "decided"; cursor?: string }, signal?: AbortSignal) => {
      const search = new URLSearchParams(
        Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined),
      ).toString();
      return fetchChecked(ApprovalList, `/v1/approvals${search ? `?${search}` : ""}`, { signal });
    },

    /** Answers a pending approval; 409 when it was already decided or expired. */
    decide: async (
      taskId: string,
      approvalId: string,
      answer: { decision: Decision; comment?: string },
      signal?: AbortSignal,
    ) =>
      (
        await fetchChecked(
          ApprovalReply,
          `/v1/tasks/${encodeURIComponent(taskId)}/approvals/${encodeURIComponent(approvalId)}`,
          { method: "POST", body: answer, signal },
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

/** fetch hides the useful part (ECONNREFUSED, ENOTFOUND) in `cause`. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}
