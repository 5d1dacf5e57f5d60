import { micromark } from "micromark";
import { gfm, gfmHtml } from "micromark-extension-gfm";
import { describe, expect, it } from "vitest";
import type { EventType, TaskEvent } from "../event/index.ts";
import type { Task } from "../task/index.ts";
import { inline, safeUrl } from "./markdown.ts";
import { fingerprint, MAX_BODY, marker, render, view } from "./render.ts";

const taskId = "01JBQ7ZK3M4N5P6Q7R8S9T0V1W";

function task(over: Partial<Task.Info> = {}): Task.Info {
  return {
    taskId,
    tenantId: "local",
    userId: "dev",
    status: "RUNNING",
    version: 3,
    rev: 12,
    repo: "acme/api",
    prNumber: 42,
    description: "Fix the flaky test\nin the payments module",
    maxTurns: 100,
    maxBudgetUsd: 10,
    options: {},
    source: "cli",
    runtimeSessionId: `conveyor-task-${taskId}`,
    turns: 7,
    costUsd: 0.1234,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_100_000,
    ...over,
  };
}

let seq = 0;
function ev(type: EventType, data: unknown): TaskEvent.Info {
  seq++;
  return {
    taskId,
    eventId: `01JBQ7ZK3M${String(seq).padStart(16, "0")}`,
    type,
    at: new Date().toISOString(),
    data,
  };
}

/** The comment as GitHub would turn it into HTML (GFM; raw HTML kept so any that slipped through shows). */
const html = (body: string) =>
  micromark(body, { allowDangerousHtml: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] });

/** The text a reader sees: tags gone, entities decoded. */
function visibleText(markup: string) {
  return markup
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<[^>]+>/g, " ")
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ");
}

/** Tags the comment itself may produce; anything else came from outside. */
const ALLOWED_TAGS = new Set([
  "p",
  "strong",
  "em",
  "code",
  "table",
  "thead",
  "tbody",
  "tr",
  "th",
  "td",
  "blockquote",
  "ul",
  "li",
  "a",
  "sub",
]);

function assertInert(body: string, allowedHrefs: string[] = []) {
  expect(body.length).toBeLessThanOrEqual(MAX_BODY);
  expect(body.length).toBeLessThan(65_536);
  expect(body.startsWith(`${marker(taskId)}\n`)).toBe(true);
  expect(body.split("<!-- conveyor:task=").length).toBe(2);
  const markup = html(body);
  for (const [, tag] of markup.matchAll(/<\/?([a-zA-Z][\w-]*)/g))
    expect(ALLOWED_TAGS.has(tag!.toLowerCase())).toBe(true);
  for (const [, href] of markup.matchAll(/href="([^"]*)"/g)) {
    expect(href).toMatch(/^https?:\/\//);
    if (allowedHrefs.length > 0) expect(allowedHrefs.some((a) => href!.startsWith(a))).toBe(true);
  }
  expect(markup).not.toMatch(/<[a-z][^>]*\s(on\w+|src|style)=/i);
  // The status table keeps its shape: two cells in every row.
  const table = /<table>[\s\S]*?<\/table>/.exec(markup)?.[0] ?? "";
  expect(table).not.toBe("");
  for (const [row] of table.matchAll(/<tr>[\s\S]*?<\/tr>/g)) expect(row.match(/<t[hd][ >]/g)).toHaveLength(2);
  const text = visibleText(markup);
  // Nobody pinged, no issue linked: GitHub finds these in the rendered text.
  expect(text).not.toMatch(/(^|[^\w`])@[A-Za-z0-9]/);
  expect(text).not.toMatch(/#\d/);
  expect(text).not.toMatch(/\bGH-\d/i);
  return { markup, text, table };
}

const HOSTILE = [
  "[click me](javascript:alert(document.cookie))",
  "[x](https://evil.example/a)b|c\nd) | cell | break",
  "![img](https://evil.example/pixel.png)",
  "<img src=x onerror=alert(1)>",
  "<script>alert(1)</script>",
  '<a href="javascript:alert(1)">hi</a>',
  "<details open><summary>hidden</summary>x</details>",
  "<!-- conveyor:task=01JBQ7ZK3M4N5P6Q7R8S9T0V1X -->",
  "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
  "javascript:alert(1)",
  "@octocat and @org/team please look, cc @everyone",
  "fixes #123, acme/api#7 and GH-99, see also gh-5",
  "| a | b |\n| --- | --- |\n| c | d |",
  "# Heading\n\n---\n\n```\ncode\n```\n> quote\n* list\n1. item",
  "Setext heading\n===",
  "**bold** _em_ ~~strike~~ `code` $x^2$ :rocket:",
  "[ref]: https://evil.example\n[ref]",
  "www.example.com and https://example.com/path?a=1&b=2",
  "line\r\nbreaks\rand\ttabs\u0000nul\u202Ebidi",
  "\\| escaped pipe \\\\ backslash",
  "&amp; &lt;b&gt; &#64;octocat &#35;12",
  "<https://evil.example>",
  "footnote[^1]\n\n[^1]: https://evil.example",
  "- [ ] task\n- [x] done",
];

function hostileTask(text: string, over: Partial<Task.Info> = {}) {
  return task({
    description: text,
    error: { code: text, message: text },
    result: { summary: text, prUrl: text },
    ...over,
  });
}

function hostileEvents(text: string) {
  return [
    ev("task.status", { from: "STARTING", to: "RUNNING", reason: text }),
    ev("agent.milestone", { name: text, detail: text, url: text }),
    ev("agent.milestone", { name: "ok", detail: text, url: "https://example.com/ok" }),
    ev("nudge.received", { nudgeId: "n1", message: text }),
    ev("approval.requested", { approvalId: "a1", action: text, detail: text, expiresAt: text }),
    ev("agent.turn", { turn: 3, text }),
  ];
}

describe("StatusComment.render", () => {
  it("shows status, target, step, turns, cost, milestones, nudges, the agent's PR and how to steer", () => {
    const events = [
      ev("task.status", { from: "STARTING", to: "RUNNING", reason: "agent_started" }),
      ev("agent.milestone", { name: "plan", detail: "Plan in 5 turns" }),
      ev("nudge.received", { nudgeId: "n1", message: "also update the docs" }),
      ev("agent.turn", { turn: 7, text: "Editing the retry loop" }),
      ev("agent.milestone", {
        name: "pull request opened",
        detail: "1234",
        url: "https://github.com/acme/api/pull/1234",
      }),
    ];
    const body = render(task(), events);
    const { text } = assertInert(body, ["https://github.com/acme/api/pull/1234"]);
    expect(text).toContain("RUNNING");
    expect(text).toContain("acme/api, pull request 42");
    expect(text).toContain("pull request opened");
    expect(text).toContain("7 of 100 max");
    expect(text).toContain("$0.1234 of $10.00 budget");
    expect(text).toContain("plan: Plan in 5 turns");
    expect(text).toContain("also update the docs");
    expect(text).toContain("Fix the flaky test");
    expect(body).toContain("](https://github.com/acme/api/pull/1234)");
    expect(text).toContain("Pull request opened https://github.com/acme/api/pull/1234");
    expect(body).toContain(`conveyor nudge ${taskId}`);
    expect(body).toContain(`conveyor cancel ${taskId}`);
  });

  it("asks a pending approval's question with the exact commands to answer it, until it is decided", () => {
    const approvalId = "01JBQ7ZK3M4N5P6Q7R8S9T0AAA";
    const asked = ev("approval.requested", {
      approvalId,
      action: "force-push",
      detail: "git push --force origin main",
      expiresAt: "2026-01-01T00:05:00.000Z",
    });
    const waiting = render(task({ status: "AWAITING_APPROVAL" }), [asked]);
    expect(waiting).toContain("git push \\-\\-force origin main");
    expect(waiting).toContain(`\`conveyor approve ${taskId} ${approvalId}\``);
    expect(waiting).toContain(`\`conveyor deny ${taskId} ${approvalId}\``);
    const decided = ev("approval.decided", { approvalId, decision: "approve", by: "dev" });
    expect(render(task(), [asked, decided])).not.toContain("conveyor approve");
  });

  it("shows the terminal state and the result's PR link, without steering hints or a current step", () => {
    const events = [ev("agent.turn", { turn: 9, text: "last turn" })];
    const body = render(
      task({
        status: "COMPLETED",
        result: { summary: "Done", prUrl: "https://github.com/acme/api/pull/77" },
      }),
      events,
    );
    const { text } = assertInert(body, ["https://github.com/acme/api/pull/77"]);
    expect(text).toContain("COMPLETED");
    expect(text).toContain("Result: Done");
    expect(body).toContain("(https://github.com/acme/api/pull/77)");
    expect(text).not.toContain("last turn");
    expect(body).not.toContain("conveyor nudge");
  });

  it.each(HOSTILE.map((text, i) => [i, text] as const))("renders hostile text %i inert", (_, text) => {
    const body = render(hostileTask(text), hostileEvents(text));
    // Only the milestone's own URL when it is one; never a URL found in the text.
    const { markup } = assertInert(body, ["https://example.com/ok"]);
    expect(markup).not.toMatch(/href="(javascript|data|vbscript):/i);
    expect(markup).not.toMatch(/<img|<script|<details|<iframe/i);
  });

  it("links only http(s) URLs, percent-encoding what would break a link or a table", () => {
    expect(safeUrl("javascript:alert(1)")).toBeUndefined();
    expect(safeUrl(" JavaScript:alert(1)")).toBeUndefined();
    expect(safeUrl("data:text/html,<script>")).toBeUndefined();
    expect(safeUrl("vbscript:x")).toBeUndefined();
    expect(safeUrl("//evil.example/x")).toBeUndefined();
    expect(safeUrl("https://github.com@evil.example/")).toBeUndefined();
    expect(safeUrl("https://example.com/a)b|c d'e<f>")).toBe("https://example.com/a%29b%7Cc%20d%27e%3Cf%3E");
    expect(safeUrl("https://example.com/?a=1&copy=2")).toBe("https://example.com/?a=1&amp;copy=2");
    expect(safeUrl(`https://example.com/${"a".repeat(3_000)}`)).toBeUndefined();
    const body = render(task({ result: { summary: "ok", prUrl: "https://example.com/pull/1)|x\n](y" } }), []);
    assertInert(body, ["https://example.com/pull/1"]);
  });

  it("stays under GitHub's limit with 100 KB in every field, with a visible note when it had to cut", () => {
    for (const filler of [
      "x".repeat(100_000),
      "@".repeat(100_000),
      "<&>|".repeat(25_000),
      "😀".repeat(50_000),
    ]) {
      const many = Array.from({ length: 40 }, (_, i) => [
        ev("agent.milestone", { name: filler, detail: filler, url: `https://example.com/${i}` }),
        ev("nudge.received", { nudgeId: `n${i}`, message: filler }),
      ]).flat();
      const body = render(hostileTask(filler, { repo: "acme/api" }), [
        ...many,
        ev("agent.turn", { turn: 1, text: filler }),
      ]);
      assertInert(body, ["https://example.com/"]);
      if (filler.startsWith("@")) expect(body).toContain("was cut to stay under GitHub");
    }
  });

  it("never splits a surrogate pair or an escape when it cuts", () => {
    const text = inline("😀".repeat(500), 101);
    expect(text).toBe(`${"😀".repeat(100)}…`);
    expect(inline("a@b", 2)).toBe("a…");
  });

  it("is the same for duplicated and shuffled events", () => {
    const events = [
      ev("agent.milestone", { name: "plan" }),
      ev("nudge.received", { nudgeId: "n1", message: "hi" }),
      ev("nudge.acknowledged", { nudgeId: "n1" }),
      ev("agent.turn", { turn: 2, text: "two" }),
      ev("agent.milestone", { name: "tests passing" }),
    ];
    const body = render(task(), events);
    const shuffled = [...events, ...events].sort(() => Math.random() - 0.5);
    expect(render(task(), shuffled)).toBe(body);
    expect(body).not.toContain("Pending nudges");
  });

  it("tells a change of turns, cost or step from one that matters", () => {
    const events = [ev("agent.milestone", { name: "plan" })];
    const base = view(task(), events);
    const fp = (t: Task.Info, e: TaskEvent.Info[]) => {
      const shown = view(t, e);
      return fingerprint(shown, render(t, e));
    };
    const before = fingerprint(base, render(task(), events));
    const progressed = fp(task({ turns: 8, costUsd: 0.2 }), [
      ...events,
      ev("agent.turn", { turn: 8, text: "more" }),
    ]);
    expect(progressed.body).not.toBe(before.body);
    expect(progressed.significant).toBe(before.significant);
    const moved = fp(task({ status: "COMPLETED" }), events);
    expect(moved.significant).not.toBe(before.significant);
    const milestone = fp(task(), [...events, ev("agent.milestone", { name: "tests passing" })]);
    expect(milestone.significant).not.toBe(before.significant);
  });
});
