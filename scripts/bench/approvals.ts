/**
 * Approval gate figures against the local stack, with the scripted brain: the time from a
 * decision (`approval.decided` committed) to the agent resuming (its next event, the gated
 * turn), p50/p99 over N gates; once with the runtime push, once with every approval push
 * refused so only the agent's heartbeat re-read picks the decision up.
 *
 *   pnpm bench:approvals      (GATES=30 PARALLEL=5 HEARTBEAT_MS=1000 to change it)
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalStack } from "@conveyor/local/stack";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const GATES = Number(process.env.GATES ?? 30);
const PARALLEL = Number(process.env.PARALLEL ?? 5);
const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS ?? 1_000);

let dropPushes = false;
const stack = await startLocalStack({
  port: 0,
  stateDir: mkdtempSync(join(tmpdir(), "conveyor-bench-")),
  reconcileMs: 0,
  limits: { activePerUser: 1_000, heartbeatMs: HEARTBEAT_MS },
  // Heartbeat-only pickup: the AgentCore emulator refuses approval pushes, as if lost.
  fault: (_sessionId, payload) =>
    dropPushes && (payload as { kind?: string }).kind === "approval" ? 500 : undefined,
});
const headers = { authorization: `Bearer ${stack.token}`, "content-type": "application/json" };
interface Ev {
  eventId: string;
  type: string;
  at: string;
  data: Record<string, unknown>;
}
// biome-ignore lint/suspicious/noExplicitAny: bench client, shapes are read as needed
const call = async (method: string, path: string, body?: unknown): Promise<any> => {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const events = async (taskId: string) => {
  const all: Ev[] = [];
  let after = "";
  for (;;) {
    const page = await call("GET", `/v1/tasks/${taskId}/events?limit=100${after ? `&after=${after}` : ""}`);
    all.push(...page.events);
    if (page.events.length < 100) return all;
    after = page.events.at(-1)?.eventId ?? "";
  }
};
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
const pct = (samples: number[], p: number) => {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
};
const line = (name: string, samples: number[]) =>
  `${name.padEnd(58)} p50 ${pct(samples, 0.5).toFixed(0)} ms   p99 ${pct(samples, 0.99).toFixed(0)} ms   (n=${samples.length})`;

/** One gate: submit, wait for the question, approve, and read decided -> resumed from the events. */
async function gate(): Promise<number> {
  const { task } = await call("POST", "/v1/tasks", {
    repo: "acme/api",
    description: "bench the gate",
    options: { turns: 1, stepMs: 0, approveAt: 1 },
  });
  const pending = await until("the question", async () => {
    const { approvals } = await call("GET", `/v1/tasks/${task.taskId}/approvals`);
    return approvals?.find((a: { status: string }) => a.status === "pending");
  });
  await call("POST", `/v1/tasks/${task.taskId}/approvals/${pending.approvalId}`, { decision: "approve" });
  const all = await until("the agent to finish", async () => {
    const got = await events(task.taskId);
    return got.some((e) => e.type === "task.status" && e.data.to === "COMPLETED") ? got : undefined;
  });
  const decided = all.find((e) => e.type === "approval.decided")!;
  // The agent's next event: the gated turn it writes once the request has resolved.
  const resumed = all.find((e) => e.type === "agent.turn" && e.eventId > decided.eventId)!;
  return Date.parse(resumed.at) - Date.parse(decided.at);
}

async function measure(count: number) {
  const samples: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < count) {
        next++;
        samples.push(await gate());
      }
    }),
  );
  return samples;
}

try {
  await measure(Math.min(3, GATES)); // warm the agent bundle and the tables
  const pushed = await measure(GATES);
  dropPushes = true;
  const heartbeat = await measure(GATES);
  console.log(
    `approval gates, scripted brain, local stack, heartbeat every ${HEARTBEAT_MS} ms, ${PARALLEL} at once`,
  );
  console.log(line("decision -> agent resumes (runtime push)", pushed));
  console.log(line("decision -> agent resumes (push lost: heartbeat re-read)", heartbeat));
} finally {
  await stack.stop();
}
