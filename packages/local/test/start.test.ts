import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../../..");
const main = join(root, "packages/local/src/main.ts");

/** Runs `pnpm start`'s entry point as its own process, as a developer would (tests' POWERTOOLS_DEV aside). */
function start(args: string[], env: NodeJS.ProcessEnv = { ...process.env, POWERTOOLS_DEV: undefined }) {
  const child = spawn(process.execPath, [join(root, "node_modules/tsx/dist/cli.mjs"), main, ...args], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, exited, output: () => output };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("pnpm start", () => {
  let running: ChildProcess | undefined;
  let javaPid: number | undefined;
  // A failed assertion must not orphan the stack's Java child: stop it the way a user would, then make sure.
  afterEach(async () => {
    if (running && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((r) => running?.once("exit", r));
      running.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      running.kill("SIGKILL");
    }
    if (javaPid && alive(javaPid)) process.kill(javaPid, "SIGKILL");
    running = undefined;
    javaPid = undefined;
  });

  it("serves /health, writes local.json over a crashed run's, and stops on SIGINT leaving no Java process nor stale pids", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "conveyor-start-"));
    // What a crashed run leaves: pids and ports nobody serves any more.
    const stale = { apiUrl: "http://127.0.0.1:9", pids: { stack: 2 ** 22 + 1, dynamodb: 2 ** 22 + 2 } };
    writeFileSync(join(stateDir, "local.json"), JSON.stringify(stale));
    const started = Date.now();
    const proc = start(["--port", "0", "--state-dir", stateDir]);
    running = proc.child;
    while (!proc.output().includes("Press Ctrl-C")) {
      if (proc.child.exitCode !== null) throw new Error(proc.output());
      // Boot starts Java and bundles the agent: generous, for a busy machine.
      if (Date.now() - started > 240_000) throw new Error(`not ready:\n${proc.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const local = JSON.parse(readFileSync(join(stateDir, "local.json"), "utf8"));
    javaPid = local.pids.dynamodb;
    expect(local.pids.stack).not.toBe(stale.pids.stack);
    expect(alive(local.pids.stack)).toBe(true);
    expect(local.apiUrl).not.toBe(stale.apiUrl);
    expect(local).toMatchObject({
      wsUrl: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/local$/),
      token: expect.stringMatching(/^cvy_/),
    });
    expect(Object.keys(local.tokens)).toEqual(["dev", "alice"]);
    expect(proc.output()).toContain(local.apiUrl);
    expect(proc.output()).toContain('pnpm conveyor run "add a health check" --repo acme/api');
    const health = await fetch(`${local.apiUrl}/health`);
    expect(await health.json()).toEqual({ ok: true });
    expect(alive(local.pids.dynamodb)).toBe(true);

    // The second terminal: the README's command, finding the stack through local.json.
    const cli = spawn(
      process.execPath,
      [
        join(root, "node_modules/tsx/dist/cli.mjs"),
        join(root, "packages/cli/src/main.ts"),
        "run",
        "add a health check",
        "--repo",
        "acme/api",
      ],
      { cwd: root, env: { ...process.env, CONVEYOR_STATE_DIR: stateDir }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let cliOut = "";
    cli.stdout.on("data", (c) => (cliOut += c));
    cli.stderr.on("data", (c) => (cliOut += c));
    const cliCode = await new Promise<number | null>((r) => cli.once("exit", (code) => r(code)));
    expect(cliCode, cliOut).toBe(0);
    for (const turn of [1, 2, 3, 4, 5]) expect(cliOut).toContain(`Turn ${turn}/5`);
    expect(cliOut).toContain("COMPLETED");
    expect(cliOut).toContain("https://github.com/acme/api/pull/");
    // The stack's terminal: its banner, then one JSON line per log entry (the dispatch's, at least).
    const entries = proc
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"));
    expect(entries.some((line) => line.includes('"message":"dispatch"'))).toBe(true);
    for (const line of entries) expect(JSON.parse(line), line).toMatchObject({ service: "conveyor" });

    proc.child.kill("SIGINT");
    expect(await proc.exited).toBe(0);
    expect(alive(local.pids.dynamodb)).toBe(false);
    // Nothing that only held while it ran is left to be trusted; the tokens outlive it.
    const after = JSON.parse(readFileSync(join(stateDir, "local.json"), "utf8"));
    expect(after).toEqual({ token: local.token, tokens: local.tokens });
  }, 300_000);

  it("says plainly that Java is missing", async () => {
    // A PATH holding node and nothing else.
    const bin = mkdtempSync(join(tmpdir(), "conveyor-nojava-"));
    symlinkSync(process.execPath, join(bin, "node"));
    const proc = start(["--port", "0", "--state-dir", mkdtempSync(join(tmpdir(), "conveyor-s-"))], {
      ...process.env,
      PATH: bin,
    });
    running = proc.child;
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain("Java 17+ is needed");
    expect(proc.output()).not.toMatch(/\n\s+at /);
  });

  it("says plainly that a port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const proc = start(["--port", String(port), "--state-dir", mkdtempSync(join(tmpdir(), "conveyor-s-"))]);
      running = proc.child;
      expect(await proc.exited).toBe(1);
      expect(proc.output()).toContain(`Port ${port} for the API is already in use`);
    } finally {
      blocker.close();
    }
  });
});
