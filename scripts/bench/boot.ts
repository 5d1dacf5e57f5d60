/**
 * The local stack's boot time, how long an agent session takes to start (a task's
 * STARTING -> RUNNING: the AgentCore emulator spawns the session's process, waits for its
 * /ping, forwards the invocation, the agent claims the run), and resident memory after
 * 100 tasks ran end to end (submit -> SQS -> dispatch -> AgentCore emulator -> scripted
 * agent -> COMPLETED).
 *
 *   pnpm bench            (TASKS=100 SESSIONS=5 to change the load)
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalStack } from "@conveyor/local/stack";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const TASKS = Number(process.env.TASKS ?? 100);
const SESSIONS = Number(process.env.SESSIONS ?? 5);
const TERMINAL = ["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"];

function rssMb(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const runStack = await startLocalStack({ port: 0, stateDir: mkdtempSync(join(tmpdir(), "conveyor-bench-")) });
const dynamoPid = runStack.pids.dynamodb!;
const runHeaders = { authorization: `Bearer ${runStack.token}`, "content-type": "application/json" };

async function submit(i: number) {
  const res = await fetch(`${runStack.apiUrl}/v1/tasks`, {
    method: "POST",
    headers: runHeaders,
    body: JSON.stringify({ repo: "acme/api", description: `task ${i}`, options: { turns: 2, stepMs: 10 } }),
  });
  return ((await res.json()) as { task: { taskId: string } }).task.taskId;
}

async function settle(id: string) {
  for (;;) {
    const res = await fetch(`${runStack.apiUrl}/v1/tasks/${id}`, { headers: runHeaders });
    const { task } = (await res.json()) as { task: { status: string } };
    if (TERMINAL.includes(task.status)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** STARTING -> RUNNING of one task, from its recorded status events. */
async function sessionStartMs(id: string) {
  const res = await fetch(`${runStack.apiUrl}/v1/tasks/${id}/events?limit=100`, { headers: runHeaders });
  const { events } = (await res.json()) as { events: { type: string; at: string; data?: { to?: string } }[] };
  const at = (to: string) => events.find((e) => e.type === "task.status" && e.data?.to === to)?.at;
  const starting = at("STARTING");
  const running = at("RUNNING");
  return starting && running ? Date.parse(running) - Date.parse(starting) : Number.NaN;
}

const q = (values: number[], p: number) => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
};

// One session at a time: what a single task waits for its agent on a quiet stack.
const single: number[] = [];
for (let i = 0; i < SESSIONS; i++) {
  const id = await submit(i);
  await settle(id);
  single.push(await sessionStartMs(id));
}

const ids: string[] = [];
const t0 = performance.now();
for (let i = 0; i < TASKS; i++) ids.push(await submit(i));
for (const id of ids) await settle(id);
const runSeconds = (performance.now() - t0) / 1000;
const burst = await Promise.all(ids.map(sessionStartMs));
const stackRss = rssMb(process.pid);
const javaRss = rssMb(dynamoPid);
const agentPids = runStack.agentcore.pids();
const agentRss = agentPids.reduce((sum, pid) => sum + rssMb(pid), 0);
await runStack.stop();

console.log(`
Local stack
  boot (DynamoDB Local + SQS + tables + API + AgentCore emulator)  ${(runStack.bootMs / 1000).toFixed(2)} s
  agent session start (STARTING -> RUNNING), one at a time:        ${single.map((ms) => `${ms} ms`).join(", ")}
  ${TASKS} tasks end to end (2 turns each)                          ${runSeconds.toFixed(1)} s
    their session starts: p50 ${q(burst, 0.5)} ms   p95 ${q(burst, 0.95)} ms   max ${q(burst, 1)} ms
  resident memory after ${TASKS} tasks: stack process ${stackRss.toFixed(0)} MB, DynamoDB Local ${javaRss.toFixed(0)} MB,
  ${agentPids.length} agent sessions still up (idle ones stop after 5 s) using ${agentRss.toFixed(0)} MB together
`);
process.exit(0);
