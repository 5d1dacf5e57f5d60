import { ApiError, type ApprovalWire, type EventWire } from "@conveyor/client/api";
import { FakeGateway } from "@conveyor/client/fake-gateway";
import type { TaskEvent } from "@conveyor/core/event";
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { Io } from "./cli.ts";
import { connect } from "./client.ts";
import { runCli as cli, FakeApi } from "./fake-api.ts";
import type { ReadLine } from "./prompt.ts";

// Ids near now, so the decisions the fake stamps with the clock sort after them.
const T0 = Date.now() - 60_000;
const at = (seconds: number, seq = 1) => FakeApi.id(T0 + seconds * 1000, seq);
const TASK = at(0, 9);
const PUSH = { action: "force-push", detail: "git push --force origin main" };

/** A running task whose agent asks once at the first poll, and completes once answered. */
function gated(onPoll: (fake: FakeApi, poll: number) => void = () => {}) {
  const fake = new FakeApi();
  fake.addTask({ taskId: TASK, status: "RUNNING" });
  let polls = 0;
  fake.beforeRequest = (request) => {
    if (!request.path.endsWith("/events")) return;
    polls++;
    if (polls === 1) fake.requestApproval(TASK, at(1), PUSH);
    onPoll(fake, polls);
    const approval = fake.approvals.get(TASK)?.[0];
    if (approval?.status !== "pending" && fake.tasks.get(TASK)?.status === "RUNNING") {
      fake.transition(TASK, FakeApi.id(Date.now(), 999), "COMPLETED");
    }
  };
  return fake;
}

const decisions = (fake: FakeApi) =>
  fake.requests.filter((request) => request.method === "POST" && request.path.includes("/approvals/"));
// A person at a terminal; NO_COLOR keeps the assertions about words, not escape codes.
const person = (readLine: ReadLine): Partial<Io> => ({
  isTTY: { stdin: true, stdout: true },
  env: { NO_COLOR: "1" },
  readLine,
});
/** Types `line` when asked. */
const typing =
  (line: string | undefined): ReadLine =>
  async () =>
    line;

describe("following a task that asks for approval", () => {
  it("asks on a terminal, sends a yes, and follows on to the end", async () => {
    const fake = gated();

    const { code, stdout } = await cli(["watch", TASK], fake.fetch, person(typing("y")));

    const approval = fake.approvals.get(TASK)![0]!;
    expect(stdout).toMatch(/approval +asks: git push --force origin main \(force-push\), expires in \d+m/);
    expect(stdout).toContain("Allow `git push --force origin main`? [y/N] ");
    expect(decisions(fake).map((request) => request.body)).toEqual([{ decision: "approve" }]);
    expect(approval).toMatchObject({ status: "approved", by: FakeApi.USER });
    expect(stdout).toMatch(new RegExp(`approval +approved by ${FakeApi.USER}`));
    expect(stdout).toContain("✔ Completed");
    expect(code).toBe(0);
  });

  it("denies on an empty answer", async () => {
    const fake = gated();

    const { stdout } = await cli(["watch", TASK], fake.fetch, person(typing("")));

    expect(decisions(fake).map((request) => request.body)).toEqual([{ decision: "deny" }]);
    expect(stdout).toMatch(/approval +denied by user_test/);
  });

  it("prints the commands that answer it without a terminal, and sends nothing", async () => {
    const fake = gated((fake, poll) => {
      const approval = fake.approvals.get(TASK)?.[0];
      if (poll === 3 && approval)
        fake.settle(TASK, approval.approvalId, { decision: "approve", by: "user_ops" });
    });

    const { code, stdout } = await cli(["watch", TASK], fake.fetch, { readLine: typing("y") });

    const { approvalId } = fake.approvals.get(TASK)![0]!;
    expect(stdout).toContain(
      `Waiting for an answer:\n  pnpm conveyor approve ${TASK} ${approvalId}\n  pnpm conveyor deny ${TASK} ${approvalId}\n`,
    );
    expect(stdout).not.toContain("[y/N]");
    expect(decisions(fake)).toEqual([]);
    expect(stdout).toMatch(/approval +approved by user_ops/);
    expect(code).toBe(0);
  });

  it("keeps stdout to NDJSON events in json mode, even on a terminal", async () => {
    const fake = gated((fake, poll) => {
      const approval = fake.approvals.get(TASK)?.[0];
      if (poll === 2 && approval) fake.settle(TASK, approval.approvalId, { decision: "deny", by: "timeout" });
    });

    const { stdout, stderr } = await cli(
      ["watch", TASK, "--output", "json"],
      fake.fetch,
      person(typing("y")),
    );

    const types = stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as EventWire).type);
    expect(types).toContain("approval.requested");
    expect(types).toContain("approval.decided");
    expect(stderr).toContain(`pnpm conveyor approve ${TASK} `);
    expect(decisions(fake)).toEqual([]);
  });

  it("says so when the approval is answered elsewhere while the question is open", async () => {
    const fake = gated();
    let checks = 0;
    const before = fake.beforeRequest!;
    fake.beforeRequest = (request) => {
      before(request);
      // The first read is the check before asking; a later one finds it answered from the dashboard.
      if (request.path.endsWith(`/tasks/${TASK}/approvals`) && ++checks === 2) {
        const { approvalId } = fake.approvals.get(TASK)![0]!;
        fake.settle(TASK, approvalId, { decision: "approve", by: "user_ops", comment: "fine" });
      }
    };
    // A person who never answers: the read ends only when it is called off.
    const silent: ReadLine = (signal) =>
      new Promise((resolve) => signal.addEventListener("abort", () => resolve(undefined)));

    const { code, stdout } = await cli(["watch", TASK], fake.fetch, person(silent));

    expect(stdout).toContain("Answered elsewhere: approved by user_ops — fine.");
    expect(decisions(fake)).toEqual([]);
    expect(code).toBe(0);
  });

  it("says so and follows on when the answer loses to one given elsewhere (409)", async () => {
    const fake = gated();
    const lateAnswer: ReadLine = async () => {
      const { approvalId } = fake.approvals.get(TASK)![0]!;
      fake.settle(TASK, approvalId, { decision: "deny", by: "user_ops" });
      return "y";
    };

    const { code, stdout } = await cli(["watch", TASK], fake.fetch, person(lateAnswer));

    expect(decisions(fake)).toHaveLength(1);
    expect(stdout).toContain("Already answered elsewhere: denied by user_ops.");
    expect(stdout).toContain("✔ Completed");
    expect(code).toBe(0);
  });

  it("asks while following over the WebSocket too, and follows on live", async () => {
    const gateway = await FakeGateway.start();
    try {
      const fake = new FakeApi();
      fake.addTask({ taskId: TASK, status: "RUNNING" });
      gateway.addTask(TASK);
      fake.onCommit = (event) => {
        gateway.commit(event as TaskEvent.Info);
        const data = event.data as { reason?: string };
        if (data.reason === "approval_decided")
          setImmediate(() => fake.transition(TASK, FakeApi.id(Date.now(), 999), "COMPLETED"));
      };
      gateway.onMessage = (message) => {
        if ((message as { action?: string }).action === "subscribe")
          setImmediate(() => fake.requestApproval(TASK, at(1), PUSH));
        return false;
      };

      const { code, stdout, stderr } = await cli(["watch", TASK], fake.fetch, {
        ...person(typing("yes")),
        env: { NO_COLOR: "1", CONVEYOR_WS_URL: gateway.url },
        WebSocketImpl: WebSocket,
      });

      expect(stderr).not.toContain("polling");
      expect(stdout).toContain("Allow `git push --force origin main`? [y/N] ");
      expect(decisions(fake).map((request) => request.body)).toEqual([{ decision: "approve" }]);
      expect(stdout).toMatch(/approval +approved by user_test\n.*AWAITING_APPROVAL → RUNNING/);
      expect(code).toBe(0);
    } finally {
      gateway.close();
    }
  });

  it("stops on Ctrl-C at the question with 130, leaving the approval open", async () => {
    const fake = gated();
    const interrupt = new AbortController();
    const pressCtrlC: ReadLine = (signal) => {
      setImmediate(() => interrupt.abort());
      return new Promise((resolve) => signal.addEventListener("abort", () => resolve(undefined)));
    };

    const { code, stderr } = await cli(["watch", TASK], fake.fetch, {
      ...person(pressCtrlC),
      signal: interrupt.signal,
    });

    expect(stderr).toContain(`Task ${TASK} keeps running on the server`);
    expect(decisions(fake)).toEqual([]);
    expect(fake.approvals.get(TASK)![0]!.status).toBe("pending");
    expect(code).toBe(130);
  });

  it("does not ask again about an approval answered before watching began", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "RUNNING" });
    const { approvalId } = fake.requestApproval(TASK, at(1), PUSH);
    fake.settle(TASK, approvalId, { decision: "approve", by: "user_ops", eventId: at(2) });
    fake.transition(TASK, at(3), "COMPLETED");
    const asked: string[] = [];

    const { stdout } = await cli(
      ["watch", TASK],
      fake.fetch,
      person(async () => {
        asked.push("asked");
        return "n";
      }),
    );

    expect(asked).toEqual([]);
    expect(stdout).not.toContain("Waiting for an answer");
    expect(stdout).toMatch(/approval +approved by user_ops/);
  });
});

/** A fake with approvals on two tasks of the caller's and one of another user's. */
function withApprovals() {
  const fake = new FakeApi();
  const other = at(0, 8);
  const foreign = at(0, 7);
  fake.addTask({ taskId: TASK, status: "RUNNING" });
  fake.addTask({ taskId: other, status: "RUNNING" });
  fake.addTask({ taskId: foreign, status: "RUNNING" }, { owner: "user_else" });
  const old = fake.requestApproval(other, at(1), { action: "network", detail: "curl https://example.com" });
  fake.settle(other, old.approvalId, { decision: "deny", by: "timeout", eventId: at(2) });
  const pending = fake.requestApproval(TASK, at(3), PUSH);
  fake.requestApproval(foreign, at(4), { action: "tool", detail: "Read secrets.txt" });
  return { fake, other, foreign, pending };
}

describe("conveyor approvals", () => {
  it("lists the caller's approvals, newest first, and how to answer the waiting one", async () => {
    const { fake, other, pending } = withApprovals();

    const { code, stdout } = await cli(["approvals"], fake.fetch);

    const lines = stdout.split("\n");
    expect(lines[0]).toMatch(/^TASK +APPROVAL +ACTION +STATUS +WHEN +DETAIL$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${TASK} +${pending.approvalId} +force-push +pending +expires in \\d+m +git push --force`),
    );
    expect(lines[2]).toMatch(new RegExp(`^${other} .* network +denied .*\\(denied by timeout\\)$`));
    expect(stdout).not.toContain("secrets.txt");
    expect(stdout).toContain(`Answer with: pnpm conveyor approve ${TASK} ${pending.approvalId}`);
    expect(code).toBe(0);
  });

  it("asks the API for pending ones only with --pending, and prints one JSON document", async () => {
    const { fake, pending } = withApprovals();

    const { stdout } = await cli(["approvals", "--pending", "--output", "json"], fake.fetch);

    expect(fake.requests.at(-1)!.query.get("status")).toBe("pending");
    const page = JSON.parse(stdout) as { approvals: ApprovalWire[] };
    expect(page.approvals.map((approval) => approval.approvalId)).toEqual([pending.approvalId]);
  });

  it("lists one task's approvals with --task, and none of another user's", async () => {
    const { fake, other, foreign } = withApprovals();

    const mine = await cli(["approvals", "--task", other], fake.fetch);
    const theirs = await cli(["approvals", "--task", foreign], fake.fetch);

    expect(mine.stdout).toContain("curl https://example.com");
    expect(theirs.stderr).toContain(`NOT_FOUND: task ${foreign} not found`);
    expect(theirs.code).toBe(1);
  });
});

describe("conveyor approve and deny", () => {
  it("answers the task's only pending approval, with a comment", async () => {
    const { fake, pending } = withApprovals();

    const { code, stdout } = await cli(["deny", TASK, "--comment", "open a PR instead"], fake.fetch);

    expect(decisions(fake).map((request) => request.path)).toEqual([
      `/v1/tasks/${TASK}/approvals/${pending.approvalId}`,
    ]);
    expect(decisions(fake)[0]!.body).toEqual({ decision: "deny", comment: "open a PR instead" });
    expect(stdout).toContain(`Denied force-push: git push --force origin main (${pending.approvalId})`);
    expect(fake.approvals.get(TASK)![0]).toMatchObject({ status: "denied", comment: "open a PR instead" });
    expect(fake.tasks.get(TASK)!.status).toBe("RUNNING");
    expect(code).toBe(0);
  });

  it("lists the pending ones and the exact commands when there are several", async () => {
    const { fake, pending } = withApprovals();
    const second = fake.requestApproval(TASK, at(5), { action: "network", detail: "curl https://x.test" });

    const { code, stderr } = await cli(["approve", TASK], fake.fetch);

    expect(stderr).toContain(`Task ${TASK} has 2 pending approvals; name the one to approve:`);
    expect(stderr).toContain(`pnpm conveyor approve ${TASK} ${pending.approvalId}  # force-push: git push`);
    expect(stderr).toContain(`pnpm conveyor approve ${TASK} ${second.approvalId}  # network: curl`);
    expect(decisions(fake)).toEqual([]);
    expect(code).toBe(1);
  });

  it("says there is nothing pending, and how the last one ended", async () => {
    const { fake, other } = withApprovals();

    const { code, stderr } = await cli(["approve", other], fake.fetch);

    expect(stderr).toMatch(
      /has no pending approval; the last one, \w+ \(network: curl https:\/\/example\.com\), was denied by timeout\./,
    );
    expect(code).toBe(1);
  });

  it("says by whom and how an approval was already decided (409)", async () => {
    const { fake, pending } = withApprovals();
    fake.settle(TASK, pending.approvalId, { decision: "approve", by: "user_ops", comment: "ship it" });

    const denied = await cli(["deny", TASK, pending.approvalId], fake.fetch);
    const again = await cli(["approve", TASK, pending.approvalId], fake.fetch);

    expect(denied.stderr).toContain(
      `Approval ${pending.approvalId} (force-push: git push --force origin main) was already approved by user_ops — ship it; your answer was not recorded.`,
    );
    expect(denied.code).toBe(1);
    expect(again.stdout).toContain("was already approved by user_ops");
    expect(again.code).toBe(0);
  });

  it("says an approval expired when it was answered too late", async () => {
    const fake = new FakeApi();
    fake.addTask({ taskId: TASK, status: "RUNNING" });
    const { approvalId } = fake.requestApproval(TASK, FakeApi.id(Date.now() - 120_000, 1), {
      ...PUSH,
      timeoutS: 60,
    });

    const { code, stderr } = await cli(["approve", TASK, approvalId], fake.fetch);

    expect(stderr).toContain(
      "was already expired unanswered: denied by timeout; your answer was not recorded.",
    );
    expect(fake.approvals.get(TASK)![0]!.status).toBe("denied");
    expect(code).toBe(1);
  });

  it("answers a malformed decision with the API's validation error", async () => {
    const { fake, pending } = withApprovals();
    const api = connect({ apiUrl: "http://api.test", token: fake.token }, fake.fetch);

    const refused = await api
      .decide(TASK, pending.approvalId, { decision: "maybe" as "approve" })
      .catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({
      status: 400,
      code: "VALIDATION_ERROR",
      message: 'decision: must be "approve" or "deny"',
      details: { reason: "request.invalid", issues: [{ path: "decision" }] },
    });
  });

  it("says there is no such approval or task (404)", async () => {
    const { fake, foreign } = withApprovals();

    const unknown = await cli(["approve", TASK, "01NOSUCHAPPROVAL0000000000"], fake.fetch);
    const theirs = await cli(["deny", foreign], fake.fetch);

    expect(unknown.stderr).toContain(`No approval 01NOSUCHAPPROVAL0000000000 on task ${TASK}`);
    expect(unknown.code).toBe(1);
    expect(theirs.stderr).toContain(`No task ${foreign} (or it is not yours).`);
    expect(theirs.code).toBe(1);
  });
});

describe("conveyor run --approvals", () => {
  it("sends the gate setting with the task", async () => {
    const fake = new FakeApi();
    fake.beforeRequest = (request) => {
      const task = [...fake.tasks.values()][0];
      if (task && request.path.endsWith("/events"))
        fake.transition(task.taskId, FakeApi.id(Date.now(), 5), "COMPLETED");
    };

    await cli(
      [
        "run",
        "x",
        "--repo",
        "acme/app",
        "--approvals",
        "all",
        "--allow",
        "network,ci-config",
        "--allow",
        "force-push",
        "--approval-timeout",
        "600",
      ],
      fake.fetch,
    );

    expect(fake.requests[0]!.body).toMatchObject({
      approvals: { mode: "all", allow: ["network", "ci-config", "force-push"], timeoutS: 600 },
    });
  });

  it("refuses a mistyped mode or rule before sending anything, with what was meant", async () => {
    const fake = new FakeApi();

    const mode = await cli(["run", "x", "--repo", "acme/app", "--approvals", "atuo"], fake.fetch);
    const rule = await cli(["run", "x", "--repo", "acme/app", "--allow", "force-psuh"], fake.fetch);

    expect(mode.stderr).toContain('--approvals is ask, auto or all, got "atuo". Did you mean "auto"?');
    expect(rule.stderr).toContain('got "force-psuh". Did you mean "force-push"?');
    expect(mode.code).toBe(2);
    expect(fake.requests).toEqual([]);
  });
});
