import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { sessionIdFor } from "@conveyor/core/runtime";
import { startLocalStack } from "@conveyor/local/stack";
import { ClaudeConfig } from "../../packages/agent-kit/src/claude/config.ts";
import { Workspace } from "../../packages/agent-kit/src/claude/workspace.ts";
import { startFakeGitHub } from "../../packages/local/test/fake-github.ts";
import { bareRepo, git } from "../../packages/local/test/git-fixture.ts";
import {
  callTools,
  type StandinRequest,
  say,
  startModelStandin,
} from "../../packages/local/test/model-standin.ts";
import { percentile } from "./lib.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const RUNS = env("RUNS", 10);
const FILES = env("FILES", 1_000);
const SAMPLE_MS = env("SAMPLE_MS", 100);
const TERMINAL = ["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"];

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");
const loadAtStart = load();
// The handlers log each dispatch as a JSON line; only the report is printed.
const print = console.log;
console.log = () => undefined;
const root = mkdtempSync(join(tmpdir(), "conveyor-bench-agent-"));
const gitBase = join(root, "git");

// Everything started is stopped once, on the way out or on Ctrl-C.
let stopStack: (() => Promise<unknown>) | undefined;
let stopModel: (() => Promise<unknown>) | undefined;
let stopGitHub: (() => Promise<unknown>) | undefined;
let cleaned: Promise<void> | undefined;
const cleanup = () =>
  (cleaned ??= (async () => {
    await stopStack?.().catch(() => undefined);
    await stopModel?.().catch(() => undefined);
    await stopGitHub?.().catch(() => undefined);
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  })());
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}
// A failed run (a top-level await that throws included) still stops what it started.
const fail = (error: unknown) => {
  console.error(error);
  void cleanup().finally(() => process.exit(1));
};
process.once("uncaughtException", fail);
process.once("unhandledRejection", fail);

// ---- processes and their memory, from /proc ----

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0; // gone between listing and reading
  }
}

/** Every live process's parent, from /proc/<pid>/stat (the field after the parenthesised name). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.set(Number(name), ppid);
    } catch {}
  }
  return out;
}

function descendants(pid: number): number[] {
  const table = parents();
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

const isClaudeCode = (pid: number) => {
  try {
    return /claude/i.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch {
    return false;
  }
};

interface Memory {
  /** The session's agent process (node running the agent bundle). */
  agentKb: number;
  /** The Claude Code process(es) among its descendants. */
  claudeKb: number;
  /** The agent process and every descendant (Claude Code, the shells its Bash tool runs), at one instant. */
  totalKb: number;
  samples: number;
}

/** Samples a session's process tree every SAMPLE_MS until stopped; keeps each figure's peak. */
function sampleSession(pidOf: () => number | undefined) {
  const peak: Memory = { agentKb: 0, claudeKb: 0, totalKb: 0, samples: 0 };
  const sample = () => {
    const pid = pidOf();
    if (pid === undefined) return;
    const agentKb = rssKb(pid);
    if (agentKb === 0) return;
    let claudeKb = 0;
    let restKb = 0;
    for (const child of descendants(pid)) {
      const kb = rssKb(child);
      if (isClaudeCode(child)) claudeKb += kb;
      else restKb += kb;
    }
    peak.samples++;
    peak.agentKb = Math.max(peak.agentKb, agentKb);
    peak.claudeKb = Math.max(peak.claudeKb, claudeKb);
    peak.totalKb = Math.max(peak.totalKb, agentKb + claudeKb + restKb);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      // One more at the end: a scripted run with stepMs 0 can be over before the first tick
      // (its session's process is still up, idle, when the task is COMPLETED).
      sample();
      return peak;
    },
  };
}

// ---- the stack, the model stand-in and the fake GitHub ----

bareRepo(gitBase, "acme/api", {
  "README.md": "# api\n",
  "package.json": '{ "name": "api", "private": true }\n',
  "src/index.ts": 'export const hello = () => "hello";\n',
});
/** The claude task: 4 tool-use turns that write files and run commands, then a closing text turn. */
const TOOL_TURNS = [
  callTools({
    name: "Write",
    input: { file_path: "src/greeting.ts", content: 'export const greeting = "hi";\n' },
  }),
  callTools({ name: "Bash", input: { command: "mkdir -p docs && printf 'notes\\n' > docs/notes.md && ls" } }),
  callTools({
    name: "Write",
    input: { file_path: "src/format.ts", content: "export const fmt = String;\n" },
  }),
  callTools({ name: "Bash", input: { command: "git status --short && wc -l src/*.ts" } }),
];
/** Where the conversation is: one assistant message per model turn already answered. */
const turnOf = (req: StandinRequest) =>
  (req.body?.messages ?? []).filter((m: { role: string }) => m.role === "assistant").length;
const model = await startModelStandin((req) => TOOL_TURNS[turnOf(req)] ?? say("Added a greeting and notes."));
stopModel = model.close;
const github = await startFakeGitHub();
stopGitHub = github.stop;
const stack = await startLocalStack({
  port: 0,
  stateDir: join(root, "state"),
  reconcileMs: 0,
  githubApiUrl: github.url,
  githubToken: "test",
  limits: { activePerUser: 100 },
  agentEnv: {
    ANTHROPIC_BASE_URL: model.url,
    ANTHROPIC_API_KEY: "sk-ant-standin",
    CONVEYOR_GIT_BASE: gitBase,
    CONVEYOR_SCRATCH_DIR: join(root, "scratch"),
  },
  log: () => undefined,
});
stopStack = stack.stop;
const headers = { authorization: `Bearer ${stack.token}`, "content-type": "application/json" };

interface Ev {
  type: string;
  at: string;
  data: Record<string, unknown>;
}
async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
async function events(taskId: string) {
  const all: Ev[] = [];
  let after = "";
  for (;;) {
    const page = await call<{ events: Ev[]; nextCursor?: string }>(
      "GET",
      `/v1/tasks/${taskId}/events?limit=100${after ? `&after=${after}` : ""}`,
    );
    all.push(...page.events);
    if (page.events.length === 0 || !page.nextCursor) return all;
    after = page.nextCursor;
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  runningMs: number;
  firstAgentMs: number;
  completedMs: number;
  memory: Memory;
  agentEvents: number;
}

/**
 * One task, submit to terminal. Times are event timestamps (the stack's clock, this
 * machine's) minus the moment just before the submit request left, so polling adds nothing.
 */
async function runTask(options: Record<string, unknown>, description: string): Promise<Run> {
  const submitted = Date.now();
  const { task } = await call<{ task: { taskId: string } }>("POST", "/v1/tasks", {
    repo: "acme/api",
    description,
    options,
  });
  const sessionId = sessionIdFor(task.taskId);
  const sampler = sampleSession(() => stack.agentcore.pidOf(sessionId));
  const deadline = Date.now() + 180_000;
  let status = "";
  let memory: Memory;
  try {
    for (;;) {
      status = (await call<{ task: { status: string } }>("GET", `/v1/tasks/${task.taskId}`)).task.status;
      if (TERMINAL.includes(status)) break;
      if (Date.now() > deadline) throw new Error(`task ${task.taskId} still ${status} after 180 s`);
      await sleep(100);
    }
  } finally {
    memory = sampler.stop();
  }
  const all = await events(task.taskId);
  if (status !== "COMPLETED") {
    const last = all.filter((e) => e.type === "task.status").at(-1);
    throw new Error(`task ${task.taskId} ended ${status}: ${JSON.stringify(last?.data)}`);
  }
  const at = (match: (e: Ev) => boolean) => {
    const found = all.find(match);
    if (!found) throw new Error(`task ${task.taskId} has no such event`);
    return Date.parse(found.at) - submitted;
  };
  return {
    runningMs: at((e) => e.type === "task.status" && e.data.to === "RUNNING"),
    firstAgentMs: at((e) => e.type.startsWith("agent.")),
    completedMs: at((e) => e.type === "task.status" && e.data.to === "COMPLETED"),
    memory,
    agentEvents: all.filter((e) => e.type.startsWith("agent.")).length,
  };
}

const BRAINS = {
  claude: {
    options: { brain: "claude" },
    description: "Add a greeting and notes",
  },
  scripted: {
    options: { brain: "scripted", turns: 5, stepMs: 0 },
    description: "Add a greeting and notes",
  },
} as const;

const results: Record<keyof typeof BRAINS, Run[]> = { claude: [], scripted: [] };
for (const brain of ["claude", "scripted"] as const) {
  const { options, description } = BRAINS[brain];
  // One unrecorded run first: the disk cache holds the Claude Code binary and git after it.
  await runTask(options, description);
  for (let i = 0; i < RUNS; i++) results[brain].push(await runTask(options, description));
}
const requestsPerClaudeTask = model.mainRequests().length / (RUNS + 1);
const pulls = github.pulls("acme", "api").length;

// ---- the workspace on a repository of FILES files ----

const files: Record<string, string> = {};
for (let i = 0; i < FILES; i++) {
  const path = `src/m${Math.floor(i / 100)}/s${Math.floor(i / 10) % 10}/f${i}.ts`;
  files[path] = `export const value${i} = ${i};\n`;
}
bareRepo(gitBase, "acme/big", files);
const workspaceConfig = ClaudeConfig.fromEnv({
  PATH: process.env.PATH,
  CONVEYOR_GIT_BASE: gitBase,
  CONVEYOR_SCRATCH_DIR: join(root, "scratch"),
});
const clones: number[] = [];
const pushes: number[] = [];
for (let i = 0; i <= RUNS; i++) {
  let t0 = performance.now();
  const ws = await Workspace.prepare(workspaceConfig, {
    taskId: `bench${i}`,
    repo: "acme/big",
    branch: `conveyor/bench-${i}`,
    existing: false,
  });
  const cloneMs = performance.now() - t0;
  try {
    writeFileSync(join(ws.dir, "src/m0/s0/f0.ts"), `export const value0 = ${-i};\n`);
    writeFileSync(join(ws.dir, "CHANGELOG.md"), `- run ${i}\n`);
    t0 = performance.now();
    const commits = await Workspace.deliver(workspaceConfig, ws, `Bench change ${i}`);
    const pushMs = performance.now() - t0;
    if (commits !== 1) throw new Error(`expected one commit pushed, got ${commits}`);
    // The first round warms the disk cache, as above.
    if (i > 0) {
      clones.push(cloneMs);
      pushes.push(pushMs);
    }
  } finally {
    await Workspace.remove(ws);
  }
}
const branches = git(join(gitBase, "acme/big.git"), "branch", "--list", "conveyor/*").split("\n").length;

await cleanup();

// ---- the report ----

const pct = percentile;
const ms = (v: number) => `${v.toFixed(0)} ms`;
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const rows: string[][] = [["measure", "brain", "median", "p95", "n"]];
const row = (measure: string, brain: string, samples: number[], unit: (v: number) => string) =>
  rows.push([measure, brain, unit(pct(samples, 0.5)), unit(pct(samples, 0.95)), String(samples.length)]);
const perBrain: [string, (r: Run) => number, (v: number) => string, (keyof typeof BRAINS)[]][] = [
  ["submit -> RUNNING (session up)", (r) => r.runningMs, ms, ["claude", "scripted"]],
  ["submit -> first agent.* event", (r) => r.firstAgentMs, ms, ["claude", "scripted"]],
  ["submit -> COMPLETED", (r) => r.completedMs, ms, ["claude", "scripted"]],
  ["RSS, agent process (peak)", (r) => r.memory.agentKb, mb, ["claude", "scripted"]],
  ["RSS, Claude Code process (peak)", (r) => r.memory.claudeKb, mb, ["claude"]],
  ["RSS, session total (peak)", (r) => r.memory.totalKb, mb, ["claude", "scripted"]],
];
for (const [measure, pick, unit, brains] of perBrain) {
  for (const brain of brains) row(measure, brain, results[brain].map(pick), unit);
}
row(`workspace clone, ${FILES} files`, "claude", clones, ms);
row("workspace commit + push", "claude", pushes, ms);
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
const table = rows
  .map((r, i) => {
    const line = r.map((cell, c) =>
      c === 0 || c === 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!),
    );
    return i === 0 ? `${line.join("  ")}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line.join("  ");
  })
  .join("\n");
const samples = (brain: "claude" | "scripted") => results[brain].map((r) => r.memory.samples).join(",");
const eventCounts = (brain: "claude" | "scripted") => results[brain].map((r) => r.agentEvents).join(",");

print(`
Agent brains on the local stack (${RUNS} recorded runs each, after one warm-up run; one task at a time)

${table}

claude:   options { brain: "claude" }; the stand-in answers 4 tool-use turns (Write, Bash, Write, Bash)
          and a closing text turn: ${requestsPerClaudeTask.toFixed(1)} model requests per task; ${pulls} pull requests opened.
          agent.* events per task: ${eventCounts("claude")}
scripted: options { brain: "scripted", turns: 5, stepMs: 0 } (no sleep per turn; the default is 200 ms).
          agent.* events per task: ${eventCounts("scripted")}
Times: event timestamps minus the moment before POST /v1/tasks was sent.
Memory: VmRSS from /proc, peak over samples every ${SAMPLE_MS} ms from submit to the terminal status, plus one
  at its end. "agent process" is the session's node process (AgentCore emulator, one per session);
  "Claude Code process" is its descendant whose command line names claude; "session total" sums the
  agent process and all its descendants (Claude Code, the shells of its Bash tool) at one instant.
  Shared pages are counted in each process. Samples per run: claude ${samples("claude")}; scripted ${samples("scripted")}.
Workspace: Workspace.prepare (clone, branch, config) and Workspace.deliver (add, commit, push of 2 changed
  files) on a bare repository of ${FILES} files in ${FILES / 10} nested directories; ${branches} branches pushed.
Load average (1/5/15 min): ${loadAtStart} at start, ${load()} at end (node ${process.version}, ${availableParallelism()} CPUs)
`);
process.exit(0);
