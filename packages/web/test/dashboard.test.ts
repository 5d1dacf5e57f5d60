/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Functions passed to page.evaluate run in the page: they see the DOM.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apiClient, startTestStack } from "../../local/test/harness.ts";
import { ensureWebBuild } from "../build.ts";
import { CHROMIUM, launch, timelineIds } from "./browser.ts";

type Stack = Awaited<ReturnType<typeof startTestStack>>;
const SCREENSHOTS = process.env.CONVEYOR_SCREENSHOTS
  ? join(import.meta.dirname, "../../../docs/screenshots")
  : "";

describe.skipIf(!CHROMIUM)("the dashboard, in Chromium, against the local stack", () => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let webUrl: string;
  let dev: ReturnType<typeof apiClient>;
  let alice: ReturnType<typeof apiClient>;
  const started: string[] = [];

  beforeAll(async () => {
    const distDir = await ensureWebBuild();
    // Two active tasks per user: anything more waits QUEUED, which gives the list pages without running agents.
    stack = await startTestStack({ web: { distDir }, limits: { activePerUser: 2 } });
    webUrl = stack.webUrl as string;
    dev = apiClient(stack.apiUrl, stack.tokens.dev);
    alice = apiClient(stack.apiUrl, stack.tokens.alice);
    browser = await launch();
  }, 180_000);

  afterAll(async () => {
    for (const taskId of started) await dev.call("POST", `/v1/tasks/${taskId}/cancel`).catch(() => undefined);
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  afterEach(async () => {
    await context?.close();
  });

  async function open(path: string, token: string | null = stack.tokens.dev) {
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    const url = new URL(path, webUrl);
    if (token) url.searchParams.set("token", token);
    await page.goto(url.toString());
    return page;
  }

  /** The page as it is, in the light scheme and the dark one. */
  async function shoot(name: string) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.emulateMedia({ colorScheme: "light" });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-dark.png`) });
    await page.emulateMedia({ colorScheme: "light" });
  }

  async function submit(client: ReturnType<typeof apiClient>, description: string, options: object) {
    const res = await client.submit({ repo: "acme/api", description, options });
    expect(res.status, res.text).toBe(201);
    started.push(res.body.task.taskId);
    return res.body.task.taskId as string;
  }

  it("signs in from a ?token= link, drops the token from the address bar, and signs out", async () => {
    const taskId = await submit(dev, "sign-in check", { turns: 1, stepMs: 0 });
    await open("/");
    await page.locator(`tr[data-task-id="${taskId}"]`).waitFor();
    expect(page.url()).toBe(`${webUrl}/`);
    expect(await page.evaluate(() => localStorage.getItem("conveyor.token"))).toBe(stack.tokens.dev);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem("conveyor.token"))).toBeNull();

    // Signing in by hand, with the keyboard only.
    await page.getByLabel("API token").fill(stack.tokens.dev);
    await page.keyboard.press("Enter");
    await page.locator(`tr[data-task-id="${taskId}"]`).waitFor();
  });

  it("says so when a token is not accepted, typed or from a link", async () => {
    await open("/", null);
    await page.getByLabel("API token").fill("cvy_not-a-real-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("That token was not accepted");
    await context.close();

    await open("/", "cvy_not-a-real-token");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await expect.poll(() => page.getByRole("status").first().textContent()).toContain("not accepted");
    expect(page.url()).toBe(`${webUrl}/`);
  });

  it("lists tasks newest first, filters by status, pages with the API's cursor, and shows status changes live", async () => {
    // alice: two that run (and stay running), then 21 that wait QUEUED.
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) {
      const res = await alice.submit({
        repo: "acme/web",
        description: `list ${i}`,
        options: { turns: 50, stepMs: 60_000 },
      });
      expect(res.status).toBe(201);
      ids.push(res.body.task.taskId);
    }
    try {
      await open("/", stack.tokens.alice);
      const rows = page.locator("table.tasks tbody tr");
      await expect.poll(() => rows.count()).toBe(20);
      const shown = await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.taskId));
      expect(shown).toEqual([...ids].reverse().slice(0, 20));
      await page.getByRole("button", { name: "Load more" }).click();
      await expect.poll(() => rows.count()).toBe(23);
      await expect(page.getByRole("button", { name: "Load more" }).count()).resolves.toBe(0);

      await page.getByLabel("Status").selectOption("QUEUED");
      await expect.poll(() => page.url()).toBe(`${webUrl}/?status=QUEUED`);
      await expect.poll(() => rows.count()).toBe(20);
      expect(
        await page.locator("table.tasks [data-status]").evaluateAll((b) => b.map((e) => e.textContent)),
      ).toEqual(Array(20).fill("queued"));

      // Back to all: the oldest running task is cancelled elsewhere, and its row says so without a reload.
      await page.getByLabel("Status").selectOption("");
      const first = ids[0] as string;
      await page.getByRole("button", { name: "Load more" }).click();
      await page.locator(`tr[data-task-id="${first}"] [data-status]`).waitFor();
      await expect
        .poll(() => page.locator(`tr[data-task-id="${first}"] [data-status]`).textContent())
        .toBe("running");
      expect((await alice.call("POST", `/v1/tasks/${first}/cancel`)).status).toBe(202);
      await expect
        .poll(() => page.locator(`tr[data-task-id="${first}"] [data-status]`).textContent(), {
          timeout: 30_000,
        })
        .toBe("cancelled");
    } finally {
      for (const id of ids) await alice.call("POST", `/v1/tasks/${id}/cancel`);
    }
  }, 180_000); // 23 submits, list reads and a cancel that travels to the agent: slow on a loaded machine.

  it("follows a running task live, resumes after the socket is cut with no gap or duplicate, nudges and cancels", async () => {
    const taskId = await submit(dev, "add a health check endpoint", { turns: 200, stepMs: 400 });
    await open(`/tasks/${taskId}`);
    const count = () => page.locator(".viewport [data-event-id]").count();
    const link = page.locator("[data-link]");
    // The history comes over HTTP first, then the socket subscribes after it.
    await expect.poll(() => link.getAttribute("data-link"), { timeout: 30_000 }).toBe("live");
    await expect
      .poll(() => page.locator('[data-type="agent.turn"]').count(), { timeout: 30_000 })
      .toBeGreaterThan(1);
    const before = await page.locator('[data-type="agent.turn"]').last().getAttribute("data-event-id");
    // Live: more turns arrive without a reload.
    await expect
      .poll(async () => page.locator('[data-type="agent.turn"]').last().getAttribute("data-event-id"), {
        timeout: 30_000,
      })
      .not.toBe(before);
    expect(await count()).toBeGreaterThan(0);

    // Cut every socket from the server's side, as an idle timeout or a gateway restart would.
    const connections = stack.gateway.connections();
    expect(connections.length).toBeGreaterThan(0);
    for (const id of connections) {
      // DeleteConnection; the emulator checks only that the call is signed, as the SDK always does.
      const res = await fetch(`${stack.gateway.managementEndpoint}/@connections/${id}`, {
        method: "DELETE",
        headers: { authorization: "AWS4-HMAC-SHA256 Credential=local/test" },
      });
      expect(res.status).toBe(204);
    }
    await expect.poll(() => link.getAttribute("data-link"), { timeout: 30_000 }).toBe("resumed");
    await expect(link.textContent()).resolves.toContain("resumed");

    // Nudge from the page; the agent acknowledges it and takes it at its next turn. Only that
    // turn says so, and the list renders just the rows near its end as it follows new ones, so
    // the page notes every row it renders rather than the test hoping to catch one on screen.
    await page.evaluate(() => {
      const seen = new Map<string, string>();
      (window as unknown as { rowsSeen: Map<string, string> }).rowsSeen = seen;
      const note = () => {
        for (const row of document.querySelectorAll(".viewport [data-event-id]")) {
          seen.set(
            row.getAttribute("data-event-id") ?? "",
            `${row.getAttribute("data-type")} ${row.textContent}`,
          );
        }
      };
      new MutationObserver(note).observe(document.body, {
        childList: true,
        subtree: true,
        characterData: true,
      });
    });
    const seen = (pattern: string) =>
      page.evaluate(
        (p) =>
          [...(window as unknown as { rowsSeen: Map<string, string> }).rowsSeen.values()].filter((row) =>
            row.includes(p),
          ).length,
        pattern,
      );
    await page.getByLabel("Nudge the agent").fill("also update the README");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByText("Nudge sent").count()).toBe(1);
    await expect.poll(() => seen("nudge.acknowledged "), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => seen('acting on nudge: "also update the README"'), { timeout: 30_000 }).toBe(1);

    if (SCREENSHOTS) {
      await page.locator('[data-type="agent.tool_call"]').last().click();
      await shoot("task");
    }

    // Cancel asks for a second press, then the task ends CANCELLED and the stream with it.
    await page.getByRole("button", { name: "Cancel task" }).click();
    await page.getByRole("button", { name: "Confirm cancel" }).click();
    await expect
      .poll(() => page.locator(".facts [data-status]").textContent(), { timeout: 30_000 })
      .toBe("cancelled");
    await expect.poll(() => link.getAttribute("data-link"), { timeout: 30_000 }).toBe("ended");

    // The DOM holds each event once, in eventId order, and none is missing (results sit in their call's row).
    const events = await dev.allEvents(taskId);
    const expected = events.filter((e) => e.type !== "agent.tool_result").map((e) => e.eventId as string);
    await expect.poll(() => page.locator("h2.section").textContent()).toContain(`(${events.length} events)`);
    const ids = await timelineIds(page);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(expected);
  });

  /** A scripted task that asks at its first turn, opened once the gate waits; its question from the API. */
  async function gatedTaskPage(description: string) {
    const taskId = await submit(dev, description, { turns: 2, stepMs: 0, approveAt: 1 });
    await dev.waitFor(taskId, ["AWAITING_APPROVAL"], 60_000);
    const listed = await dev.call("GET", `/v1/tasks/${taskId}/approvals`);
    expect(listed.status).toBe(200);
    const approval = listed.body.approvals[0] as { approvalId: string; detail: string; status: string };
    expect(approval.status).toBe("pending");
    await open(`/tasks/${taskId}`);
    const card = page.locator(`.approval[data-approval-id="${approval.approvalId}"]`);
    await expect.poll(() => card.locator("code.approval-detail").textContent()).toBe(approval.detail);
    return { taskId, approval, card };
  }

  it("asks at an approval gate with its detail; Approve resumes the task and the timeline shows the decision", async () => {
    const { taskId, card } = await gatedTaskPage("gate: approve");
    await expect(page.locator(".facts [data-status]").textContent()).resolves.toBe("awaiting approval");
    if (SCREENSHOTS) {
      await expect
        .poll(() => page.locator("[data-link]").getAttribute("data-link"), { timeout: 30_000 })
        .toBe("live");
      await shoot("approval");
    }
    await card.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => card.locator("[data-outcome]").textContent()).toBe("Approved by dev.");
    await expect
      .poll(() => page.locator(".facts [data-status]").textContent(), { timeout: 30_000 })
      .toBe("completed");
    const decided = page.locator('[data-type="approval.decided"]');
    await expect.poll(() => decided.locator(".what").textContent()).toBe("approved");
    await expect(decided.locator(".text").textContent()).resolves.toBe("by dev");
    const turn = (await dev.allEvents(taskId)).find((e) => e.type === "agent.turn" && e.data.turn === 1);
    expect(turn.data.text).toContain("(approved by dev)");
  });

  it("Deny with a comment: the agent skips the step, goes on, and the timeline shows who denied and why", async () => {
    const { taskId, card } = await gatedTaskPage("gate: deny");
    await card.getByLabel("Comment for the agent (optional)").fill("not on main");
    await card.getByRole("button", { name: "Deny" }).click();
    await expect.poll(() => card.locator("[data-outcome]").textContent()).toBe("Denied by dev: not on main");
    await expect
      .poll(() => page.locator(".facts [data-status]").textContent(), { timeout: 30_000 })
      .toBe("completed");
    const decided = page.locator('[data-type="approval.decided"]');
    await expect.poll(() => decided.locator(".what").textContent()).toBe("denied");
    await expect(decided.locator(".text").textContent()).resolves.toBe("by dev: not on main");
    const turn = (await dev.allEvents(taskId)).find((e) => e.type === "agent.turn" && e.data.turn === 1);
    expect(turn.data.text).toContain("denied by dev");
  });

  it("says in words when the approval was decided elsewhere first (409)", async () => {
    const { taskId, approval, card } = await gatedTaskPage("gate: decided elsewhere");
    // The page's answer is held until the same approval was denied over the API: a real race, made certain.
    await page.route(`**/v1/tasks/${taskId}/approvals/${approval.approvalId}`, async (route) => {
      if (route.request().method() === "POST") {
        const first = await dev.call("POST", `/v1/tasks/${taskId}/approvals/${approval.approvalId}`, {
          decision: "deny",
        });
        expect(first.status).toBe(200);
      }
      await route.continue();
    });
    await card.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => card.getByRole("alert").textContent()).toBe("Already decided: denied by dev.");
    await expect
      .poll(() => page.locator(".facts [data-status]").textContent(), { timeout: 30_000 })
      .toBe("completed");
    await expect
      .poll(() => page.locator('[data-type="approval.decided"] .what').textContent())
      .toBe("denied");
  });

  it("shows the API's validation messages beside the fields, then submits and opens the task", async () => {
    await open("/new");
    await page.getByLabel("Turn limit").fill("501");
    await page.getByRole("button", { name: "Submit task" }).click();
    const answer = await dev.submit({ repo: "", description: "", maxTurns: 501, maxBudgetUsd: 10 });
    expect(answer.status).toBe(400);
    const first = answer.body.error.details.issues[0] as { path: string; message: string };
    await expect.poll(() => page.locator(`[data-field="${first.path}"]`).textContent()).toBe(first.message);

    await page.getByLabel("Repository").fill("acme/api");
    await page.getByLabel("What should the agent do?").fill("write the changelog");
    await page.getByRole("button", { name: "Submit task" }).click();
    await expect
      .poll(() => page.locator('[data-field="maxTurns"]').textContent())
      .toBe("must be a whole number from 1 to 500");
    // The approvals settings: the API judges the timeout too, and its words stand beside the field.
    await page.getByLabel("Turn limit").fill("3");
    await page.getByLabel("Denied after (seconds without an answer)").fill("10");
    await page.getByRole("button", { name: "Submit task" }).click();
    const tooShort = await dev.submit({
      repo: "acme/api",
      description: "x",
      approvals: { mode: "ask", timeoutS: 10 },
    });
    expect(tooShort.status).toBe(400);
    await expect
      .poll(() => page.locator('[data-field="approvals.timeoutS"]').textContent())
      .toBe(tooShort.body.error.details.issues[0].message);
    await page.getByLabel("Denied after (seconds without an answer)").fill("120");
    await page.getByLabel("When the agent asks").selectOption("auto");
    // Under "auto" the scripted gate is recorded as approved by policy and never waits.
    await page.getByLabel("Agent options (optional)").fill("turns=2\nstepMs=0\napproveAt=1");
    await page.getByRole("button", { name: "Submit task" }).click();
    await page.waitForURL(/\/tasks\/[0-9A-Z]{26}$/);
    const taskId = page.url().split("/").at(-1) as string;
    started.push(taskId);
    await expect
      .poll(() => page.locator(".facts [data-status]").textContent(), { timeout: 30_000 })
      .toBe("completed");
    await expect(page.locator(".pr-link").getAttribute("href")).resolves.toMatch(
      /^https:\/\/github\.com\/acme\/api\/pull\//,
    );
    await page.locator('[data-type="agent.milestone"]').first().waitFor();
    await expect(page.locator('[data-type="approval.decided"] .text').textContent()).resolves.toBe(
      "by policy",
    );
    expect((await dev.task(taskId)).body.task.approvals).toMatchObject({ mode: "auto" });
  });

  it("says a task does not exist, for an unknown id and for another user's task", async () => {
    await open("/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV");
    await page.getByRole("heading", { name: "Task not found" }).waitFor();
    await context.close();
    const theirs = await alice.submit({
      repo: "acme/api",
      description: "alice's",
      options: { turns: 1, stepMs: 0 },
    });
    await open(`/tasks/${theirs.body.task.taskId}`);
    await page.getByRole("heading", { name: "Task not found" }).waitFor();
  });

  it("shows a task submitted elsewhere without a Refresh, when the window is focused again", async () => {
    await open("/");
    const rows = page.locator("table.tasks tbody tr");
    await rows.first().waitFor();
    const taskId = await submit(dev, "submitted from the CLI", { turns: 1, stepMs: 0 });
    await page.evaluate(() => window.dispatchEvent(new Event("focus")));
    await expect.poll(() => rows.first().getAttribute("data-task-id"), { timeout: 30_000 }).toBe(taskId);
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.taskId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("lays out the list for a screenshot", async () => {
    await open("/");
    await page.locator("table.tasks tbody tr").first().waitFor();
    const rows = await page.locator("table.tasks tbody tr").count();
    expect(rows).toBeGreaterThan(0);
    if (SCREENSHOTS) await shoot("tasks");
  });
});
