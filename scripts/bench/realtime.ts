/**
 * Live status latency: from an event's write to a watcher's receipt, pushed over the
 * WebSocket (Events stream -> fan-out -> @connections), beside the same workload watched
 * by polling `GET /events` every 500 ms (what peers do), and what each costs in requests per
 * watcher-minute: counted during the run, and when idle (push: one WebSocket ping per ping
 * interval the watchers ran with; polling: one request per poll).
 *
 *   pnpm bench:realtime      (TASKS=5 EVENTS=100 WATCHERS=4 GAP_MS=20 POLL_MS=500 PING_MS=300000)
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Seen, type WebSocketConstructor, watchTask } from "@conveyor/client";
import { Actor } from "@conveyor/core/actor";
import { TaskEvent } from "@conveyor/core/event";
import { Task } from "@conveyor/core/task";
import { rewind } from "@conveyor/core/util/ulid";
import { startLocalStack } from "@conveyor/local/stack";
import WebSocket from "ws";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const TASKS = Number(process.env.TASKS ?? 5);
const EVENTS = Number(process.env.EVENTS ?? 100);
const WATCHERS = Number(process.env.WATCHERS ?? 4);
const GAP_MS = Number(process.env.GAP_MS ?? 20);
const POLL_MS = Number(process.env.POLL_MS ?? 500);
/** The watchers' ping interval: the client's default, under API Gateway's 10-minute idle limit. */
const PING_MS = Number(process.env.PING_MS ?? 5 * 60_000);

/** Requests the watchers sent: WebSocket messages (subscribe, ping) or HTTP polls. */
let requests = 0;
/** ws, counting every message a watcher sends. */
class CountingWebSocket extends WebSocket {
  override send(data: Parameters<WebSocket["send"]>[0], ...rest: unknown[]) {
    requests++;
    return (super.send as (data: unknown, ...rest: unknown[]) => void)(data, ...rest);
  }
}

const stack = await startLocalStack({
  port: 0,
  stateDir: mkdtempSync(join(tmpdir(), "conveyor-bench-")),
  dispatch: false,
  limits: { activePerUser: 1_000 },
});
const user = { type: "user" as const, tenantId: "local", userId: "dev" };
const system = { type: "system" as const, name: "bench-writer" };

interface Result {
  latencies: number[];
  lost: number;
  outOfOrder: number;
  seconds: number;
  /** Requests per watcher-minute, counted. */
  perWatcherMinute: number;
}

async function newTask() {
  const { task } = await Actor.provide(user, () =>
    Task.submit(
      { ...stack.core, queue: { send: async () => undefined } },
      { repo: "acme/api", description: "bench" },
    ),
  );
  return task.taskId;
}

/** The agent's side: EVENTS turns GAP_MS apart, then COMPLETED. */
async function write(taskId: string) {
  await Actor.provide(system, async () => {
    await Task.transition(stack.core, taskId, { to: "STARTING", reason: "claimed" });
    await Task.transition(stack.core, taskId, { to: "RUNNING", reason: "agent_started" });
    for (let turn = 1; turn <= EVENTS; turn++) {
      await TaskEvent.append(stack.core, taskId, "agent.turn", { turn, text: `turn ${turn}` });
      await new Promise((r) => setTimeout(r, GAP_MS));
    }
    await Task.transition(stack.core, taskId, { to: "COMPLETED", reason: "completed" });
  });
}

type Watcher = (taskId: string, onEvent: (event: TaskEvent.Info) => void) => Promise<void>;

const pushWatcher: Watcher = async (taskId, onEvent) => {
  const watcher = watchTask({
    wsUrl: stack.wsUrl,
    token: stack.token,
    taskId,
    WebSocketImpl: CountingWebSocket as unknown as WebSocketConstructor,
    pingIntervalMs: PING_MS,
  });
  for await (const event of watcher.events()) onEvent(event);
};

const pollWatcher: Watcher = async (taskId, onEvent) => {
  const seen = new Seen();
  let cursor: string | undefined;
  for (;;) {
    // Each poll starts from the cursor rewound by the skew window, then pages strictly forward.
    let after = rewind(cursor, stack.config.limits.skewMs);
    let done = false;
    for (;;) {
      requests++;
      const res = await fetch(
        `${stack.apiUrl}/v1/tasks/${taskId}/events?limit=100${after ? `&after=${after}` : ""}`,
        {
          headers: { authorization: `Bearer ${stack.token}` },
        },
      );
      const page = (await res.json()) as { events: TaskEvent.Info[] };
      for (const event of page.events) {
        if (seen.has(event.eventId)) continue;
        seen.add(event.eventId);
        if (!cursor || event.eventId > cursor) cursor = event.eventId;
        onEvent(event);
        if (event.type === "task.status" && (event.data as { to: string }).to === "COMPLETED") done = true;
      }
      if (page.events.length < 100) break;
      after = page.events.at(-1)?.eventId;
    }
    if (done) return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
};

async function run(watcher: Watcher): Promise<Result> {
  const taskIds = await Promise.all(Array.from({ length: TASKS }, newTask));
  const latencies: number[] = [];
  let received = 0;
  let outOfOrder = 0;
  let watcherMs = 0;
  requests = 0;
  const watching = taskIds.flatMap((taskId) =>
    Array.from({ length: WATCHERS }, async () => {
      let last = "";
      const since = performance.now();
      await watcher(taskId, (event) => {
        received++;
        if (event.eventId < last) outOfOrder++;
        last = event.eventId > last ? event.eventId : last;
        if (event.type === "agent.turn") latencies.push(Date.now() - Date.parse(event.at));
      });
      watcherMs += performance.now() - since;
    }),
  );
  await new Promise((r) => setTimeout(r, 500)); // everyone subscribed
  const t0 = performance.now();
  await Promise.all(taskIds.map(write));
  await Promise.all(watching);
  const seconds = (performance.now() - t0) / 1000;
  const expected = TASKS * WATCHERS * (EVENTS + 4); // turns + submitted + 3 status changes
  const perWatcherMinute = requests / (watcherMs / 60_000);
  return { latencies, lost: expected - received, outOfOrder, seconds, perWatcherMinute };
}

const q = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
const describe = (name: string, r: Result) => {
  const s = [...r.latencies].sort((a, b) => a - b);
  return {
    name,
    p50: q(s, 0.5),
    p95: q(s, 0.95),
    p99: q(s, 0.99),
    line: `${name.padEnd(28)} p50 ${q(s, 0.5)} ms   p95 ${q(s, 0.95)} ms   p99 ${q(s, 0.99)} ms   ${(
      (TASKS * EVENTS) / r.seconds
    ).toFixed(
      0,
    )} events/s written, ${(r.latencies.length / r.seconds).toFixed(0)} deliveries/s   lost ${r.lost}   out-of-order ${r.outOfOrder}`,
    perWatcherMinute: r.perWatcherMinute,
  };
};

const push = describe("WebSocket push", await run(pushWatcher));
const poll = describe(`polling every ${POLL_MS} ms`, await run(pollWatcher));
await stack.stop();

console.log(`
${TASKS} tasks x ${EVENTS} events x ${WATCHERS} watchers each, one event per ${GAP_MS} ms per task
  ${push.line}
  ${poll.line}
  polling / push latency: p50 ${(poll.p50 / push.p50).toFixed(1)}x   p95 ${(poll.p95 / push.p95).toFixed(1)}x   p99 ${(poll.p99 / push.p99).toFixed(1)}x
  requests per watcher-minute, client to server:
    WebSocket push        ${push.perWatcherMinute.toFixed(1)} during this run (subscribes and pings, counted); idle ${(60_000 / PING_MS).toFixed(2)} (one ping per ${PING_MS / 1_000} s)
    polling every ${POLL_MS} ms  ${poll.perWatcherMinute.toFixed(1)} during this run (GET /events, counted); idle ${(60_000 / POLL_MS).toFixed(0)} (one request per poll)
  (the stream poller reads an idle shard every 250 ms, as Lambda does)
`);
process.exit(0);
