/**
 * The local stack's boot time, and its resident memory after 100 tasks ran end to end
 * (submit -> SQS -> dispatch -> AgentCore emulator -> scripted agent -> COMPLETED).
 *
 *   pnpm bench            (TASKS=100 to change the load)
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalStack } from "@conveyor/local/stack";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const TASKS = Number(process.env.TASKS ?? 100);

function rssMb(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const runStack = await startLocalStack({ port: 0, stateDir: mkdtempSync(join(tmpdir(), "conveyor-bench-")) });
const dynamoPid = runStack.pids.dynamodb!;
const runHeaders = { authorization: `Bearer ${runStack.token}`, "content-type": "application/json" };
const ids: string[] = [];
const t0 = performance.now();
for (let i = 0; i < TASKS; i++) {
  const res = await fetch(`${runStack.apiUrl}/v1/tasks`, {
    method: "POST",
    headers: runHeaders,
    body: JSON.stringify({ repo: "acme/api", description: `task ${i}`, options: { turns: 2, stepMs: 10 } }),
  });
  ids.push(((await res.json()) as { task: { taskId: string } }).task.taskId);
}
for (const id of ids) {
  for (;;) {
    const res = await fetch(`${runStack.apiUrl}/v1/tasks/${id}`, { headers: runHeaders });
    const { task } = (await res.json()) as { task: { status: string } };
    if (["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"].includes(task.status)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const runSeconds = (performance.now() - t0) / 1000;
const stackRss = rssMb(process.pid);
const javaRss = rssMb(dynamoPid);
const agentPids = runStack.agentcore.pids();
const agentRss = agentPids.reduce((sum, pid) => sum + rssMb(pid), 0);
await runStack.stop();

console.log(`
Local stack
  boot (DynamoDB Local + SQS + tables + API + AgentCore emulator)  ${(runStack.bootMs / 1000).toFixed(2)} s
  ${TASKS} tasks end to end (2 turns each)                          ${runSeconds.toFixed(1)} s
  resident memory after ${TASKS} tasks: stack process ${stackRss.toFixed(0)} MB, DynamoDB Local ${javaRss.toFixed(0)} MB,
  ${agentPids.length} agent sessions still up (idle ones stop after 5 s) using ${agentRss.toFixed(0)} MB together
`);
process.exit(0);
