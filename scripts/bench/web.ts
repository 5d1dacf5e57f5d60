/**
 * The dashboard: from an event's commit to its row in the page's DOM (Chromium, the real local
 * stack: Events stream -> fan-out -> WebSocket -> the page), beside the CLI's watcher (the shared
 * client on Node) following the same task; then a long task (BIG events) opened and scrolled end
 * to end; and the page's JavaScript, gzipped.
 *
 *   pnpm bench:web      (EVENTS=200 GAP_MS=20 BIG=20000)
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { type WebSocketConstructor, watchTask } from "@conveyor/client";
import { Actor } from "@conveyor/core/actor";
import { TaskEvent } from "@conveyor/core/event";
import { Task } from "@conveyor/core/task";
import { startLocalStack } from "@conveyor/local/stack";
import { ensureWebBuild } from "@conveyor/web/build";
import { chromium } from "playwright-core";
import WebSocket from "ws";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const EVENTS = Number(process.env.EVENTS ?? 200);
const GAP_MS = Number(process.env.GAP_MS ?? 20);
const BIG = Number(process.env.BIG ?? 20_000);
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const distDir = await ensureWebBuild();
const stack = await startLocalStack({
  port: 0,
  stateDir: mkdtempSync(join(tmpdir(), "conveyor-bench-web-")),
  dispatch: false,
  // The bench writes as the agent without heartbeats: the reconciler would fail its tasks.
  reconcileMs: 0,
  web: { distDir },
});
const user = { type: "user" as const, tenantId: "local", userId: "dev" };
const system = { type: "system" as const, name: "bench-writer" };
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
});

async function runningTask() {
  const { task } = await Actor.provide(user, () =>
    Task.submit(
      { ...stack.core, queue: { send: async () => undefined } },
      { repo: "acme/api", description: "bench" },
    ),
  );
  await Actor.provide(system, async () => {
    await Task.transition(stack.core, task.taskId, { to: "STARTING", reason: "claimed" });
    await Task.transition(stack.core, task.taskId, { to: "RUNNING", reason: "agent_started" });
  });
  return task.taskId;
}

const append = (taskId: string, turn: number) =>
  Actor.provide(system, () =>
    TaskEvent.append(stack.core, taskId, "agent.turn", { turn, text: `turn ${turn}: working on the bench` }),
  );

const q = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
};

// --- 1. commit -> DOM row, beside the CLI's watcher ---------------------------------------
const taskId = await runningTask();
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
await page.goto(`${stack.webUrl}/tasks/${taskId}?token=${stack.token}`);
await page.locator('[data-link="live"]').waitFor();
// Each row's first appearance, on the same clock as the writer (one machine).
await page.evaluate(() => {
  const seen: Record<string, number> = {};
  (window as unknown as { seen: typeof seen }).seen = seen;
  new MutationObserver((mutations) => {
    const now = Date.now();
    for (const m of mutations)
      for (const node of m.addedNodes) {
        if (!(node instanceof HTMLElement)) continue;
        for (const el of [node, ...node.querySelectorAll<HTMLElement>("[data-event-id]")]) {
          const id = el.dataset.eventId;
          if (id && !(id in seen)) seen[id] = now;
        }
      }
  }).observe(document.body, { childList: true, subtree: true });
});

const cliLatency: number[] = [];
const watcher = watchTask({
  wsUrl: stack.wsUrl,
  token: stack.token,
  taskId,
  WebSocketImpl: WebSocket as unknown as WebSocketConstructor,
});
const cli = (async () => {
  for await (const event of watcher.events()) {
    if (event.type === "agent.turn") cliLatency.push(Date.now() - Date.parse(event.at));
    if (event.type === "agent.turn" && (event.data as { turn: number }).turn === EVENTS) return;
  }
})();
await new Promise((r) => setTimeout(r, 500)); // the CLI's watcher subscribed
const committed = new Map<string, number>();
for (let turn = 1; turn <= EVENTS; turn++) {
  const event = await append(taskId, turn);
  committed.set(event.eventId, Date.parse(event.at));
  await new Promise((r) => setTimeout(r, GAP_MS));
}
await cli;
watcher.close();
const last = [...committed.keys()].at(-1) as string;
await page.locator(`[data-event-id="${last}"]`).waitFor();
const seen = await page.evaluate(() => (window as unknown as { seen: Record<string, number> }).seen);
const domLatency = [...committed].map(([id, at]) => (seen[id] ?? Number.NaN) - at);
const missing = domLatency.filter(Number.isNaN).length;
await page.close();

// --- 2. a long task: open it, then scroll it end to end ------------------------------------
let big = "";
if (BIG > 0) {
  const bigTask = await runningTask();
  for (let turn = 1; turn <= BIG; turn += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, BIG - turn + 1) }, (_, i) => append(bigTask, turn + i)),
    );
  }
  const total = BIG + 3; // submitted, two status changes
  // The same history read over HTTP from Node, 100 at a time: what the page's first load waits on.
  const h0 = Date.now();
  let pages = 0;
  for (let after = ""; ; pages++) {
    const res = await fetch(
      `${stack.apiUrl}/v1/tasks/${bigTask}/events?limit=100${after ? `&after=${after}` : ""}`,
      { headers: { authorization: `Bearer ${stack.token}` } },
    );
    const body = (await res.json()) as { events: { eventId: string }[]; nextCursor?: string };
    if (body.events.length < 100 || !body.nextCursor) break;
    after = body.nextCursor;
  }
  const httpMs = Date.now() - h0;
  const bigPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const t0 = Date.now();
  await bigPage.goto(`${stack.webUrl}/tasks/${bigTask}?token=${stack.token}`);
  await bigPage.locator("h2.section", { hasText: `(${total} events)` }).waitFor({ timeout: 300_000 });
  const openMs = Date.now() - t0;
  const frames = await bigPage.evaluate(async () => {
    const viewport = document.querySelector<HTMLElement>(".viewport") as HTMLElement;
    const gaps: number[] = [];
    let before = performance.now();
    viewport.scrollTop = 0;
    for (let step = 0; step < 240; step++) {
      viewport.scrollTop = (viewport.scrollHeight * step) / 240;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      gaps.push(now - before);
      before = now;
    }
    return { gaps, rows: document.querySelectorAll(".viewport [data-event-id]").length };
  });
  await bigPage.close();
  big = `
  a ${total}-event task: open to fully loaded ${(openMs / 1000).toFixed(1)} s (its ${pages + 1} pages over HTTP from Node alone: ${(httpMs / 1000).toFixed(1)} s); scrolled end to end in 240 frames:
    frame p50 ${q(frames.gaps, 0.5).toFixed(1)} ms   p99 ${q(frames.gaps, 0.99).toFixed(1)} ms   max ${Math.max(...frames.gaps).toFixed(1)} ms   rows in the DOM ${frames.rows}`;
}

await browser.close();
await stack.stop();

const assets = join(distDir, "assets");
const files = readdirSync(assets);
const size = (ext: string) =>
  files
    .filter((f) => f.endsWith(ext))
    .reduce(
      (sum, f) => {
        const bytes = readFileSync(join(assets, f));
        return { raw: sum.raw + bytes.length, gz: sum.gz + gzipSync(bytes, { level: 9 }).length };
      },
      { raw: 0, gz: 0 },
    );
const js = size(".js");
const css = size(".css");
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

console.log(`
${EVENTS} events, one per ${GAP_MS} ms, from commit to:
  a row in the dashboard's DOM   p50 ${q(domLatency, 0.5)} ms   p99 ${q(domLatency, 0.99)} ms   (missing ${missing})
  the CLI's watcher (Node)       p50 ${q(cliLatency, 0.5)} ms   p99 ${q(cliLatency, 0.99)} ms${big}
  the page's JavaScript          ${kb(js.gz)} gzipped (${kb(js.raw)} raw); CSS ${kb(css.gz)} gzipped
`);
process.exit(0);
