import type { EventWire, Fetch, TaskStatusWire } from "@conveyor/client/api";
import { FakeGateway } from "@conveyor/client/fake-gateway";
import type { TaskEvent } from "@conveyor/core/event";
import { floorId, idTime } from "@conveyor/core/util/ulid";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import pkg from "../package.json" with { type: "json" };
import { main } from "./cli.ts";
import { runCli as cli, FakeApi } from "./fake-api.ts";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const at = (seconds: number, seq = 1) => FakeApi.id(T0 + seconds * 1000, seq);
const TASK = at(0, 9);

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
    expect(stdout).toMatch(/Submitted \w{26} to acme\/app\.\n/);
    expect(stdout).toMatch(/submitted +waiting for an agent/);
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

describe("following over the WebSocket", () => {
  let gateway: FakeGateway;
  beforeEach(async () => {
    gateway = await FakeGateway.start();
  });
  afterEach(() => gateway.close());

  /** One task the HTTP API and the WebSocket gateway agree on. */
  function world(status: TaskStatusWire = "RUNNING") {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status });
    gateway.addTask(TASK);
    return {
      fake,
      commit: (eventId: string, text = "x") =>
        gateway.commit(fake.commit(TASK, eventId, "agent.turn", { turn: 1, text }) as TaskEvent.Info),
      transition: (eventId: string, to: TaskStatusWire) =>
        gateway.commit(fake.transition(TASK, eventId, to) as TaskEvent.Info),
    };
  }

  /** Runs `then` once the CLI has subscribed and had the replay. */
  function afterSubscribe(then: () => void) {
    gateway.onMessage = (message) => {
      if ((message as { action?: string }).action === "subscribe") setTimeout(then, 20);
      return false;
    };
  }

  const ndjson = (stdout: string) =>
    stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as EventWire).eventId);
  const eventPolls = (fake: FakeApi) => fake.requests.filter((request) => request.path.endsWith("/events"));

  it("prints live events from the socket, each once, and confirms the end over HTTP", async () => {
    const { fake, commit, transition } = world();
    commit(at(1));
    afterSubscribe(() => {
      commit(at(2));
      // A duplicate delivery, as a retried stream record gives.
      gateway.push(FakeGateway.event(TASK, at(2), "agent.turn", { turn: 1, text: "x" }));
      transition(at(3), "COMPLETED");
    });

    const { code, stdout, stderr } = await cli(["watch", TASK, "--output", "json"], fake.fetch, {
      env: { CONVEYOR_WS_URL: gateway.url },
      WebSocketImpl: WebSocket,
    });

    expect(ndjson(stdout)).toEqual([at(1), at(2), at(3)]);
    expect(gateway.subscribes).toHaveLength(1);
    // Polling only confirms, from the socket's cursor rewound by the skew window.
    expect(eventPolls(fake)[0]?.query.get("after")).toBe(floorId(idTime(at(3)) - 5_000));
    expect(stderr).toContain("Watching");
    expect(code).toBe(0);
  });

  it("runs a task over the socket in text mode and exits 1 when it fails", async () => {
    const fake = new FakeApi();
    afterSubscribe(() => {
      const task = [...fake.tasks.values()][0]!;
      const id = (seconds: number) => FakeApi.id(idTime(task.taskId) + seconds * 1000, 1);
      gateway.commit(fake.transition(task.taskId, id(1), "RUNNING") as TaskEvent.Info);
      gateway.commit(
        fake.commit(task.taskId, id(2), "agent.turn", { turn: 1, text: "Looking" }) as TaskEvent.Info,
      );
      gateway.commit(
        fake.transition(task.taskId, id(3), "FAILED", {
          error: { code: "max_turns", message: "Ran out of turns" },
        }) as TaskEvent.Info,
      );
    });
    gateway.onConnection = () => {
      for (const task of fake.tasks.keys()) gateway.addTask(task);
    };

    const { code, stdout, stderr } = await cli(
      ["run", "x", "--repo", "acme/app", "--ws-url", gateway.url],
      fake.fetch,
    );

    expect(stdout).toMatch(/status +SUBMITTED → RUNNING\n.*turn 1 +Looking\n.*status +RUNNING → FAILED/);
    expect(stdout).toContain("✖ Failed: max_turns: Ran out of turns");
    expect(stderr).not.toContain("polling");
    expect(code).toBe(1);
  });

  it("falls back to polling, with a note, when the socket is refused", async () => {
    const { fake } = world();
    gateway.refuse = Number.POSITIVE_INFINITY;
    fake.beforeRequest = (request) => {
      if (request.path.endsWith("/events") && eventPolls(fake).length === 1)
        fake.transition(TASK, at(1), "COMPLETED");
    };

    const { code, stdout, stderr } = await cli(["watch", TASK, "--ws-url", gateway.url], fake.fetch);

    expect(stderr).toMatch(/Live updates unavailable \(.*401.*\); following by polling\./);
    expect(stdout).toMatch(/status +RUNNING → COMPLETED/);
    expect(code).toBe(0);
  });

  it("takes over by polling from the socket's cursor when it is lost for good, repeating nothing", async () => {
    const { fake, commit } = world();
    commit(at(1));
    commit(at(2));
    afterSubscribe(() => {
      gateway.refuse = Number.POSITIVE_INFINITY;
      gateway.dropConnections();
      fake.commit(TASK, at(3), "agent.turn", { turn: 2, text: "y" });
      fake.transition(TASK, at(4), "COMPLETED");
    });

    const { code, stdout, stderr } = await cli(
      ["watch", TASK, "--ws-url", gateway.url, "--output", "json"],
      fake.fetch,
    );

    expect(ndjson(stdout)).toEqual([at(1), at(2), at(3), at(4)]);
    expect(eventPolls(fake)[0]?.query.get("after")).toBe(floorId(idTime(at(2)) - 5_000));
    expect(stderr).not.toContain("polling");
    expect(code).toBe(0);
  });

  it("polls without opening a socket with --poll or --no-ws", async () => {
    for (const flag of ["--poll", "--no-ws"]) {
      const { fake } = world("COMPLETED");

      const { code, stderr } = await cli(["watch", TASK, "--ws-url", gateway.url, flag], fake.fetch);

      expect(stderr).toBe("");
      expect(code).toBe(0);
    }
    expect(gateway.attempts).toBe(0);
  });

  it("says it polls when no WebSocket URL is configured", async () => {
    const { fake } = world("COMPLETED");

    const { stderr } = await cli(["watch", TASK], fake.fetch);

    expect(stderr).toContain("No WebSocket URL (--ws-url, CONVEYOR_WS_URL); following by polling.");
  });

  it("stops on Ctrl-C with 130 while following over the socket", async () => {
    const { fake } = world();
    const interrupt = new AbortController();
    afterSubscribe(() => interrupt.abort());

    const { code, stderr } = await cli(["watch", TASK, "--ws-url", gateway.url], fake.fetch, {
      signal: interrupt.signal,
    });

    expect(stderr).toContain(`Task ${TASK} keeps running on the server`);
    expect(code).toBe(130);
    expect(eventPolls(fake)).toHaveLength(0);
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

    expect(stdout).toMatch(/Submitted (\w{26}) to acme\/app\.\nFollow it with: pnpm conveyor watch \1/);
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

    expect(stdout).toMatch(
      /turn 1 +t1\n.*turn 2 +t2\nNext: pnpm conveyor events \w+ --after (\w+) --limit 2\n$/,
    );
    expect(fake.requests[0]!.query.get("after")).toBe(at(0));
  });

  it("lists tasks and points at the next page", async () => {
    const fake = new FakeApi();
    for (let i = 1; i <= 3; i++) fake.addTask({ taskId: at(i, 9), status: "RUNNING" });

    const { stdout } = await cli(["list", "--limit", "2", "--status", "running"], fake.fetch);

    expect(stdout.split("\n")[0]).toMatch(/^TASK +STATUS +REPO +CREATED +DESCRIPTION$/);
    // The next page keeps the flags given, --limit included.
    expect(stdout).toContain(`More: pnpm conveyor list --status RUNNING --limit 2 --cursor ${at(2, 9)}`);
    expect(fake.requests[0]!.query.get("status")).toBe("RUNNING");
  });
});

describe("conveyor cancel", () => {
  it("asks a running task to stop", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "RUNNING" });

    const { code, stdout } = await cli(["cancel", TASK], fake.fetch);

    expect(stdout).toBe(`Cancel requested: ${TASK} stops at its next turn (it is RUNNING).\n`);
    expect(code).toBe(0);
  });

  it("says plainly that a task is already cancelled, and exits 0", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "SUBMITTED" });
    await cli(["cancel", TASK], fake.fetch);

    const again = await cli(["cancel", TASK], fake.fetch);

    expect(again.stdout).toBe(`Task ${TASK} is already CANCELLED.\n`);
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
  });

  it("prints the task it left alone in json mode", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "CANCELLED" });

    const { code, stdout } = await cli(["cancel", TASK, "--output", "json"], fake.fetch);

    expect(JSON.parse(stdout)).toMatchObject({ task: { taskId: TASK, status: "CANCELLED" } });
    expect(code).toBe(0);
  });

  it("says a task that ended otherwise has nothing to cancel, and exits 1", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "COMPLETED" });

    const { code, stdout, stderr } = await cli(["cancel", TASK], fake.fetch);

    expect(stdout).toBe("");
    expect(stderr).toBe(`Task ${TASK} already ended COMPLETED; there is nothing to cancel.\n`);
    expect(code).toBe(1);
  });
});

describe("conveyor --version", () => {
  it("prints the CLI package's version", async () => {
    const stdout: string[] = [];

    const code = await main(["--version"], {
      stdout: (t) => stdout.push(t),
      stderr: () => {},
      env: {},
      cwd: "/",
    });

    expect(stdout.join("")).toBe(`conveyor ${pkg.version}\n`);
    expect(code).toBe(0);
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

    expect(stderr).toBe("conveyor: status takes one task id\nSee `pnpm conveyor status --help`.\n");
    expect(code).toBe(2);
  });

  it("answers a misspelled command or flag with what was probably meant", async () => {
    const command = await cli(["lst"], new FakeApi().fetch);
    const flag = await cli(["list", "--limt", "5"], new FakeApi().fetch);

    expect(command.stderr).toBe(
      'conveyor: Unknown command "lst". Did you mean "list"?\nSee `pnpm conveyor --help`.\n',
    );
    expect(flag.stderr).toBe(
      "conveyor: Unknown flag --limt. Did you mean --limit?\nSee `pnpm conveyor list --help`.\n",
    );
    expect([command.code, flag.code]).toEqual([2, 2]);
  });

  it("refuses an empty --token instead of falling back to the stored one", async () => {
    const fake = new FakeApi();
    const stderr: string[] = [];

    const code = await main(["list", "--api-url", "http://api.test", "--token", ""], {
      stdout: () => {},
      stderr: (text) => stderr.push(text),
      env: { CONVEYOR_TOKEN: fake.token },
      cwd: "/",
      fetch: fake.fetch,
    });

    expect(stderr.join("")).toContain("conveyor: --token is empty");
    expect(fake.requests).toHaveLength(0);
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
