import { EventSchemas } from "@ag-ui/core/schemas";
import type { AgUiEvent } from "@conveyor/core/event/ag-ui";
import { sequenceProblems } from "@conveyor/core/event/ag-ui-sequence";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { LocalStack } from "../src/stack.ts";
import { apiClient, startTestStack } from "./harness.ts";

/** A scripted run with turns, tool calls, a milestone and cost, slow enough to be watched live. */
const scripted = { turns: 3, stepMs: 40 };

describe("AG-UI over the WebSocket and HTTP", () => {
  let stack: LocalStack;
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    stack = await startTestStack({ limits: { activePerUser: 100 }, streamPollMs: 25 });
    api = apiClient(stack.apiUrl, stack.token);
  });
  afterAll(() => stack?.stop());

  const submit = async () => {
    const res = await api.submit({ repo: "acme/api", description: "watch me in AG-UI", options: scripted });
    expect(res.status).toBe(201);
    return res.body.task.taskId as string;
  };

  /** Every AG-UI event of a task over HTTP, `limit` per page, following `nextCursor`. */
  async function agUiOverHttp(taskId: string, limit: number) {
    const events: AgUiEvent[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await api.events(taskId, `?format=ag-ui&limit=${limit}${after ? `&after=${after}` : ""}`);
      expect(page.status).toBe(200);
      // A page never cuts a group: it ends on the last event of one.
      if (page.body.events.length > 0) expect(page.body.events.at(-1).rawEvent.last).toBe(true);
      events.push(...page.body.events);
      if (!page.body.nextCursor) return events;
      after = page.body.nextCursor;
    }
  }

  /**
   * An AG-UI client on the socket: subscribes with `format: "ag-ui"` and reads frames until
   * the run ends or `stop` says so. Identical repeats (replay meeting live delivery) are dropped.
   */
  async function agUiOverWs(
    taskId: string,
    opts: { after?: string; stop?: (events: AgUiEvent[]) => boolean },
  ) {
    const ws = new WebSocket(`${stack.wsUrl}?token=${encodeURIComponent(stack.token)}`);
    const events: AgUiEvent[] = [];
    try {
      await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`run not over after 60 s: ${events.length} events`)),
          60_000,
        );
        ws.on("message", (data) => {
          const text = String(data);
          const frame = JSON.parse(text) as { type: string };
          if (frame.type === "error") reject(new Error(text));
          // Control frames (`subscribed`) keep Conveyor's lower-case types. No dedup here: an
          // AG-UI client cannot, so a repeated frame must fail the comparison with HTTP.
          if (frame.type !== frame.type.toUpperCase()) return;
          events.push(frame as AgUiEvent);
          const ended = frame.type === "RUN_FINISHED" || frame.type === "RUN_ERROR";
          if (ended || opts.stop?.(events)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      ws.send(JSON.stringify({ action: "subscribe", taskId, format: "ag-ui", after: opts.after }));
      await done;
      return events;
    } finally {
      ws.close();
    }
  }

  const expectValid = (events: AgUiEvent[]) => {
    for (const event of events)
      expect(EventSchemas.safeParse(event).error?.issues ?? [], event.type).toEqual([]);
    expect(sequenceProblems(events)).toEqual([]);
  };

  it("streams a whole scripted run live as one well-formed AG-UI run, as HTTP serves it", async () => {
    const taskId = await submit();
    const live = await agUiOverWs(taskId, {});
    expectValid(live);
    const types = live.map((e) => e.type);
    expect(types[0]).toBe("RUN_STARTED");
    expect(types.at(-1)).toBe("RUN_FINISHED");
    expect(types.filter((t) => t === "TEXT_MESSAGE_START")).toHaveLength(scripted.turns);
    expect(types).toEqual(
      expect.arrayContaining(["TOOL_CALL_START", "TOOL_CALL_RESULT", "STEP_STARTED", "CUSTOM"]),
    );
    expect(live.filter((e) => e.type === "CUSTOM").map((e) => (e as { name: string }).name)).toContain(
      "conveyor.agent.cost",
    );

    const whole = await agUiOverHttp(taskId, 100);
    expectValid(whole);
    expect(live).toEqual(whole);
  });

  it("pages AG-UI over HTTP with nextCursor, without gaps or repeats", async () => {
    const taskId = await submit();
    await api.waitFor(taskId, ["COMPLETED", "FAILED"]);
    const whole = await agUiOverHttp(taskId, 100);
    expect(await agUiOverHttp(taskId, 3)).toEqual(whole);
    expectValid(whole);
  });

  it("resumes a cut socket with `after` and the rest joins without a gap", async () => {
    const taskId = await submit();
    // Cut after the first few complete groups.
    const head = await agUiOverWs(taskId, {
      stop: (events) => events.filter((e) => e.rawEvent.last).length >= 4,
    });
    const after = head.at(-1)!.rawEvent.eventId;
    expect(head.at(-1)!.rawEvent.last).toBe(true);
    const tail = await agUiOverWs(taskId, { after });
    expect(tail.every((e) => e.rawEvent.eventId > after)).toBe(true);
    const joined = [...head, ...tail];
    expectValid(joined);
    expect(joined).toEqual(await agUiOverHttp(taskId, 100));
  });

  it("refuses an unknown format in words", async () => {
    const taskId = await submit();
    const res = await api.events(taskId, "?format=sse");
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('format: must be "conveyor" or "ag-ui"');
  });
});
