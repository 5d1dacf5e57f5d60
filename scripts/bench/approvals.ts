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
import { createApi } from "@conveyor/client/api";
import { startLocalStack } from "@conveyor/local/stack";
import { allEvents, dataOf, latencyLine, until } from "./lib.ts";

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
const api = createApi({ apiUrl: stack.apiUrl, token: stack.token });

/** One gate: submit, wait for the question, approve, and read decided -> resumed from the events. */
async function gate(): Promise<number> {
  const { task } = await api.submit({
    repo: "acme/api",
    description: "bench the gate",
    options: { turns: 1, stepMs: 0, approveAt: 1 },
  });
  const pending = await until("the question", async () => {
    const approvals = await api.approvals(task.taskId);
    return approvals.find((a) => a.status === "pending");
  });
  await api.decide(task.taskId, pending.approvalId, { decision: "approve" });
  const all = await until("the agent to finish", async () => {
    const got = await allEvents(api, task.taskId);
    return got.some((e) => e.type === "task.status" && dataOf(e).to === "COMPLETED") ? got : undefined;
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
  console.log(latencyLine("decision -> agent resumes (runtime push)", pushed));
  console.log(latencyLine("decision -> agent resumes (push lost: heartbeat re-read)", heartbeat));
} finally {
  await stack.stop();
}
