import { idTime } from "@conveyor/core/util/ulid";
import { describe, expect, it } from "vitest";
import { type Io, main } from "./cli.ts";
import type { EventWire, Fetch } from "./client.ts";
import { FakeApi } from "./fake-api.ts";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const at = (seconds: number, seq = 1) => FakeApi.id(T0 + seconds * 1000, seq);
const TASK = at(0, 9);

/** Runs the CLI in-process against `fetch`, capturing both streams. */
async function cli(argv: string[], fetch: Fetch, io: Partial<Io> = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main([...argv, "--api-url", "http://api.test", "--token", "cvy_test"], {
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    env: {},
    cwd: "/",
    fetch,
    pollIntervalMs: 0,
    ...io,
  });
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}

/** A fake whose submitted tasks run to `end` over the next event polls. */
function scripted(end: "COMPLETED" | "FAILED") {
  const fake = new FakeApi();
  let polls = 0;
  fake.beforeRequest = (request) => {
    if (!request.path.endsWith("/events")) return;
    const task = [...fake.tasks.values()][0];
    if (!task) return;
    // Events follow the task's own submission time, as the server's would.
    const at = (seconds: number) => FakeApi.id(idTime(task.taskId) + seconds * 1000, 1);
    polls++;
    if (polls === 1) fake.transition(task.taskId, at(1), "RUNNING");
    if (polls === 2) fake.commit(task.taskId, at(2), "agent.turn", { turn: 1, text: "Looking at the test" });
    if (polls === 3) {
      fake.commit(task.taskId, at(3), "agent.milestone", {
        name: "PR opened",
        url: "https://github.com/acme/app/pull/9",
      });
      if (end === "COMPLETED") {
        fake.transition(task.taskId, at(4), "COMPLETED", {
          result: { summary: "Fixed", prUrl: "https://github.com/acme/app/pull/9" },
        });
      } else {
        fake.transition(task.taskId, at(4), "FAILED", {
          error: { code: "max_turns", message: "Ran out of turns" },
        });
      }
    }
  };
  return fake;
}

describe("conveyor run", () => {
  it("submits from the CLI and prints the task's progress until it completes", async () => {
    const fake = scripted("COMPLETED");

    const { code, stdout } = await cli(
      ["run", "Fix the flaky test", "--repo", "acme/app", "--option", "turns=3", "--idempotency-key", "k1"],
      fake.fetch,
    );

    const post = fake.requests[0]!;
    expect(post.headers.get("x-conveyor-source")).toBe("cli");
    expect(post.headers.get("idempotency-key")).toBe("k1");
    expect(post.body).toEqual({ repo: "acme/app", description: "Fix the flaky test", options: { turns: 3 } });
    expect(stdout).toMatch(/Submitted \w{26} to acme\/app: SUBMITTED/);
    expect(stdout).toMatch(/status +SUBMITTED → RUNNING/);
    expect(stdout).toMatch(/turn 1 +Looking at the test/);
    expect(stdout).toMatch(/milestone +PR opened https:\/\/github\.com\/acme\/app\/pull\/9/);
    expect(stdout).toMatch(/✔ Completed .*\n {2}Fixed\n {2}PR: https:\/\/github\.com\/acme\/app\/pull\/9/);
    expect(code).toBe(0);
  });

  it("exits 1 and shows the error when the task fails", async () => {
    const { code, stdout } = await cli(["run", "x", "--repo", "acme/app"], scripted("FAILED").fetch);

    expect(stdout).toContain("✖ Failed: max_turns: Ran out of turns");
    expect(code).toBe(1);
  });

  it("writes only NDJSON events to stdout in json mode", async () => {
    const { code, stdout, stderr } = await cli(
      ["run", "x", "--repo", "acme/app", "--output", "json"],
      scripted("COMPLETED").fetch,
    );

    const events = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as EventWire);
    expect(events.map((event) => event.type)).toEqual([
      "task.submitted",
      "task.status",
      "agent.turn",
      "agent.milestone",
      "task.status",
    ]);
    expect(stderr).toContain("Submitted");
    expect(stderr).toContain("Completed");
    expect(code).toBe(0);
  });
});

describe("conveyor watch", () => {
  it("stops on Ctrl-C with 130 and says the task keeps running", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "RUNNING" });
    const interrupt = new AbortController();
    fake.beforeRequest = (request) => {
      if (request.path.endsWith("/events")) interrupt.abort();
    };

    const { code, stderr } = await cli(["watch", TASK], fake.fetch, {
      signal: interrupt.signal,
      pollIntervalMs: 10,
    });

    expect(stderr).toContain(`Task ${TASK} keeps running on the server`);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(130);
  });

  it("draws a spinner on a terminal's stderr while waiting, and clears it", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "RUNNING" });
    let polls = 0;
    fake.beforeRequest = (request) => {
      if (request.path.endsWith("/events") && ++polls === 3) fake.transition(TASK, at(1), "COMPLETED");
    };

    const { stderr } = await cli(["watch", TASK], fake.fetch, { isTTY: { stderr: true } });

    expect(stderr).toMatch(/running, \d+s since the last event/);
    expect(stderr.endsWith("\r\x1b[2K")).toBe(true);
  });
});

describe("conveyor status, list, events, submit", () => {
  it("prints one JSON document for status --output json", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "RUNNING" });

    const { code, stdout } = await cli(["status", TASK, "--output", "json"], fake.fetch);

    expect(JSON.parse(stdout)).toMatchObject({ task: { taskId: TASK, status: "RUNNING" } });
    expect(code).toBe(0);
  });

  it("prints the submitted task without following it", async () => {
    const fake = new FakeApi();

    const { code, stdout } = await cli(["submit", "x", "--repo", "acme/app"], fake.fetch);

    expect(stdout).toMatch(/Submitted (\w{26}) to acme\/app: SUBMITTED\nFollow it with: conveyor watch \1/);
    expect(fake.requests).toHaveLength(1);
    expect(code).toBe(0);
  });

  it("says when a repeated Idempotency-Key returned the earlier task", async () => {
    const fake = new FakeApi();
    const first = await cli(["submit", "x", "--repo", "acme/app", "--idempotency-key", "k1"], fake.fetch);

    const again = await cli(["submit", "x", "--repo", "acme/app", "--idempotency-key", "k1"], fake.fetch);

    const taskId = /Submitted (\w{26})/.exec(first.stdout)?.[1];
    expect(again.stdout).toContain(`Already submitted with this Idempotency-Key: ${taskId}`);
  });

  it("pages through every event with --all", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "RUNNING" });
    for (let i = 1; i <= 5; i++) fake.commit(TASK, at(i), "agent.turn", { turn: i, text: `t${i}` });

    const { stdout } = await cli(["events", TASK, "--all", "--limit", "2", "--output", "json"], fake.fetch);

    const page = JSON.parse(stdout) as { events: EventWire[]; nextCursor?: string };
    expect(page.events).toHaveLength(5);
    expect(page.nextCursor).toBe(at(5));
  });

  it("prints one page of events and where the next begins", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "RUNNING" });
    for (let i = 1; i <= 3; i++) fake.commit(TASK, at(i), "agent.turn", { turn: i, text: `t${i}` });

    const { stdout } = await cli(["events", TASK, "--limit", "2", "--after", at(0)], fake.fetch);

    expect(stdout).toMatch(/turn 1 +t1\n.*turn 2 +t2\nNext: conveyor events \w+ --after (\w+)\n$/);
    expect(fake.requests[0]!.query.get("after")).toBe(at(0));
  });

  it("lists tasks and points at the next page", async () => {
    const fake = new FakeApi();
    for (let i = 1; i <= 3; i++) fake.addTask({ taskId: at(i, 9), status: "RUNNING" });

    const { stdout } = await cli(["list", "--limit", "2", "--status", "running"], fake.fetch);

    expect(stdout.split("\n")[0]).toMatch(/^TASK +STATUS +REPO +CREATED +DESCRIPTION$/);
    expect(stdout).toContain(`More: conveyor list --status RUNNING --cursor ${at(2, 9)}`);
    expect(fake.requests[0]!.query.get("status")).toBe("RUNNING");
  });
});

describe("failures", () => {
  it("prints the API's code and message and exits 1", async () => {
    const { code, stderr } = await cli(["status", TASK], new FakeApi().fetch);

    expect(stderr).toBe(`NOT_FOUND: task ${TASK} not found\n`);
    expect(code).toBe(1);
  });

  it("explains an unreachable server without a stack trace", async () => {
    const down: Fetch = async () => {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }),
      });
    };

    const { code, stderr } = await cli(["list"], down);

    expect(stderr).toContain("Cannot reach the Conveyor API at http://api.test (ECONNREFUSED)");
    expect(stderr).toContain("pnpm start");
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(1);
  });

  it("reads an error that is not the API's shape", async () => {
    const proxy: Fetch = async () =>
      new Response("<html>Bad gateway</html>", { status: 502, statusText: "Bad Gateway" });

    const { code, stderr } = await cli(["list"], proxy);

    expect(stderr).toBe("HTTP_502: Bad Gateway\n");
    expect(code).toBe(1);
  });

  it("exits 2 on bad usage and points at the command's help", async () => {
    const { code, stderr } = await cli(["status"], new FakeApi().fetch);

    expect(stderr).toBe("conveyor: status takes one task id\nSee `conveyor status --help`.\n");
    expect(code).toBe(2);
  });

  it("says how to configure when nothing is", async () => {
    const stderr: string[] = [];

    const code = await main(["list"], {
      stdout: () => {},
      stderr: (text) => stderr.push(text),
      env: { CONVEYOR_STATE_DIR: "/nonexistent" },
      cwd: "/",
    });

    expect(stderr.join("")).toMatch(/pnpm start/);
    expect(code).toBe(1);
  });
});
