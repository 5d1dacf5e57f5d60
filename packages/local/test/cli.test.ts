import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { runCli } from "./cli-driver.ts";
import { startTestStack } from "./harness.ts";

/** The CLI in-process against the live stack, with the stack's URL and token. */
async function conveyor(stack: LocalStack, ...argv: string[]) {
  return runCli(stack, argv);
}

async function conveyorWith(stack: LocalStack, env: Record<string, string>, ...argv: string[]) {
  return runCli(stack, argv, { env });
}

const root = resolve(import.meta.dirname, "../../..");

/** How the README's CLI section calls the CLI (e.g. `pnpm conveyor`), read from the README itself. */
function readmeCommand(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## The CLI"));
  const form = /^(\S.*?) run "/m.exec(section)?.[1];
  if (!form) throw new Error("README.md's CLI section shows no `run` command");
  return form.split(" ");
}

/** Runs the CLI as a person does from the repo root, in its own process, with a clean npm environment. */
async function shell(stack: LocalStack, ...argv: string[]) {
  const [bin, ...prefix] = readmeCommand();
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const child = spawn(bin!, [...prefix, ...argv], {
    cwd: root,
    env: { ...env, CONVEYOR_API_URL: stack.apiUrl, CONVEYOR_TOKEN: stack.token, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  return { code, stdout, stderr };
}

/** A two-turn scripted run whose events go to stdout as NDJSON. */
const SHORT_RUN_AS_JSON = [
  "--repo",
  "acme/api",
  "--option",
  "turns=2",
  "--option",
  "stepMs=10",
  "--output",
  "json",
];

describe("conveyor CLI against the local stack", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it("run streams turns, tool calls and milestones and exits 0 on COMPLETED", async () => {
    const res = await conveyor(
      stack,
      "run",
      "add a health check",
      "--repo",
      "acme/api",
      "--option",
      "turns=3",
      "--option",
      "stepMs=30",
    );
    expect(res.code, res.stderr).toBe(0);
    const out = res.stdout + res.stderr;
    for (const turn of [1, 2, 3]) expect(out).toContain(`Turn ${turn}/3`);
    expect(out).toContain("read_file");
    expect(out).toContain("pull request opened");
    expect(out).toContain("COMPLETED");
  });

  it("run follows over the WebSocket when it knows the URL, every event once", async () => {
    const env = { CONVEYOR_API_URL: stack.apiUrl, CONVEYOR_TOKEN: stack.token, CONVEYOR_WS_URL: stack.wsUrl };
    const before = stack.gateway.connections().length;
    const running = conveyorWith(
      stack,
      env,
      "run",
      "over ws",
      "--repo",
      "acme/api",
      "--option",
      "turns=3",
      "--option",
      "stepMs=100",
      "--output",
      "json",
    );
    // While it runs, a socket is open for it.
    let sawSocket = false;
    for (let i = 0; i < 40 && !sawSocket; i++) {
      sawSocket = stack.gateway.connections().length > before;
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await running;
    expect(sawSocket).toBe(true);
    expect(res.code, res.stderr).toBe(0);
    const ids = res.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((l) => l.eventId)
      .map((l) => l.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThan(10);
  });

  it("run exits 1 when the task fails, saying why", async () => {
    const res = await conveyor(
      stack,
      "run",
      "break",
      "--repo",
      "acme/api",
      "--option",
      "turns=3",
      "--option",
      "stepMs=10",
      "--option",
      "failAtTurn=1",
    );
    expect(res.code).toBe(1);
    expect(res.stdout + res.stderr).toContain("Scripted failure at turn 1");
  });

  it("--output json prints NDJSON events, every one exactly once and in order", async () => {
    const res = await conveyor(stack, "run", "json please", ...SHORT_RUN_AS_JSON);
    expect(res.code).toBe(0);
    const lines = res.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const events = lines.filter((l) => l.eventId);
    const ids = events.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    const taskId = events[0].taskId;
    const served = await fetch(`${stack.apiUrl}/v1/tasks/${taskId}/events?limit=100`, {
      headers: { authorization: `Bearer ${stack.token}` },
    }).then((r) => r.json() as Promise<{ events: { eventId: string }[] }>);
    expect(ids).toEqual(served.events.map((e) => e.eventId));
  });

  it("status, events and list read back what run created, with source cli", async () => {
    const submitted = await conveyor(
      stack,
      "submit",
      "read me back",
      "--repo",
      "acme/api",
      "--pr",
      "9",
      "--option",
      "turns=1",
      "--option",
      "stepMs=0",
      "--output",
      "json",
    );
    expect(submitted.code).toBe(0);
    const { task } = JSON.parse(submitted.stdout);
    expect(task).toMatchObject({ source: "cli", prNumber: 9 });
    const status = await conveyor(stack, "status", task.taskId, "--output", "json");
    expect(JSON.parse(status.stdout).task.taskId).toBe(task.taskId);
    const list = await conveyor(stack, "list", "--output", "json");
    expect(JSON.parse(list.stdout).tasks.map((t: { taskId: string }) => t.taskId)).toContain(task.taskId);
    const events = await conveyor(stack, "events", task.taskId, "--output", "json");
    expect(JSON.parse(events.stdout).events[0].type).toBe("task.submitted");
  });

  it("explains a bad request without a stack trace", async () => {
    const res = await conveyor(stack, "submit", "x", "--repo", "not-a-repo");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("VALIDATION_ERROR");
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it("cancel ends a task, and cancelling it again says so and exits 0", async () => {
    const submitted = await conveyor(
      stack,
      "submit",
      "cancel me",
      "--repo",
      "acme/api",
      "--option",
      "stepMs=60000",
      "--output",
      "json",
    );
    const { taskId } = JSON.parse(submitted.stdout).task;
    const first = await conveyor(stack, "cancel", taskId);
    expect(first.code, first.stderr).toBe(0);
    // A running agent stops at its next boundary: wait for the end it reaches.
    let status = "";
    for (let i = 0; i < 200 && status !== "CANCELLED"; i++) {
      status = JSON.parse((await conveyor(stack, "status", taskId, "--output", "json")).stdout).task.status;
      if (status !== "CANCELLED") await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe("CANCELLED");

    const again = await conveyor(stack, "cancel", taskId);

    expect(again.stdout).toBe(`Task ${taskId} is already CANCELLED.\n`);
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
  });

  it("the README's command gives pure NDJSON on stdout, and failures nothing but the CLI's words", async () => {
    const run = await shell(stack, "run", "as the readme says", ...SHORT_RUN_AS_JSON);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split("\n").filter(Boolean);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((line) => JSON.parse(line).type)).toContain("agent.turn");
    expect(run.stderr).not.toContain("ELIFECYCLE");

    const missing = await shell(stack, "status", "01J00000000000000000000000", "--output", "json");
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toMatch(/^NOT_FOUND: /);
    expect(missing.stderr).not.toContain("ELIFECYCLE");
  });
});
